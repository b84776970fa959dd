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

    func finish(into state: inout PartialState) {
        state.rowBeaten = rowBeaten.array
        state.columnBeaten = totalBeaten.array
        state.negativeSimilaritySum = moments[0]
        state.squaredSimilaritySum = moments[1]
    }
}
