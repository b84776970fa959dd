/// Which candidates are hard negatives (docs/definitions.md, "Hard negatives"): the semantics
/// of sentence-transformers' `mine_hard_negatives`, decided on exact similarities.
public struct HardNegativeRule: Sendable, Equatable, Codable {
    /// How many each query keeps.
    public var count: Int
    /// A candidate must score below the best positive by this much…
    public var margin: Double?
    /// …and below it by this share of its size: s < p − |p|·R, which is p·(1 − R) for p ≥ 0.
    public var relativeMargin: Double?
    /// Skip the best `rangeMin` negatives; consider only the best `rangeMax`.
    public var rangeMin = 0
    public var rangeMax: Int?

    public init(count: Int, margin: Double? = nil, relativeMargin: Double? = nil, rangeMin: Int = 0, rangeMax: Int? = nil) {
        self.count = count
        self.margin = margin
        self.relativeMargin = relativeMargin
        self.rangeMin = rangeMin
        self.rangeMax = rangeMax
    }

    func validate() throws {
        guard count >= 1 else { throw InputError("bad --hard-negatives \(count): K must be ≥ 1") }
        for (name, value) in [("--margin", margin), ("--relative-margin", relativeMargin)] {
            if let value, !(value.isFinite && value >= 0) { throw InputError("bad \(name) \(value): give a number ≥ 0") }
        }
        guard rangeMin >= 0 else { throw InputError("bad --range-min \(rangeMin): give 0 or more") }
        if let rangeMax, rangeMax < 1 { throw InputError("bad --range-max \(rangeMax): give 1 or more") }
        // Each list keeps rangeMin + count candidates for every query: bound it as --top-k is.
        guard rangeMin <= 1 << 20, count <= 1 << 20 else { throw InputError("--range-min and --hard-negatives must be at most 2^20") }
    }

    /// The similarity a query's candidates must stay below, from its best positive p (+∞ for
    /// a query without one: no candidate is excluded).
    func ceiling(positive p: Double) -> Double {
        guard p.isFinite else { return .infinity }
        return min(p - (margin ?? 0), p - abs(p) * (relativeMargin ?? 0))
    }
}

/// Hard negatives' state: per query, the best `rangeMin + count` negatives that do not beat
/// its ceiling by the tie rule, and how many negatives do beat it (their ranks come first).
public struct HardNegatives: CandidateListSection {
    public var rows: TopKLists
    public var columns: TopKLists
    /// Per x1 row of the part, and per x2 row over the part's rows: negatives at or above the
    /// ceiling.
    public var rowsAbove: [Int32] = []
    public var columnsAbove: [Int32] = []

    public init(rows: TopKLists, columns: TopKLists) {
        self.rows = rows
        self.columns = columns
    }

    public static let name = "hard_negatives"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.hardNegatives != nil }

    static func listLength(_ options: EvaluationOptions) -> Int {
        options.hardNegatives.map { $0.rangeMin + $0.count } ?? 0
    }
    static let keepsPositives = false

    public mutating func append(_ next: HardNegatives) {
        appendLists(next)
        rowsAbove += next.rowsAbove
        columnsAbove = zip(columnsAbove, next.columnsAbove).map { $0 + $1 }
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { listBytes(shape) + Double(4 * (shape.rows.count + shape.x2Rows)) }

    public func encode(into writer: inout BinaryWriter) {
        encodeLists(into: &writer)
        writer.append(rowsAbove)
        writer.append(columnsAbove)
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> HardNegatives {
        var section = try decodeLists(from: reader, shape: shape)
        section.rowsAbove = try reader.array(Int32.self, count: shape.rows.count, what: "hard-negative counts")
        section.columnsAbove = try reader.array(Int32.self, count: shape.x2Rows, what: "hard-negative counts")
        guard section.rowsAbove.allSatisfy({ 0 <= $0 && Int($0) <= shape.x2Rows }),
              section.columnsAbove.allSatisfy({ 0 <= $0 && Int($0) <= shape.rows.count })
        else { throw SectionError("hard-negative counts out of range") }
        return section
    }

    /// Written by `Neighbors`, not in the report.
    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {}

    /// Each query's hard negatives, best first: of its negatives in tie-rule order, those at
    /// positions rangeMin..<rangeMax that stay below the ceiling, the first `count` of them;
    /// (−∞, −1) pads a query with fewer.
    public func selected(_ rule: HardNegativeRule) -> (x1ToX2: (scores: [Double], indices: [Int64]),
                                                       x2ToX1: (scores: [Double], indices: [Int64])) {
        func pick(_ lists: TopKLists, above: [Int32]) -> (scores: [Double], indices: [Int64]) {
            var scores: [Double] = [], indices: [Int64] = []
            scores.reserveCapacity(lists.count * rule.count)
            indices.reserveCapacity(lists.count * rule.count)
            for q in 0..<lists.count {
                // The negatives that beat the ceiling hold positions 0..<above; the list holds
                // the next ones in order.
                let skip = max(0, rule.rangeMin - Int(above[q]))
                for n in 0..<rule.count {
                    let slot = q * lists.k + skip + n, position = Int(above[q]) + skip + n
                    let fits = skip + n < lists.k && lists.indices[slot] != .max && position < (rule.rangeMax ?? .max)
                    scores.append(fits ? lists.scores[slot] : -.infinity)
                    indices.append(fits ? Int64(lists.indices[slot]) : -1)
                }
            }
            return (scores, indices)
        }
        return (pick(rows, above: rowsAbove), pick(columns, above: columnsAbove))
    }
}

/// Hard negatives: the candidate lists under each query's ceiling, and the count of negatives
/// above it, in one reducer.
final class HardNegativeReducer: Reducer, @unchecked Sendable {
    let lists: CandidateListReducer<HardNegatives>
    let above: BeatenCounts
    /// Per worker: the counting kernel's Σ s and Σ s², which this figure does not use.
    private var moments = SharedBuffer<Double>(repeating: 0, count: 0)

    init(run: ReducerRun) {
        let rule = run.options.hardNegatives!
        // A ceiling ties at the positive's index, as the rank rule does.
        let rows = ReducerRun.Thresholds(exact: run.rowThresholds.exact.array.map(rule.ceiling(positive:)),
                                         index: run.rowThresholds.index.array)
        let columns = ReducerRun.Thresholds(exact: run.columnThresholds.exact.array.map(rule.ceiling(positive:)),
                                            index: run.columnThresholds.index.array)
        lists = CandidateListReducer(run: run, ceilings: (rows, columns))
        above = BeatenCounts(run: run, rows: rows, columns: columns)
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) {
        (lists.panelBytesPerColumn.worker + 4, lists.panelBytesPerColumn.slot)
    }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        lists.prepare(workers: workers, slots: slots, panelColumns: panelColumns)
        above.prepare(workers: workers, panelColumns: panelColumns)
        moments = SharedBuffer(repeating: 0, count: 2 * workers)
    }

    func beginPanel(_ columns: Range<Int>) { lists.beginPanel(columns) }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        above.count(strip, worker: worker, moments: moments.base + 2 * worker)
        lists.consume(strip, worker: worker, slot: slot)
    }

    func endPanel() {
        lists.endPanel()
        above.endPanel()
    }

    func finish() -> HardNegatives {
        var section = lists.finish()
        section.rowsAbove = above.rowBeaten.array
        section.columnsAbove = above.totalBeaten.array
        return section
    }
}
