import CCrossSimKernels
import Foundation
import Synchronization

/// The errors of pieces read in parallel, by piece, in order.
private final class PieceFailures: Sendable {
    private let errors: Mutex<[Error?]>

    init(count: Int) { errors = Mutex(Array(repeating: nil, count: count)) }

    func record(_ error: Error, piece: Int) { errors.withLock { $0[piece] = error } }

    var first: Error? { errors.withLock { $0.compactMap { $0 }.first } }
}

/// Reads a set's rows range by range, in increasing order, on all cores: the pieces of a range
/// (each shard's share of it, and uncompressed shards cut further, since they can seek) are
/// decoded at once, each checked and normalised in batches that stay in L2. A compressed shard
/// can only be decoded from its start, so the one a range ends inside stays open for the next.
/// With `fingerprints`, every row is hashed as decoded, before it is checked or normalised.
package final class SetReader: Sendable {
    let set: ShardSet
    let similarity: Similarity
    /// Each shard's first row, then the set's row count.
    private let starts: [Int]
    /// Where the ranges read so far have left off; a range is read under its lock, since each
    /// goes on from the last.
    private let progress: Mutex<Progress>
    private let largestNorm = Mutex<Float>(0)

    private struct Progress {
        /// The compressed shard the last range ended inside, positioned at that range's end.
        var open: (shard: Int, stream: RowStream)?
        var rowHashSums: [UInt64]?
        /// Rows before it are hashed; nil once a range started beyond it (those rows stay unhashed).
        var hashedThrough: Int? = 0
    }

    package init(set: ShardSet, similarity: Similarity, fingerprints: Bool = false) {
        self.set = set
        self.similarity = similarity
        starts = set.shards.reduce(into: [0]) { $0.append($0.last! + $1.layout.rows) }
        progress = Mutex(Progress(rowHashSums: fingerprints ? Array(repeating: 0, count: set.shards.count) : nil))
    }

    /// Rows decoded before they are checked and normalised: 512 KiB, so that the check finds
    /// them still in L2.
    package static func batchRows(dim: Int) -> Int { max(1, (512 << 10) / (dim * MemoryLayout<Float>.stride)) }

    /// Each shard's fingerprint, once the ranges read have covered every row; else nil.
    var fingerprints: [ShardFingerprint]? {
        progress.withLock { progress in
            guard let rowHashSums = progress.rowHashSums, progress.hashedThrough == set.rows else { return nil }
            return zip(set.shards, rowHashSums).map {
                ShardFingerprint(name: $0.path.split(separator: "/").last.map(String.init) ?? $0.path,
                                 fingerprint: Fingerprint(rowHashSum: $1))
            }
        }
    }

    /// Each shard's fingerprint, from one pass that reads (and checks) every row of `set` and
    /// keeps none.
    static func fingerprints(of set: ShardSet, similarity: Similarity) throws -> [ShardFingerprint] {
        let reader = SetReader(set: set, similarity: similarity, fingerprints: true)
        try reader.read(0..<set.rows, into: nil) { _ in }
        return reader.fingerprints!
    }

    /// The largest squared norm of the rows read (which bounds dot similarities); 1 under
    /// cosine, whose rows are unit length.
    var largestSquaredNorm: Float { similarity == .cosine ? 1 : largestNorm.withLock { $0 } }

    /// Reads rows `range` into `destination`, a matrix whose row 0 is the set's row `firstRow`.
    package func read(_ range: Range<Int>, into destination: (matrix: Embeddings, firstRow: Int)) throws {
        try read(range, into: destination) { _ in }
    }

    /// Reads rows `range` and hands each batch, checked and normalised, to `body` (called
    /// concurrently, for disjoint rows). With `destination` (a matrix whose row 0 is the set's
    /// row `firstRow`) the rows land there; else in each piece's own batch buffer.
    func read(_ range: Range<Int>, into destination: (matrix: Embeddings, firstRow: Int)?,
              _ body: @Sendable (RowPanel) -> Void) throws {
        guard !range.isEmpty else { return }
        try progress.withLock { try read(range, into: destination, body, progress: &$0) }
    }

    private func read(_ range: Range<Int>, into destination: (matrix: Embeddings, firstRow: Int)?,
                      _ body: @Sendable (RowPanel) -> Void, progress: inout Progress) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= set.rows)
        let (set, starts, similarity) = (self.set, self.starts, self.similarity)
        let batch = Self.batchRows(dim: set.dim)
        let pieces = set.shards.indices.filter { starts[$0] < range.upperBound && starts[$0 + 1] > range.lowerBound }
            .flatMap { k -> [(shard: Int, rows: Range<Int>)] in
                let rows = max(range.lowerBound, starts[k])..<min(range.upperBound, starts[k + 1])
                let count = set.shards[k].compressed ? 1 : max(1, min(rows.count / batch, 4 * TilePlan.defaultThreads))
                return (0..<count).map { p in
                    (k, (rows.lowerBound + rows.count * p / count)..<(rows.lowerBound + rows.count * (p + 1) / count))
                }
            }
        let hashFrom = progress.hashedThrough.flatMap { range.lowerBound <= $0 ? $0 : nil }
        let hashSums = SharedBuffer<UInt64>(repeating: 0, count: progress.rowHashSums == nil || hashFrom == nil ? 0 : pieces.count)
        let streams = SharedBuffer<RowStream?>(repeating: nil, count: pieces.count)
        if let open = progress.open, open.shard == pieces[0].shard,
           open.stream.nextRow <= pieces[0].rows.lowerBound - starts[open.shard] {
            streams[0] = open.stream
        }
        progress.open = nil
        let failures = PieceFailures(count: pieces.count)
        DispatchQueue.concurrentPerform(iterations: pieces.count) { p in
            let (k, piece) = pieces[p]
            do {
                let stream = streams[p] ?? RowStream(ShardSet(path: set.path, shards: [set.shards[k]]))
                streams[p] = stream
                try stream.skip(rows: piece.lowerBound - starts[k] - stream.nextRow)
                if let destination {
                    destination.matrix.mapPages(rows: (piece.lowerBound - destination.firstRow)..<(piece.upperBound - destination.firstRow))
                }
                let scratch = destination == nil ? Embeddings(rows: batch, dim: set.dim) : nil
                for first in stride(from: piece.lowerBound, to: piece.upperBound, by: batch) {
                    let count = min(batch, piece.upperBound - first)
                    let (matrix, row0) = destination.map { ($0.matrix, first - $0.firstRow) } ?? (scratch!, 0)
                    guard try stream.read(rows: count, into: matrix.row(row0)) == count else {
                        throw InputError("truncated data: fewer rows than the header declares", file: set.shards[k].path)
                    }
                    if hashSums.count > 0, let hashFrom {
                        for r in max(first, hashFrom)..<max(first + count, hashFrom) {
                            let bytes = UnsafeRawBufferPointer(start: matrix.row(row0 + r - first), count: set.dim * 4)
                            hashSums[p] &+= Fingerprint.hash(bytes, seed: r - starts[k])
                        }
                    }
                    try matrix.prepare(rows: row0..<(row0 + count), similarity: similarity, origin: set, firstGlobalRow: first - row0)
                    if similarity == .dot {
                        let largest = (row0..<(row0 + count)).reduce(Float(0)) { max($0, Float(cs_dot_f64(matrix.row($1), matrix.row($1), set.dim))) }
                        self.largestNorm.withLock { $0 = max($0, largest) }
                    }
                    body(RowPanel(matrix, rows: row0..<(row0 + count), firstIndex: first))
                }
            } catch {
                failures.record(error, piece: p)
            }
        }
        if let error = failures.first { throw error }
        if hashSums.count > 0 {
            for (p, piece) in pieces.enumerated() { progress.rowHashSums![piece.shard] &+= hashSums[p] }
        }
        progress.hashedThrough = hashFrom.map { _ in max(progress.hashedThrough!, range.upperBound) }
        let last = pieces.count - 1
        if set.shards[pieces[last].shard].compressed && range.upperBound < starts[pieces[last].shard + 1] {
            progress.open = (pieces[last].shard, streams[last]!)
        }
    }
}
