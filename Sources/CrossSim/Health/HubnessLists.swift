import Foundation

/// `--health`'s hubness: every query's k best candidates by the tie rule, both ways, labels
/// ignored; N_k(c) counts the queries that have candidate c in their list (docs/definitions.md).
public struct HubnessLists: CandidateListSection {
    public var rows: TopKLists
    public var columns: TopKLists

    public init(rows: TopKLists, columns: TopKLists) {
        self.rows = rows
        self.columns = columns
    }

    public static let name = "hubness"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.health }

    static func listLength(_ options: EvaluationOptions) -> Int { options.hubnessK }
    static let keepsPositives = true

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        var health = report.health ?? Report.Health()
        health.hubness = Report.Hubness(k: options.hubnessK,
                                        x1ToX2: Self.occurrence(rows, candidates: state.x2Rows),
                                        x2ToX1: Self.occurrence(columns, candidates: state.x1Rows))
        report.health = health
    }

    /// The k-occurrence's skewness (population, as Radovanović et al.), the share of candidates
    /// no query retrieves, and the largest count.
    static func occurrence(_ lists: TopKLists, candidates: Int) -> Report.Hubness.Direction {
        var counts = [Int](repeating: 0, count: candidates)
        for index in lists.indices where index != .max { counts[Int(index)] += 1 }
        let n = Double(candidates)
        let mean = Double(counts.reduce(0, +)) / n
        var m2 = 0.0, m3 = 0.0
        for c in counts {
            let d = Double(c) - mean
            m2 += d * d
            m3 += d * d * d
        }
        m2 /= n
        m3 /= n
        return Report.Hubness.Direction(skewness: m2 > 0 ? m3 / pow(m2, 1.5) : 0,
                                        neverRetrieved: Double(counts.filter { $0 == 0 }.count) / n,
                                        maxOccurrence: counts.max() ?? 0)
    }
}
