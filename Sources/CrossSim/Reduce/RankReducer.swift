import CCrossSimKernels

/// Per query, the negatives that beat its threshold by the tie rule (docs/definitions.md),
/// counted by `cs_count_ranks`. Row counts are final per row (a row block is one worker's at a
/// time); column counts stay with the worker until the panel ends, as their sum does not
/// depend on order.
final class BeatenCounts: @unchecked Sendable {
    let run: ReducerRun
    let rowThresholds: ReducerRun.Thresholds
    let columnThresholds: ReducerRun.Thresholds
    let rowBeaten: SharedBuffer<Int32>
    let totalBeaten: SharedBuffer<Int32>
    private var columnBeaten: [SharedBuffer<Int32>] = []

    init(run: ReducerRun, rows: ReducerRun.Thresholds, columns: ReducerRun.Thresholds) {
        self.run = run
        rowThresholds = rows
        columnThresholds = columns
        rowBeaten = SharedBuffer(repeating: 0, count: run.rows.count)
        totalBeaten = SharedBuffer(repeating: 0, count: run.columns)
    }

    func prepare(workers: Int, panelColumns: Int) {
        columnBeaten = (0..<workers).map { _ in SharedBuffer(repeating: 0, count: panelColumns) }
    }

    /// Counts the strip's cells, adding Σ s and Σ s² over its negatives to `moments`.
    func count(_ strip: Strip, worker: Int, moments: UnsafeMutablePointer<Double>) {
        cs_count_ranks(strip.tile, rowThresholds.at(strip.row), columnThresholds.at(Int(strip.tile.col0)),
                       rowBeaten.base + strip.row, columnBeaten[worker].base + strip.local, moments)
    }

    /// Sets the epilogue's rank counts to this tile's place in the arrays `count` adds to.
    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, moments: UnsafeMutablePointer<Double>) {
        epilogue.rows = rowThresholds.at(tile.row)
        epilogue.cols = columnThresholds.at(Int(tile.tile.col0))
        epilogue.row_beaten = rowBeaten.base + tile.row
        epilogue.col_beaten = columnBeaten[worker].base + tile.local
        epilogue.moments = moments
    }

    func endPanel() {
        let panel = run.panel
        for counts in columnBeaten {
            for local in 0..<panel.count { totalBeaten[panel.lowerBound + local] += counts[local] }
            counts.base.update(repeating: 0, count: panel.count)
        }
    }
}

/// Ranks: the negatives that beat each query's best positive, with the negatives' Σ s and Σ s²,
/// which the same kernel pass sums (into the row block's slot).
final class RankReducer: Reducer, @unchecked Sendable {
    let counts: BeatenCounts
    /// Per slot: Σ s and Σ s² over the negative cells.
    private var slotMoments = SharedBuffer<Double>(repeating: 0, count: 0)
    private var moments = [0.0, 0.0]

    init(run: ReducerRun) {
        counts = BeatenCounts(run: run, rows: run.rowThresholds, columns: run.columnThresholds)
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (4, 0) }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        counts.prepare(workers: workers, panelColumns: panelColumns)
        slotMoments = SharedBuffer(repeating: 0, count: 2 * slots)
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        guard !strip.fused else { return }
        counts.count(strip, worker: worker, moments: slotMoments.base + 2 * slot)
    }

    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare {
        counts.fuse(into: &epilogue, tile: tile, worker: worker, moments: slotMoments.base + 2 * slot)
        return .whole
    }

    func fold(slot: Int) {
        for m in 0..<2 {
            moments[m] += slotMoments[2 * slot + m]
            slotMoments[2 * slot + m] = 0
        }
    }

    func endPanel() { counts.endPanel() }

    func finish() -> RankCounts {
        RankCounts(rowBeaten: counts.rowBeaten.array, columnBeaten: counts.totalBeaten.array,
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
    /// Ranks need labels: every run but `--queries-only` counts them.
    public static func isAsked(by options: EvaluationOptions) -> Bool { !options.queriesOnly }

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
