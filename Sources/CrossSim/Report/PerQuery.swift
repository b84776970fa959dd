import Foundation

/// Every query's own figures, one row per query in query order (docs/report.md, "Per-query
/// results"): the columns whose means are the report's figures, for paired comparisons of
/// two models over the same queries.
public struct PerQuery: Sendable {
    /// One direction's columns.
    public struct Direction: Sendable {
        /// Rank of the best positive by the tie rule; 0 for a query without a positive.
        public var rank: [Int64]
        /// NaN for a query without a positive.
        public var bestPositive: [Float]
        /// The best candidate that is not a positive: NaN and −1 when there is none.
        public var bestNegative: [Float]
        public var bestNegativeIndex: [Int64]
        /// [queries, T], the report's τ in order; NaN for a query without a positive.
        public var infonce: [Double]
    }

    public var temperatures: [Double]
    public var x1ToX2: Direction
    public var x2ToX1: Direction

    /// The columns of a state that covers every x1 row and holds the best negatives.
    public init(state: PartialState, options: EvaluationOptions) throws {
        precondition(state.rows == 0..<state.x1Rows, "the state must cover all x1 rows")
        guard let ranks = state[RankCounts.self], let negatives = state[BestNegatives.self] else {
            throw InputError("per-query results need each query's best negative, which these parts did not keep: run them with --keep-per-query")
        }
        let p = state.positives
        let losses = state[NegativeLogSumExps.self].map { lse in
            options.temperatures.indices.map { lse.queryLosses($0, tau: options.temperatures[$0], positives: p) }
        } ?? []
        func interleaved(_ columns: [[Double]], queries: Int) -> [Double] {
            (0..<queries).flatMap { q in columns.map { $0[q] } }
        }
        func best(_ lists: TopKLists) -> (score: [Float], index: [Int64]) {
            (lists.scores.map { $0 == -.infinity ? .nan : Float($0) }, lists.indices.map { $0 == .max ? -1 : Int64($0) })
        }
        temperatures = options.temperatures
        let rowNegative = best(negatives.rows), columnNegative = best(negatives.columns)
        x1ToX2 = Direction(
            rank: (0..<state.x1Rows).map { p.rowCount[$0] > 0 ? Int64(ranks.rowBeaten[$0]) + 1 : 0 },
            bestPositive: p.rowBest.map { $0 == .infinity ? .nan : Float($0) },
            bestNegative: rowNegative.score, bestNegativeIndex: rowNegative.index,
            infonce: interleaved(losses.map(\.x1ToX2), queries: state.x1Rows))
        x2ToX1 = Direction(
            rank: ranks.columnBeaten.map { Int64($0) + 1 },
            bestPositive: p.similarity.map { Float($0) },
            bestNegative: columnNegative.score, bestNegativeIndex: columnNegative.index,
            infonce: interleaved(losses.map(\.x2ToX1), queries: state.x2Rows))
    }

    /// Writes `DIRECTION.COLUMN.npy` for both directions into `directory`, each file atomically.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, d) in [("x1_to_x2", x1ToX2), ("x2_to_x1", x2ToX1)] {
            let base = (directory as NSString).appendingPathComponent(name)
            let queries = d.rank.count
            try d.rank.withUnsafeBufferPointer { try NPYWriter.write($0, shape: [queries], element: .int64, to: base + ".rank.npy") }
            try d.bestPositive.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [queries], element: .float32, to: base + ".best_positive.npy")
            }
            try d.bestNegative.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [queries], element: .float32, to: base + ".best_negative.npy")
            }
            try d.bestNegativeIndex.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [queries], element: .int64, to: base + ".best_negative_index.npy")
            }
            try d.infonce.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [queries, temperatures.count], element: .float64, to: base + ".infonce.npy")
            }
        }
    }
}
