import CCrossSimKernels
import Foundation

/// The positive pairs' similarities, from one streaming pass over x1: x2's columns are held
/// panel by panel, and x1's rows stream past on all cores, each meeting the columns it is the
/// positive of. Where the pairs' x1 rows rise with the column (identity pairs, captions in
/// order), consecutive panels need consecutive x1 rows and every row is decoded once; other
/// pairs stream x1 past each panel. On the way it keeps the x1 rows a part computes on, so
/// that they are not decoded twice, and learns x1's largest squared norm and fingerprints.
final class PositivePass: @unchecked Sendable {
    let pairs: Pairs
    /// The x1 rows kept, and the matrix that holds them.
    let keep: Range<Int>
    let kept: Embeddings
    /// Whether the pairs' x1 rows never fall as the column rises.
    private let ownersRise: Bool
    private let reader: SetReader
    /// The columns of x1 row i, increasing: `columns[columnStart[i]..<columnStart[i + 1]]`.
    private let columnStart: [Int]
    private let columns: [Int32]
    private let similarity: SharedBuffer<Double>
    private let squaredDistance: SharedBuffer<Double>
    /// Every x1 row before it has been read.
    private var frontier = 0

    init(set1: ShardSet, pairs: Pairs, similarity: Similarity, keep: Range<Int>) {
        self.pairs = pairs
        self.keep = keep
        kept = Embeddings(rows: keep.count, dim: set1.dim)
        reader = SetReader(set: set1, similarity: similarity, fingerprints: true)
        let owners = pairs.positiveOf
        ownersRise = zip(owners, owners.dropFirst()).allSatisfy { $0 <= $1 }
        var start = [Int](repeating: 0, count: pairs.x1Rows + 1)
        for owner in owners { start[Int(owner) + 1] += 1 }
        for i in 0..<pairs.x1Rows { start[i + 1] += start[i] }
        var next = start, columns = [Int32](repeating: 0, count: owners.count)
        for (j, owner) in owners.enumerated() {
            columns[next[Int(owner)]] = Int32(j)
            next[Int(owner)] += 1
        }
        columnStart = start
        self.columns = columns
        self.similarity = SharedBuffer(repeating: 0, count: owners.count)
        squaredDistance = SharedBuffer(repeating: 0, count: owners.count)
    }

    /// The end of a panel of `count` columns from `start` (the caller keeps it inside x2):
    /// when owners rise, before the first column of a row that the next panel would need again.
    func panelEnd(start: Int, count: Int) -> Int {
        let owners = pairs.positiveOf
        let end = start + count
        guard ownersRise, end < owners.count else { return end }
        var cut = end
        while cut > start && owners[cut - 1] == owners[end] { cut -= 1 }
        return cut > start ? cut : end
    }

    /// Computes the positives of columns `panel`, held in `x2` (its row 0 is column
    /// `panel.lowerBound`). Panels come in increasing order; rows that own no column are read
    /// too, so that every row is checked, counted in the norm and fingerprinted. Unlabelled
    /// (`--queries-only`), no column has a positive: the first panel reads every x1 row.
    func add(_ x2: Embeddings, columns: Range<Int>) throws {
        let owners = pairs.positiveOf
        let panel = columns.clamped(to: 0..<owners.count)
        var lower = frontier, upper = panel.upperBound == owners.count ? pairs.x1Rows : 0
        for j in panel {
            lower = min(lower, Int(owners[j]))
            upper = max(upper, Int(owners[j]) + 1)
        }
        let rows = lower..<max(lower, upper)
        let direct = keep.contains(rows.lowerBound) && keep.upperBound >= rows.upperBound
        let (keep, kept, columnStart, columns) = (self.keep, self.kept, self.columnStart, self.columns)
        let (similarity, squaredDistance) = (self.similarity, self.squaredDistance)
        try reader.read(rows, into: direct ? (kept, keep.lowerBound) : nil) { batch in
            for local in 0..<batch.count {
                let i = batch.firstIndex + local, a = batch.base + local * batch.dim
                if !direct && keep.contains(i) {
                    kept.row(i - keep.lowerBound).update(from: a, count: batch.dim)
                }
                for j in columns[columnStart[i]..<columnStart[i + 1]] where panel.contains(Int(j)) {
                    let b = x2.row(Int(j) - panel.lowerBound)
                    similarity[Int(j)] = cs_dot_f64(a, b, batch.dim)
                    squaredDistance[Int(j)] = cs_squared_distance_f64(a, b, batch.dim)
                }
            }
        }
        frontier = max(frontier, rows.upperBound)
    }

    /// x1's largest squared row norm.
    var largestSquaredNorm: Float { reader.largestSquaredNorm }

    /// x1's shards' fingerprints (every panel added).
    var fingerprints: [ShardFingerprint]? { reader.fingerprints }

    /// The positives, once every panel has been added; the alignment is summed in the order
    /// `Positives.compute` sums it, so that both give the same bits.
    func positives() -> Positives {
        let distance = squaredDistance
        let alignment = RowChunks.sum(distance.count, dim: 1) { chunk, sum in
            for j in chunk { sum[0] += distance[j] }
        }
        return Positives(positiveOf: pairs.positiveOf, similarity: similarity.array, alignmentSum: alignment[0], x1Rows: pairs.x1Rows)
    }
}
