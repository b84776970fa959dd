/// A figure of a report by the name `compare` and `trend` give it (docs/command-line.md):
/// `x1_to_x2.recall@5`, `x2_to_x1.mrr`, `x1_to_x2.mean_rank`, `x2_to_x1.median_rank`,
/// `x1_to_x2.infonce@0.05`, `symmetric.infonce@0.05`, `symmetric.dcl@0.05`. τ is written as the
/// report writes it.
public struct ReportMetric: Hashable, Sendable, CustomStringConvertible {
    public enum Direction: String, Sendable, CaseIterable {
        case x1ToX2 = "x1_to_x2", x2ToX1 = "x2_to_x1", symmetric
    }

    public enum Kind: Hashable, Sendable {
        case recall(k: Int)
        case mrr
        case meanRank
        case medianRank
        case infonce(tau: Double)
        case dcl(tau: Double)
    }

    public var direction: Direction
    public var kind: Kind

    public init(_ direction: Direction, _ kind: Kind) {
        self.direction = direction
        self.kind = kind
    }

    /// Parses a name; the error lists the forms there are.
    public init(parsing name: String) throws {
        let forms = "DIRECTION.recall@K, DIRECTION.mrr, DIRECTION.mean_rank, DIRECTION.median_rank, DIRECTION.infonce@TAU, "
            + "DIRECTION.dcl@TAU (DIRECTION x1_to_x2 or x2_to_x1), symmetric.infonce@TAU, symmetric.dcl@TAU"
        let bad = InputError("unknown metric '\(name)': the metrics are \(forms)")
        guard let dot = name.firstIndex(of: "."), let direction = Direction(rawValue: String(name[..<dot])) else { throw bad }
        let rest = name[name.index(after: dot)...]
        let parts = rest.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let argument = parts.count == 2 ? String(parts[1]) : nil
        let kind: Kind
        switch (parts[0], argument) {
        case ("recall", let k?): guard let k = Int(k), k > 0 else { throw bad }; kind = .recall(k: k)
        case ("mrr", nil): kind = .mrr
        case ("mean_rank", nil): kind = .meanRank
        case ("median_rank", nil): kind = .medianRank
        case ("infonce", let tau?): guard let tau = Double(tau), tau > 0 else { throw bad }; kind = .infonce(tau: tau)
        case ("dcl", let tau?): guard let tau = Double(tau), tau > 0 else { throw bad }; kind = .dcl(tau: tau)
        default: throw bad
        }
        if direction == .symmetric {
            switch kind {
            case .infonce, .dcl: break
            default: throw bad
            }
        }
        self.init(direction, kind)
    }

    public var description: String {
        let figure: String
        switch kind {
        case .recall(let k): figure = "recall@\(k)"
        case .mrr: figure = "mrr"
        case .meanRank: figure = "mean_rank"
        case .medianRank: figure = "median_rank"
        case .infonce(let tau): figure = "infonce@" + JSONValue.number(tau).rendered()
        case .dcl(let tau): figure = "dcl@" + JSONValue.number(tau).rendered()
        }
        return direction.rawValue + "." + figure
    }

    /// Whether a smaller value is the better one (ranks and losses).
    public var lowerIsBetter: Bool {
        switch kind {
        case .recall, .mrr: return false
        case .meanRank, .medianRank, .infonce, .dcl: return true
        }
    }
}
