import CCrossSimKernels

/// Each temperature's log-sum-exp over the negatives, per x1 row and per x2 column. Row state
/// is final per row; column sums go into the row block's slot and fold in row-block order.
final class InfoNCEReducer: Reducer, @unchecked Sendable {
    /// How one temperature's log-sum-exp is folded.
    enum Fold {
        /// Cosine with moderate τ: one exp per element, shifted by the bound 1/τ.
        case fixedShift(scale: Double)
        /// Anything else: per-tile maxima, two exps per element.
        case online(scale: Double)

        init(tau: Double, similarity: Similarity) {
            let scale = 1 / tau
            // e^{(s−1)/τ} ≥ e^{−2/τ} must stay a normal Float32 with room to spare.
            self = similarity == .cosine && 2 / tau <= 80 ? .fixedShift(scale: scale) : .online(scale: scale)
        }

        var isOnline: Bool { if case .online = self { true } else { false } }
    }

    /// Column log-sum-exp state of one temperature: sums, and maxima for the online fold only.
    struct ColumnSums {
        let max: SharedBuffer<Double>?
        let sum: SharedBuffer<Double>

        init(columns: Int, fold: Fold) {
            max = fold.isOnline ? SharedBuffer(repeating: -.infinity, count: columns) : nil
            sum = SharedBuffer(repeating: 0, count: columns)
        }
    }

    /// One worker's tile scratch.
    struct Scratch {
        let max: SharedBuffer<Float>?
        let sum: SharedBuffer<Double>?
        /// Where column sums of a few rows gather in Float32 before they are widened.
        let columnPart: SharedBuffer<Float>

        init(tileColumns: Int, online: Bool) {
            max = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            sum = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            columnPart = SharedBuffer(repeating: 0, count: tileColumns)
        }
    }

    let run: ReducerRun
    let folds: [Fold]
    let rowMax: [SharedBuffer<Double>?]
    let rowSum: [SharedBuffer<Double>]
    /// Everything folded so far, per column of x2.
    let totalColumns: [ColumnSums]
    private var scratch: [Scratch] = []
    /// Per slot, per temperature: the current panel's column sums.
    private var slots: [[ColumnSums]] = []

    static func isAsked(by options: EvaluationOptions) -> Bool { !options.temperatures.isEmpty }

    init(run: ReducerRun) {
        self.run = run
        let folds = run.options.temperatures.map { Fold(tau: $0, similarity: run.options.similarity) }
        self.folds = folds
        rowMax = folds.map { $0.isOnline ? SharedBuffer(repeating: -.infinity, count: run.rows.count) : nil }
        rowSum = folds.map { _ in SharedBuffer(repeating: 0, count: run.rows.count) }
        totalColumns = folds.map { ColumnSums(columns: run.columns, fold: $0) }
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (0, folds.reduce(0) { $0 + ($1.isOnline ? 16 : 8) }) }

    func prepare(workers: Int, slots count: Int, panelColumns: Int) {
        let (online, tileColumns, folds) = (folds.contains { $0.isOnline }, run.tileColumns, folds)
        scratch = (0..<workers).map { _ in Scratch(tileColumns: tileColumns, online: online) }
        slots = (0..<count).map { _ in folds.map { ColumnSums(columns: panelColumns, fold: $0) } }
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        let (tile, r, local, w) = (strip.tile, strip.row, strip.local, scratch[worker])
        for (t, fold) in folds.enumerated() {
            let sums = slots[slot][t]
            switch fold {
            case .fixedShift(let scale):
                cs_lse_fixed_shift(tile, strip.owners, Float(scale), rowSum[t].base + r, sums.sum.base + local, w.columnPart.base)
            case .online(let scale):
                cs_lse_online(tile, strip.owners, scale, rowMax[t]!.base + r, rowSum[t].base + r,
                              sums.max!.base + local, sums.sum.base + local,
                              w.max!.base, w.sum!.base, w.columnPart.base)
            }
        }
    }

    func fold(slot: Int) {
        let panel = run.panel
        for (t, fold) in folds.enumerated() {
            let (from, to) = (slots[slot][t], totalColumns[t])
            switch fold {
            case .fixedShift:
                // Every sum shares the shift 1/τ.
                for local in 0..<panel.count { to.sum[panel.lowerBound + local] += from.sum[local] }
            case .online:
                for local in 0..<panel.count {
                    let j = panel.lowerBound + local
                    let merged = LogSumExp(max: to.max![j], sum: to.sum[j]) ⊕ LogSumExp(max: from.max![local], sum: from.sum[local])
                    (to.max![j], to.sum[j]) = (merged.max, merged.sum)
                }
                from.max!.base.update(repeating: -.infinity, count: panel.count)
            }
            from.sum.base.update(repeating: 0, count: panel.count)
        }
    }

    func finish(into state: inout PartialState) {
        func logSumExp(_ max: SharedBuffer<Double>?, _ sum: SharedBuffer<Double>, _ fold: Fold) -> [LogSumExp] {
            switch fold {
            case .fixedShift(let scale):
                // The shift is the bound s ≤ 1; a lane that saw no cell keeps an empty state.
                return (0..<sum.count).map { sum[$0] > 0 ? LogSumExp(max: scale, sum: sum[$0]) : .empty }
            case .online:
                return (0..<sum.count).map { LogSumExp(max: max![$0], sum: sum[$0]) }
            }
        }
        state.rowLogSumExp = folds.indices.map { logSumExp(rowMax[$0], rowSum[$0], folds[$0]) }
        state.columnLogSumExp = folds.indices.map { logSumExp(totalColumns[$0].max, totalColumns[$0].sum, folds[$0]) }
    }
}
