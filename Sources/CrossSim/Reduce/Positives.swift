import CCrossSimKernels

/// The similarity of every positive pair, computed before the tiles run (in binary64, O(N2·D)),
/// and what the rows derive from it: each x1 row's positive count, mean and best positive.
public struct Positives: Sendable, Equatable {
    /// For each x2 row j, its x1 row p(j).
    public let positiveOf: [Int32]
    /// s_{p(j) j} for each x2 row j.
    public let similarity: [Double]
    /// Σ_j ‖x1_{p(j)} − x2_j‖².
    public let alignmentSum: Double

    /// |P(i)|, mean_{p∈P(i)} s_ip, and the best positive (highest s, then lowest index):
    /// +∞ and −1 for a row without positive.
    public let rowCount: [Int32]
    public let rowMean: [Double]
    public let rowBest: [Double]
    public let rowBestColumn: [Int32]

    public init(positiveOf: [Int32], similarity: [Double], alignmentSum: Double, x1Rows: Int) {
        self.positiveOf = positiveOf
        self.similarity = similarity
        self.alignmentSum = alignmentSum
        var count = [Int32](repeating: 0, count: x1Rows)
        var sum = [Double](repeating: 0, count: x1Rows)
        var best = [Double](repeating: .infinity, count: x1Rows)
        var bestColumn = [Int32](repeating: -1, count: x1Rows)
        for (j, owner) in positiveOf.enumerated() {
            let i = Int(owner)
            let s = similarity[j]
            count[i] += 1
            sum[i] += similarity[j]
            // Columns arrive in increasing j, so a tie keeps the lower index.
            if bestColumn[i] < 0 || s > best[i] {
                best[i] = s
                bestColumn[i] = Int32(j)
            }
        }
        rowCount = count
        rowMean = zip(sum, count).map { $1 > 0 ? $0 / Double($1) : 0 }
        rowBest = best
        rowBestColumn = bestColumn
    }

    /// The x1 rows that have a positive: the x1→x2 queries.
    public var rowsWithPositive: [Int] { rowCount.indices.filter { rowCount[$0] > 0 } }

    public static func == (a: Positives, b: Positives) -> Bool {
        a.positiveOf == b.positiveOf && a.similarity == b.similarity && a.alignmentSum == b.alignmentSum
    }

    /// s and squared distance of each pair, from rows in memory.
    public static func compute(x1: Embeddings, x2: Embeddings, pairs: Pairs) -> Positives {
        // Every x2 row has a positive, except under `--queries-only`, where none has.
        let similarity = SharedBuffer<Double>(repeating: 0, count: pairs.x2Rows)
        let positiveOf = pairs.positiveOf
        let alignment = RowChunks.sum(pairs.x2Rows, dim: 1) { chunk, sum in
            for j in chunk {
                let a = x1.row(Int(positiveOf[j])), b = x2.row(j)
                similarity[j] = cs_dot_f64(a, b, x1.dim)
                sum[0] += cs_squared_distance_f64(a, b, x1.dim)
            }
        }
        return Positives(positiveOf: positiveOf, similarity: similarity.array, alignmentSum: alignment[0], x1Rows: x1.rows)
    }
}
