/// Top-k's state: each x1 row's k best x2 rows, and each x2 row's k best among the part's x1
/// rows.
public struct NearestNeighbors: CandidateListSection {
    public var rows: TopKLists
    public var columns: TopKLists

    public init(rows: TopKLists, columns: TopKLists) {
        self.rows = rows
        self.columns = columns
    }

    public static let name = "top_k"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.topK != nil }

    static func listLength(_ options: EvaluationOptions) -> Int { options.topK ?? 0 }
    static let keepsPositives = true

    /// The sentence-transformers metrics at each k ≤ K (the ranks' section has filled in the
    /// rest of each direction's retrieval); none for unlabelled queries (`--queries-only`).
    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        guard !options.queriesOnly else { return }
        let p = state.positives
        report.x1ToX2.addListMetrics(rows, ks: options.recallAt, queries: p.rowsWithPositive,
                                     isRelevant: { query, candidate in p.positiveOf[Int(candidate)] == Int32(query) },
                                     relevantCount: { Int(p.rowCount[$0]) })
        report.x2ToX1.addListMetrics(columns, ks: options.recallAt, queries: Array(0..<state.x2Rows),
                                     isRelevant: { query, candidate in p.positiveOf[query] == candidate },
                                     relevantCount: { _ in 1 })
    }
}

