import CCrossSimKernels
import Foundation

/// The errors of pieces read in parallel, by piece, in order.
private final class PieceFailures: @unchecked Sendable {
    private var errors: [Error?]
    private let lock = NSLock()

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ error: Error, piece: Int) { lock.withLock { errors[piece] = error } }

    var first: Error? { lock.withLock { errors.compactMap { $0 }.first } }
}

/// A shard's name and the fingerprint of its rows as decoded.
public struct ShardFingerprint: Sendable, Equatable, Codable {
    public var name: String
    public var fingerprint: Fingerprint
}

/// Reads a set's rows range by range, in increasing order, on all cores: the pieces of a range
/// (each shard's share of it, and uncompressed shards cut further, since they can seek) are
/// decoded at once, each checked and normalised in batches that stay in L2. A compressed shard
/// can only be decoded from its start, so the one a range ends inside stays open for the next.
/// With `fingerprints`, every row is hashed as decoded, before it is checked or normalised.
final class SetReader: @unchecked Sendable {
    let set: ShardSet
    let similarity: Similarity
    /// Each shard's first row, then the set's row count.
    private let starts: [Int]
    /// The compressed shard the last range ended inside, positioned at that range's end.
    private var open: (shard: Int, stream: RowStream)?
    private var rowHashSums: [UInt64]?
    /// Rows before it are hashed; nil once a range started beyond it (those rows stay unhashed).
    private var hashedThrough: Int? = 0
    private var largestNorm: Float = 0
    private let normLock = NSLock()

    init(set: ShardSet, similarity: Similarity, fingerprints: Bool = false) {
        self.set = set
        self.similarity = similarity
        starts = set.shards.reduce(into: [0]) { $0.append($0.last! + $1.layout.rows) }
        rowHashSums = fingerprints ? Array(repeating: 0, count: set.shards.count) : nil
    }

    /// Each shard's fingerprint, once the ranges read have covered every row; else nil.
    var fingerprints: [ShardFingerprint]? {
        guard let rowHashSums, hashedThrough == set.rows else { return nil }
        return zip(set.shards, rowHashSums).map {
            ShardFingerprint(name: $0.path.split(separator: "/").last.map(String.init) ?? $0.path,
                             fingerprint: Fingerprint(rowHashSum: $1))
        }
    }

    /// The largest squared norm of the rows read (which bounds dot similarities); 1 under
    /// cosine, whose rows are unit length.
    var largestSquaredNorm: Float { similarity == .cosine ? 1 : normLock.withLock { largestNorm } }

    /// Reads rows `range` and hands each batch, checked and normalised, to `body` (called
    /// concurrently, for disjoint rows). With `destination` (a matrix whose row 0 is the set's
    /// row `firstRow`) the rows land there; else in each piece's own batch buffer.
    func read(_ range: Range<Int>, into destination: (matrix: Embeddings, firstRow: Int)? = nil,
              _ body: @Sendable (RowPanel) -> Void = { _ in }) throws {
        guard !range.isEmpty else { return }
        precondition(range.lowerBound >= 0 && range.upperBound <= set.rows)
        let (set, starts, similarity) = (self.set, self.starts, self.similarity)
        let batch = Embeddings.batchRows(dim: set.dim)
        let pieces = set.shards.indices.filter { starts[$0] < range.upperBound && starts[$0 + 1] > range.lowerBound }
            .flatMap { k -> [(shard: Int, rows: Range<Int>)] in
                let rows = max(range.lowerBound, starts[k])..<min(range.upperBound, starts[k + 1])
                let count = set.shards[k].compressed ? 1 : max(1, min(rows.count / batch, 4 * TilePlan.defaultThreads))
                return (0..<count).map { p in
                    (k, (rows.lowerBound + rows.count * p / count)..<(rows.lowerBound + rows.count * (p + 1) / count))
                }
            }
        let hashFrom = hashedThrough.flatMap { range.lowerBound <= $0 ? $0 : nil }
        let hashSums = SharedBuffer<UInt64>(repeating: 0, count: rowHashSums == nil || hashFrom == nil ? 0 : pieces.count)
        let streams = SharedBuffer<RowStream?>(repeating: nil, count: pieces.count)
        if let open, open.shard == pieces[0].shard, open.stream.nextRow <= pieces[0].rows.lowerBound - starts[open.shard] {
            streams[0] = open.stream
        }
        open = nil
        let failures = PieceFailures(count: pieces.count)
        DispatchQueue.concurrentPerform(iterations: pieces.count) { p in
            let (k, piece) = pieces[p]
            do {
                let stream = streams[p] ?? RowStream(ShardSet(path: set.path, shards: [set.shards[k]]))
                streams[p] = stream
                try stream.skip(rows: piece.lowerBound - starts[k] - stream.nextRow)
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
                        self.normLock.withLock { self.largestNorm = max(self.largestNorm, largest) }
                    }
                    body(RowPanel(matrix, rows: row0..<(row0 + count), firstIndex: first))
                }
            } catch {
                failures.record(error, piece: p)
            }
        }
        if let error = failures.first { throw error }
        if hashSums.count > 0 {
            for (p, piece) in pieces.enumerated() { rowHashSums![piece.shard] &+= hashSums[p] }
        }
        hashedThrough = hashFrom.map { _ in max(hashedThrough!, range.upperBound) }
        let last = pieces.count - 1
        if set.shards[pieces[last].shard].compressed && range.upperBound < starts[pieces[last].shard + 1] {
            open = (pieces[last].shard, streams[last]!)
        }
    }
}
