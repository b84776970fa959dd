import CCrossSimKernels

/// Ranks under the tie rule (docs/definitions.md) with the negatives' Σ s and Σ s², which the
/// same kernel pass sums. Row counts are final per row (a row block is one worker's at a
/// time); column counts stay with the worker until the panel ends, as their sum does not
/// depend on order; the moments go into the row block's slot.
final class RankReducer: Reducer, @unchecked Sendable {
    let run: ReducerRun
    let rowBeaten: SharedBuffer<Int32>
    let totalBeaten: SharedBuffer<Int32>
    private var columnBeaten: [SharedBuffer<Int32>] = []
    /// Per slot: Σ s and Σ s² over the negative cells.
    private var slotMoments = SharedBuffer<Double>(repeating: 0, count: 0)
    private var moments = [0.0, 0.0]

    static func isAsked(by options: EvaluationOptions) -> Bool { true }

    init(run: ReducerRun) {
        self.run = run
        rowBeaten = SharedBuffer(repeating: 0, count: run.rows.count)
        totalBeaten = SharedBuffer(repeating: 0, count: run.columns)
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (4, 0) }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        columnBeaten = (0..<workers).map { _ in SharedBuffer(repeating: 0, count: panelColumns) }
        slotMoments = SharedBuffer(repeating: 0, count: 2 * slots)
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        cs_count_ranks(strip.tile, run.rowThresholds.at(strip.row), run.columnThresholds.at(Int(strip.tile.col0)),
                       rowBeaten.base + strip.row, columnBeaten[worker].base + strip.local, slotMoments.base + 2 * slot)
    }

    func fold(slot: Int) {
        for m in 0..<2 {
            moments[m] += slotMoments[2 * slot + m]
            slotMoments[2 * slot + m] = 0
        }
    }

    func endPanel() {
        let panel = run.panel
        for counts in columnBeaten {
            for local in 0..<panel.count { totalBeaten[panel.lowerBound + local] += counts[local] }
            counts.base.update(repeating: 0, count: panel.count)
        }
    }

    func finish() -> RankCounts {
        RankCounts(rowBeaten: rowBeaten.array, columnBeaten: totalBeaten.array,
                   negativeSimilaritySum: moments[0], squaredSimilaritySum: moments[1])
    }
}

/// Ranks' state: per query, the negatives that outrank its best positive (the tie rule of
/// docs/definitions.md), and the negatives' Σ s and Σ s².
public struct RankCounts: StateSection {
    /// Per x1 row of the part.
    public var rowBeaten: [Int32]
    /// Per x2 column, over the part's rows.
    public var columnBeaten: [Int32]
    /// Σ s and Σ s² over the negative cells, as the tiles hold them: the negatives' spread is
    /// taken from these alone, so that a rounding error every cell shares (a collapsed set)
    /// shows no spread.
    public var negativeSimilaritySum: Double
    public var squaredSimilaritySum: Double

    public static let name = "ranks"
    public static func isAsked(by options: EvaluationOptions) -> Bool { true }

    public mutating func append(_ next: RankCounts) {
        rowBeaten += next.rowBeaten
        columnBeaten = zip(columnBeaten, next.columnBeaten).map { $0 + $1 }
        negativeSimilaritySum += next.negativeSimilaritySum
        squaredSimilaritySum += next.squaredSimilaritySum
    }

    public static func encodedBytes(_ shape: StateShape) -> Double { Double(4 * (shape.rows.count + shape.x2Rows) + 16) }

    public func encode(into writer: inout BinaryWriter) {
        writer.append(rowBeaten)
        writer.append(columnBeaten)
        writer.append(negativeSimilaritySum)
        writer.append(squaredSimilaritySum)
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> RankCounts {
        let counts = RankCounts(rowBeaten: try reader.array(Int32.self, count: shape.rows.count, what: "row ranks"),
                                columnBeaten: try reader.array(Int32.self, count: shape.x2Rows, what: "column ranks"),
                                negativeSimilaritySum: try reader.scalar(Double.self, what: "sums"),
                                squaredSimilaritySum: try reader.scalar(Double.self, what: "sums"))
        // Ranks count negatives: a row has at most N2, a column at most the part's rows.
        guard counts.rowBeaten.allSatisfy({ 0 <= $0 && Int($0) <= shape.x2Rows }),
              counts.columnBeaten.allSatisfy({ 0 <= $0 && Int($0) <= shape.rows.count })
        else { throw SectionError("ranks out of range") }
        return counts
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        let p = state.positives
        report.x1ToX2 = Report.retrieval(ranks: p.rowsWithPositive.map { Int(rowBeaten[$0]) + 1 }, ks: options.recallAt)
        report.x2ToX1 = Report.retrieval(ranks: columnBeaten.map { Int($0) + 1 }, ks: options.recallAt)
        let negatives = Double(state.x1Rows) * Double(state.x2Rows) - Double(p.similarity.count)
        if negatives > 0 {
            let mean = negativeSimilaritySum / negatives
            report.diagnostics.negativeStd = max(0, squaredSimilaritySum / negatives - mean * mean).squareRoot()
        }
    }
}
