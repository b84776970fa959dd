/// Each query's best negative, both ways: the candidate that is not one of its positives and
/// comes first by the tie rule of docs/definitions.md (higher exact similarity, then lower
/// index). The per-query results (docs/report.md) give it beside the best positive.
public struct BestNegatives: CandidateListSection {
    /// Per x1 row: its best x2 row that is not a positive (Int32.max and −∞ when there is none).
    public var rows: TopKLists
    /// Per x2 row: its best x1 row of the part other than its positive.
    public var columns: TopKLists

    public init(rows: TopKLists, columns: TopKLists) {
        self.rows = rows
        self.columns = columns
    }

    public static let name = "best_negative"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.perQuery }

    static func listLength(_ options: EvaluationOptions) -> Int { 1 }
    static let keepsPositives = false

    /// Its figures are per query, written by `PerQuery`, not in the report.
    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {}
}
