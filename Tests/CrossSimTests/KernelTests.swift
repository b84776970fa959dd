import CCrossSimKernels
import Foundation
import XCTest

/// Each epilogue kernel against a scalar binary64 loop over the same tile, at each vector level
/// (one test per level; a level this CPU cannot run is skipped, saying so). The tiles' values
/// are the exact similarities moved by up to 0.9 of the error bound the kernels are given, in
/// random directions, as another machine's sgemm might round them: ranks and top-k lists must
/// come out as the exact ones whatever the rounding.
final class KernelTests: XCTestCase {
    func testBaselineKernels() throws { try checkKernels(level: 0) }
    func testAVX2Kernels() throws { try checkKernels(level: 1) }
    func testAVX512Kernels() throws { try checkKernels(level: 2) }

    func checkKernels(level: Int) throws {
        let previous = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(Int32(previous)) }
        guard cs_use_vector_level(Int32(level)) == level else {
            throw XCTSkip("vector level \(level) is beyond this CPU (it runs up to \(cs_use_vector_level(2)))")
        }
        var seed: UInt64 = 90
        for (rows, cols, dim) in [(1, 1, 3), (7, 13, 19), (33, 40, 70), (64, 17, 8), (6, 50, 33)] {
            for unit in [true, false] {
                seed += 1
                let tile = KernelTile(rows: rows, cols: cols, dim: dim, unit: unit, seed: seed)
                let at = "level \(level), \(rows)×\(cols), D = \(dim), \(unit ? "unit" : "raw") rows"
                tile.checkDot(at)
                tile.checkRanks(at)
                tile.checkTopK(at)
                tile.checkSums(at)
            }
        }
    }
}

/// A tile of S = a·bᵀ with its operands: x2 rows that duplicate others exactly (exact ties)
/// or in all but one component's last bit (near ties), and owners of which some fall inside
/// the tile's rows.
struct KernelTile {
    let rows: Int, cols: Int, dim: Int
    let row0 = 5, col0 = 11
    /// The tile's row stride, wider than its columns.
    var ld: Int { cols + 3 }
    var a: [Float], b: [Float]
    var s: [Float] = []
    var aNorms: [Float] = [], bNorms: [Float] = []
    var exact: [Double] = []
    var gamma: Float
    /// Global x1 row owning each column; the row thresholds of the tile's rows.
    var owner: [Int32] = []
    var ownerSimilarity: [Double] = []
    var rowBest: [Double] = [], rowBestColumn: [Int32] = []

    init(rows: Int, cols: Int, dim: Int, unit: Bool, seed: UInt64) {
        self.rows = rows
        self.cols = cols
        self.dim = dim
        var random = TestRandom(seed: seed)
        func vector() -> [Float] {
            var v = (0..<dim).map { _ in Float(random.gaussian()) }
            if unit {
                let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                v = v.map { Float(Double($0) / norm) }
            } else {
                v = v.map { $0 * 3 }
            }
            return v
        }
        a = (0..<rows).flatMap { _ in vector() }
        b = (0..<cols).flatMap { _ in vector() }
        for j in 1..<max(cols, 1) where random.int(0..<3) == 0 {
            let from = random.int(0..<j)
            for d in 0..<dim { b[j * dim + d] = b[from * dim + d] }
            if random.int(0..<2) == 0 { b[j * dim] = b[j * dim].nextUp }
        }
        gamma = cs_dot_error_bound(Int64(dim))
        aNorms = [Float](repeating: 0, count: rows)
        bNorms = [Float](repeating: 0, count: cols)
        cs_row_norms(a, rows, dim, &aNorms)
        cs_row_norms(b, cols, dim, &bNorms)
        // The exact similarities are the kernels' own binary64 sums (their order is fixed so
        // that ties between equal rows are exact); checkDot holds them to a plain loop.
        exact = (0..<rows * cols).map { cell in
            let (i, j) = (cell / cols, cell % cols)
            return cs_dot_f64(Array(a[i * dim..<(i + 1) * dim]), Array(b[j * dim..<(j + 1) * dim]), dim)
        }
        s = [Float](repeating: .nan, count: rows * ld)
        for i in 0..<rows {
            for j in 0..<cols {
                let room = 0.9 * Double(gamma) * Double(aNorms[i]) * Double(bNorms[j])
                s[i * ld + j] = Float(exact[i * cols + j] + room * (2 * random.uniform() - 1))
            }
        }
        // Columns' owners: inside the tile's rows for most, elsewhere for some.
        owner = (0..<cols).map { _ in Int32(random.int(0..<3) == 0 ? row0 + rows + random.int(0..<4) : row0 + random.int(0..<rows)) }
        // An owner outside the tile gets the similarity of a cell of the tile (an exact tie) or
        // one just above it.
        ownerSimilarity = (0..<cols).map { j in
            let i = Int(owner[j]) - row0
            if i < rows { return exact[i * cols + j] }
            return exact[random.int(0..<rows) * cols + j] + (random.int(0..<2) == 0 ? 0 : 1e-9)
        }
        rowBest = [Double](repeating: .infinity, count: rows)
        rowBestColumn = [Int32](repeating: -1, count: rows)
        for j in 0..<cols {
            let i = Int(owner[j]) - row0
            guard i < rows else { continue }
            if rowBestColumn[i] < 0 || ownerSimilarity[j] > rowBest[i] {
                rowBest[i] = ownerSimilarity[j]
                rowBestColumn[i] = Int32(col0 + j)
            }
        }
    }

    func isNegative(_ i: Int, _ j: Int) -> Bool { Int(owner[j]) != row0 + i }

    func withTile<T>(_ body: (cs_tile) -> T) -> T {
        s.withUnsafeBufferPointer { s in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    aNorms.withUnsafeBufferPointer { an in
                        bNorms.withUnsafeBufferPointer { bn in
                            body(cs_tile(data: s.baseAddress, rows: Int64(rows), cols: Int64(cols), ld: Int64(ld),
                                         row0: Int64(row0), col0: Int64(col0), a: a.baseAddress, b: b.baseAddress,
                                         dim: Int64(dim), a_norms: an.baseAddress, b_norms: bn.baseAddress, gamma: gamma, b_class: nil))
                        }
                    }
                }
            }
        }
    }

    func checkDot(_ at: String) {
        for i in 0..<rows {
            for j in 0..<cols {
                let terms = (0..<dim).map { Double(a[i * dim + $0]) * Double(b[j * dim + $0]) }
                let bound = 1e-14 * terms.reduce(0) { $0 + abs($1) }
                XCTAssertLessThanOrEqual(abs(exact[i * cols + j] - terms.reduce(0, +)), bound, "\(at): cs_dot_f64(\(i), \(j))")
            }
        }
    }

    func checkRanks(_ at: String) {
        let rowThresholds = TestThresholds(exact: rowBest, index: rowBestColumn)
        let colThresholds = TestThresholds(exact: ownerSimilarity, index: owner)
        var rowBeaten = [Int32](repeating: 0, count: rows), colBeaten = [Int32](repeating: 0, count: cols)
        var moments = [0.0, 0.0]
        withTile { t in
            cs_count_ranks(t, rowThresholds.thresholds, colThresholds.thresholds, &rowBeaten, &colBeaten, &moments)
        }
        var expectedRows = [Int32](repeating: 0, count: rows), expectedCols = [Int32](repeating: 0, count: cols)
        var expectedSum = 0.0, expectedSquares = 0.0
        for i in 0..<rows {
            for j in 0..<cols where isNegative(i, j) {
                let x = exact[i * cols + j]
                if x > rowBest[i] || (x == rowBest[i] && col0 + j < Int(rowBestColumn[i])) { expectedRows[i] += 1 }
                if x > ownerSimilarity[j] || (x == ownerSimilarity[j] && row0 + i < Int(owner[j])) { expectedCols[j] += 1 }
                expectedSum += Double(s[i * ld + j])
                expectedSquares += Double(s[i * ld + j]) * Double(s[i * ld + j])
            }
        }
        XCTAssertEqual(rowBeaten, expectedRows, "\(at): row ranks")
        XCTAssertEqual(colBeaten, expectedCols, "\(at): column ranks")
        assertClose(moments[0], expectedSum, relative: 1e-12, absolute: 1e-12, "\(at): Σs over negatives")
        assertClose(moments[1], expectedSquares, relative: 1e-12, absolute: 1e-300, "\(at): Σs² over negatives")
    }

    /// Top-k lists of every cell, of negative cells only (best negatives), and of negative
    /// cells that do not beat their query's best positive (hard negatives with no margin).
    func checkTopK(_ at: String) {
        for (negativesOnly, belowPositive) in [(false, false), (true, false), (true, true)] {
            for k in [1, 3, cols + 2] {
                checkTopK(k: k, negativesOnly: negativesOnly, belowPositive: belowPositive,
                          "\(at), \(negativesOnly ? "negatives" : "all cells")\(belowPositive ? " below the positive" : "")")
            }
        }
    }

    func checkTopK(k: Int, negativesOnly: Bool, belowPositive: Bool, _ at: String) {
        var rowScores = [Double](repeating: -.infinity, count: rows * k), rowIndices = [Int32](repeating: .max, count: rows * k)
        var colScores = [Double](repeating: -.infinity, count: cols * k), colIndices = [Int32](repeating: .max, count: cols * k)
        var floor = [Float](repeating: -.infinity, count: cols), gate = floor
        let rowCeiling = TestThresholds(exact: rowBest, index: rowBestColumn)
        let colCeiling = TestThresholds(exact: ownerSimilarity, index: owner)
        var rowThresholds = rowCeiling.thresholds, colThresholds = colCeiling.thresholds
        withTile { t in
            owner.withUnsafeBufferPointer { owners in
                let mask = negativesOnly ? owners.baseAddress : nil
                withUnsafePointer(to: &rowThresholds) { rowCeiling in
                    withUnsafePointer(to: &colThresholds) { colCeiling in
                        cs_topk(t, mask, belowPositive ? rowCeiling : nil, belowPositive ? colCeiling : nil, Int64(k),
                                &rowScores, &rowIndices, &colScores, &colIndices, &floor, &gate)
                    }
                }
            }
        }
        func beats(_ x: Double, _ index: Int, _ threshold: Double, _ thresholdIndex: Int32) -> Bool {
            x > threshold || (x == threshold && index < Int(thresholdIndex))
        }
        /// Whether cell (i, j) is a candidate of row i's list, or of column j's.
        func isCandidate(_ i: Int, _ j: Int, ofRow: Bool) -> Bool {
            guard negativesOnly else { return true }
            guard isNegative(i, j) else { return false }
            guard belowPositive else { return true }
            return ofRow ? !beats(exact[i * cols + j], col0 + j, rowBest[i], rowBestColumn[i])
                : !beats(exact[i * cols + j], row0 + i, ownerSimilarity[j], owner[j])
        }
        func best(_ candidates: [(score: Double, index: Int32)]) -> [(score: Double, index: Int32)] {
            let sorted = candidates.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            return Array(sorted.prefix(k)) + Array(repeating: (-.infinity, .max), count: max(0, k - sorted.count))
        }
        for i in 0..<rows {
            let expected = best((0..<cols).filter { isCandidate(i, $0, ofRow: true) }.map { (exact[i * cols + $0], Int32(col0 + $0)) })
            XCTAssertEqual(Array(rowIndices[i * k..<(i + 1) * k]), expected.map(\.index), "\(at): top-\(k) of row \(i)")
            for (got, want) in zip(rowScores[i * k..<(i + 1) * k], expected) where want.score.isFinite {
                assertClose(got, want.score, relative: 1e-12, absolute: 1e-300, "\(at): top-\(k) score of row \(i)")
            }
        }
        for j in 0..<cols {
            let expected = best((0..<rows).filter { isCandidate($0, j, ofRow: false) }.map { (exact[$0 * cols + j], Int32(row0 + $0)) })
            XCTAssertEqual(Array(colIndices[j * k..<(j + 1) * k]), expected.map(\.index), "\(at): top-\(k) of column \(j)")
        }
    }

    /// Log-sum-exps, softplus, histogram and uniformity over the tile's own Float32 values.
    func checkSums(_ at: String) {
        let owners: [Int32]? = owner.contains { (row0..<(row0 + rows)).contains(Int($0)) } ? owner : nil
        let maxS = (0..<rows).flatMap { i in (0..<cols).map { s[i * ld + $0] } }.max()!
        for scale in [20.0, 3.0] {
            var rowMax = [Double](repeating: -.infinity, count: rows), rowSum = [Double](repeating: 0, count: rows)
            var colMax = [Double](repeating: -.infinity, count: cols), colSum = [Double](repeating: 0, count: cols)
            var maxScratch = [Float](repeating: 0, count: cols), sumScratch = [Double](repeating: 0, count: cols)
            var part = [Float](repeating: 0, count: cols)
            withTile { t in
                cs_lse_online(t, owners, scale, &rowMax, &rowSum, &colMax, &colSum, &maxScratch, &sumScratch, &part)
            }
            var fixedRow = [Double](repeating: 0, count: rows), fixedCol = [Double](repeating: 0, count: cols)
            if maxS <= 1 {
                withTile { t in cs_lse_fixed_shift(t, owners, Float(scale), &fixedRow, &fixedCol, &part) }
            }
            var expectedRow = [[Double]](repeating: [], count: rows), expectedCol = [[Double]](repeating: [], count: cols)
            for i in 0..<rows {
                for j in 0..<cols where isNegative(i, j) {
                    expectedRow[i].append(Double(s[i * ld + j]) * scale)
                    expectedCol[j].append(Double(s[i * ld + j]) * scale)
                }
            }
            func lse(_ z: [Double]) -> Double {
                guard let m = z.max() else { return -.infinity }
                return m + log(z.reduce(0) { $0 + exp($1 - m) })
            }
            for (i, z) in expectedRow.enumerated() where !z.isEmpty {
                assertClose(rowMax[i] + log(rowSum[i]), lse(z), relative: 1e-6, absolute: 1e-6, "\(at): row \(i) LSE at scale \(scale)")
                if maxS <= 1 {
                    assertClose(scale + log(fixedRow[i]), lse(z), relative: 1e-6, absolute: 1e-6, "\(at): row \(i) fixed-shift LSE")
                }
            }
            for (j, z) in expectedCol.enumerated() where !z.isEmpty {
                assertClose(colMax[j] + log(colSum[j]), lse(z), relative: 1e-6, absolute: 1e-6, "\(at): column \(j) LSE at scale \(scale)")
                if maxS <= 1 {
                    assertClose(scale + log(fixedCol[j]), lse(z), relative: 1e-6, absolute: 1e-6, "\(at): column \(j) fixed-shift LSE")
                }
            }
            let bias = -scale / 2
            let softplus = withTile { t in cs_softplus_sum(t, owners, Float(scale), Float(bias)) }
            var expectedSoftplus = 0.0
            for i in 0..<rows {
                for j in 0..<cols where owners == nil || isNegative(i, j) {
                    let x = Double(Float(Double(s[i * ld + j]) * scale + bias))
                    expectedSoftplus += x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
                }
            }
            assertClose(softplus, expectedSoftplus, relative: 1e-5, "\(at): softplus sum at scale \(scale)")
        }

        let bins = 7
        var negative = [UInt64](repeating: 0, count: bins), positive = negative
        withTile { t in cs_histogram(t, owner, -1, 1, Int64(bins), &negative, &positive) }
        var expectedNegative = negative.map { _ in UInt64(0) }, expectedPositive = expectedNegative
        let perUnit = Float(bins) / 2
        for i in 0..<rows {
            for j in 0..<cols {
                let position = (s[i * ld + j] - -1) * perUnit
                let bin = position <= 0 ? 0 : min(Int(position), bins - 1)
                if isNegative(i, j) { expectedNegative[bin] += 1 } else { expectedPositive[bin] += 1 }
            }
        }
        XCTAssertEqual(negative, expectedNegative, "\(at): histogram of negatives")
        XCTAssertEqual(positive, expectedPositive, "\(at): histogram of positives")

        var squaredA = [Float](repeating: 0, count: rows), squaredB = [Float](repeating: 0, count: cols)
        for i in 0..<rows { squaredA[i] = Float(Double(aNorms[i]) * Double(aNorms[i])) }
        for j in 0..<cols { squaredB[j] = Float(Double(bNorms[j]) * Double(bNorms[j])) }
        var uMax = -Double.infinity, uSum = 0.0
        withTile { t in cs_uniformity(t, squaredA, squaredB, &uMax, &uSum) }
        var u: [Double] = []
        for i in 0..<rows {
            for j in 0..<cols where row0 + i != col0 + j {
                u.append(Double(4 * s[i * ld + j] - 2 * (squaredA[i] + squaredB[j])))
            }
        }
        if let m = u.max() {
            assertClose(uMax + log(uSum), m + log(u.reduce(0) { $0 + exp($1 - m) }), relative: 1e-6, absolute: 1e-6,
                        "\(at): uniformity")
        }
    }
}

/// cs_thresholds over memory it owns.
final class TestThresholds {
    let exact: UnsafeMutableBufferPointer<Double>
    let lower: UnsafeMutableBufferPointer<Float>
    let upper: UnsafeMutableBufferPointer<Float>
    let index: UnsafeMutableBufferPointer<Int32>

    init(exact values: [Double], index indices: [Int32]) {
        let n = max(values.count, 1)
        exact = .allocate(capacity: n)
        lower = .allocate(capacity: n)
        upper = .allocate(capacity: n)
        index = .allocate(capacity: n)
        _ = exact.initialize(from: values)
        _ = index.initialize(from: indices)
        cs_f32_bounds(exact.baseAddress, values.count, lower.baseAddress, upper.baseAddress)
    }

    deinit {
        exact.deallocate()
        lower.deallocate()
        upper.deallocate()
        index.deallocate()
    }

    var thresholds: cs_thresholds {
        cs_thresholds(exact: exact.baseAddress, lower: lower.baseAddress, upper: upper.baseAddress, index: index.baseAddress)
    }
}
