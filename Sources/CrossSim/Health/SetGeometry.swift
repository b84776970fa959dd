import Foundation
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// `--health`'s view of each set as evaluated (after normalisation under cosine), without
/// labels: its Gram matrix XᵀX and row sum, summed in binary64 over a part's x1 rows and its
/// share of x2's rows (as uniformity shares them), so that parts add up to the whole sets.
/// They give RankMe's effective rank and the modality gap (docs/definitions.md).
public struct SetGeometry: StateSection {
    public var dim: Int
    /// Row-major D×D; the upper triangle holds the sums (the Gram matrix is symmetric).
    public var x1Gram: [Double]
    public var x2Gram: [Double]
    public var x1Sum: [Double]
    public var x2Sum: [Double]

    public init(dim: Int) {
        self.dim = dim
        x1Gram = [Double](repeating: 0, count: dim * dim)
        x2Gram = x1Gram
        x1Sum = [Double](repeating: 0, count: dim)
        x2Sum = x1Sum
    }

    public static let name = "geometry"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.health }

    public func mergeConflict(with other: SetGeometry) -> String? {
        dim == other.dim ? nil : "the sets' dimensions differ"
    }

    public mutating func append(_ next: SetGeometry) {
        for i in x1Gram.indices {
            x1Gram[i] += next.x1Gram[i]
            x2Gram[i] += next.x2Gram[i]
        }
        for d in 0..<dim {
            x1Sum[d] += next.x1Sum[d]
            x2Sum[d] += next.x2Sum[d]
        }
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { Double(16 * shape.dim) * Double(shape.dim + 1) }

    public func encode(into writer: inout BinaryWriter) {
        for values in [x1Gram, x2Gram, x1Sum, x2Sum] { writer.append(values) }
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> SetGeometry {
        var section = SetGeometry(dim: shape.dim)
        let d = shape.dim
        section.x1Gram = try reader.array(Double.self, count: d * d, what: "Gram matrices")
        section.x2Gram = try reader.array(Double.self, count: d * d, what: "Gram matrices")
        section.x1Sum = try reader.array(Double.self, count: d, what: "row sums")
        section.x2Sum = try reader.array(Double.self, count: d, what: "row sums")
        return section
    }

    /// Adds rows `rows` of `x` to set `which` (1 or 2).
    mutating func add(_ x: Embeddings, rows: Range<Int>, toSet which: Int, threads: Int) {
        guard !rows.isEmpty else { return }
        var gram = which == 1 ? x1Gram : x2Gram
        var sum = which == 1 ? x1Sum : x2Sum
        // Float32 rows widened in chunks; the BLAS sums each chunk's XᵀX in binary64.
        let chunk = 1024
        var wide = [Double](repeating: 0, count: min(chunk, rows.count) * dim)
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: chunk) {
            let count = min(chunk, rows.upperBound - start)
            let source = x.row(start)
            for n in 0..<count * dim { wide[n] = Double(source[n]) }
            for r in 0..<count {
                for d in 0..<dim { sum[d] += wide[r * dim + d] }
            }
            BLAS.withThreads(threads) {
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(dim), Int32(count), 1, wide, Int32(dim),
                            1, &gram, Int32(dim))
            }
        }
        if which == 1 { (x1Gram, x1Sum) = (gram, sum) } else { (x2Gram, x2Sum) = (gram, sum) }
    }

    /// RankMe: with σ the singular values of a set of n rows (the square roots of its Gram
    /// matrix's eigenvalues; min(n, D) of them), p_k = σ_k / Σσ + 10⁻⁷ and the effective rank
    /// is exp(−Σ p_k log p_k).
    static func effectiveRank(gram: [Double], dim: Int, rows: Int) -> Double {
        // A corrupt part's numbers stay out of LAPACK; NaN keeps the report from being written.
        guard gram.allSatisfy(\.isFinite), let all = symmetricEigenvalues(gram, dim: dim) else { return .nan }
        let eigenvalues = all.sorted(by: >).prefix(min(rows, dim))
        let sigma = eigenvalues.map { max($0, 0).squareRoot() }
        let total = sigma.reduce(0, +)
        guard total > 0 else { return 1 }
        let entropy = sigma.reduce(0.0) { h, s in
            let p = s / total + 1e-7
            return h - p * log(p)
        }
        return exp(entropy)
    }

    /// The eigenvalues of a symmetric D×D matrix whose upper triangle (row-major) is given: to
    /// LAPACK, which is column-major, that is the lower triangle.
    /// nil when LAPACK reports a failure.
    static func symmetricEigenvalues(_ matrix: [Double], dim: Int) -> [Double]? {
        var a = matrix
        var values = [Double](repeating: 0, count: dim)
        #if canImport(Accelerate)
        typealias Integer = __LAPACK_int
        #else
        typealias Integer = Int32
        #endif
        var n = Integer(dim), lda = Integer(dim), info = Integer(0), lwork = Integer(-1)
        var jobz = Int8(UInt8(ascii: "N")), uplo = Int8(UInt8(ascii: "L"))
        var query = 0.0
        dsyev_(&jobz, &uplo, &n, &a, &lda, &values, &query, &lwork, &info)
        lwork = Integer(query)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        dsyev_(&jobz, &uplo, &n, &a, &lda, &values, &work, &lwork, &info)
        return info == 0 ? values : nil
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        let (n1, n2) = (Double(state.x1Rows), Double(state.x2Rows))
        var health = report.health ?? Report.Health()
        health.effectiveRank = (Self.effectiveRank(gram: x1Gram, dim: dim, rows: state.x1Rows),
                                Self.effectiveRank(gram: x2Gram, dim: dim, rows: state.x2Rows))
        health.modalityGap = zip(x1Sum, x2Sum).reduce(0.0) { $0 + ($1.0 / n1 - $1.1 / n2) * ($1.0 / n1 - $1.1 / n2) }.squareRoot()
        report.health = health
    }
}
