import CCrossSimKernels
import Foundation

/// The errors of shards decoded in parallel, by shard.
private final class ShardFailures: @unchecked Sendable {
    private var errors: [Error?]
    private let lock = NSLock()

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ error: Error, shard: Int) { lock.withLock { errors[shard] = error } }

    var first: Error? { lock.withLock { errors.compactMap { $0 }.first } }
}

/// How rows are compared: cosine normalises every row on read, dot uses them as they are.
public enum Similarity: String, Sendable, Codable, CaseIterable {
    case cosine, dot
}

extension Embeddings {
    /// Reads a whole set into memory, checking every row (SPEC §1) and normalising it under
    /// cosine similarity. Shards are decoded on all cores at once, each into its own rows; the
    /// error reported is the first shard's that failed.
    public static func load(_ set: ShardSet, similarity: Similarity) throws -> Embeddings {
        let matrix = Embeddings(rows: set.rows, dim: set.dim)
        let starts = set.shards.reduce(into: [0]) { $0.append($0.last! + $1.layout.rows) }
        let failures = ShardFailures(count: set.shards.count)
        DispatchQueue.concurrentPerform(iterations: set.shards.count) { k in
            do {
                let stream = RowStream(ShardSet(path: set.path, shards: [set.shards[k]]))
                let batch = batchRows(dim: set.dim)
                for first in stride(from: starts[k], to: starts[k + 1], by: batch) {
                    let rows = first..<min(first + batch, starts[k + 1])
                    guard try stream.read(rows: rows.count, into: matrix.row(rows.lowerBound)) == rows.count else {
                        throw InputError("truncated data: fewer rows than the header declares", file: set.shards[k].path)
                    }
                    try matrix.prepare(rows: rows, similarity: similarity, origin: set)
                }
            } catch {
                failures.record(error, shard: k)
            }
        }
        if let error = failures.first { throw error }
        return matrix
    }

    /// Rows decoded before they are checked and normalised: 512 KiB, so that the check finds
    /// them still in L2.
    static func batchRows(dim: Int) -> Int { max(1, (512 << 10) / (dim * MemoryLayout<Float>.stride)) }

    /// Reads the set at `path`.
    public static func load(path: String, similarity: Similarity) throws -> Embeddings {
        try load(ShardSet.open(path), similarity: similarity)
    }

    /// Checks rows for NaN, ±Inf and (under cosine) zero vectors, and normalises them under
    /// cosine. `origin` names the file and row of a bad row; this matrix's row 0 is the
    /// set's row `firstGlobalRow`.
    func prepare(rows: Range<Int>, similarity: Similarity, origin: ShardSet, firstGlobalRow: Int = 0) throws {
        var problem: Int32 = 0
        let bad = cs_prepare_rows(row(rows.lowerBound), rows.count, dim, similarity == .cosine ? 1 : 0, nil, &problem)
        guard bad >= 0 else { return }
        let (shard, row) = origin.locate(row: firstGlobalRow + rows.lowerBound + Int(bad))
        throw Self.badRow(problem, file: shard.path, row: row)
    }

    static func badRow(_ problem: Int32, file: String, row: Int) -> InputError {
        InputError(
            problem == Int32(CS_ROW_ZERO)
                ? "zero vector: it has no direction for cosine similarity (use --similarity dot or drop the row)"
                : "NaN or infinite value",
            file: file, row: row)
    }

    /// This matrix ready for `similarity`, with its largest squared row norm: every row checked
    /// for NaN and ±Inf, and under cosine unit length — the matrix itself when its rows already
    /// are (as `load` leaves them), else a normalised copy. `name` stands for the file in errors.
    public func prepared(for similarity: Similarity, name: String) throws -> (matrix: Embeddings, largestSquaredNorm: Float) {
        let norms = squaredNorms()
        if let bad = norms.firstIndex(where: { !$0.isFinite }) {
            throw Self.badRow(Int32(CS_ROW_NOT_FINITE), file: name, row: bad)
        }
        guard similarity == .cosine, norms.contains(where: { abs($0 - 1) > 1e-5 }) else { return (self, norms.max() ?? 0) }
        let copy = Embeddings(rows: rows, dim: dim)
        copy.baseAddress.update(from: baseAddress, count: rows * dim)
        var problem: Int32 = 0
        let bad = cs_prepare_rows(copy.baseAddress, rows, dim, 1, nil, &problem)
        if bad >= 0 { throw Self.badRow(problem, file: name, row: Int(bad)) }
        return (copy, 1)
    }

    /// Each row's squared L2 norm (of all rows, or of `range`).
    public func squaredNorms(rows range: Range<Int>? = nil) -> [Float] {
        let range = range ?? 0..<rows
        let norms = SharedBuffer<Float>(repeating: 0, count: range.count)
        RowChunks.forEach(range.count) { _, chunk in
            for k in chunk { norms[k] = Float(cs_dot_f64(self.row(range.lowerBound + k), self.row(range.lowerBound + k), self.dim)) }
        }
        return norms.array
    }

    /// Σ of rows `range` in binary64.
    func rowSum(rows range: Range<Int>) -> [Double] {
        RowChunks.sum(range.count, dim: dim) { chunk, sum in
            cs_add_rows_f64(self.row(range.lowerBound + chunk.lowerBound), chunk.count, self.dim, sum)
        }
    }
}
