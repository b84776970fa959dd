import CCrossSimKernels

/// Each temperature's log-sum-exp over the negatives, per x1 row and per x2 column. Row state
/// is final per row; column sums go into the row block's slot and fold in row-block order.
final class InfoNCEReducer: Reducer, @unchecked Sendable {
    /// How one temperature's log-sum-exp is folded.
    enum Fold {
        /// Cosine with moderate τ: one exp per element, shifted by the bound 1/τ.
        case fixedShift(scale: Double)
        /// Anything else: running maxima, two exps per element.
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
        /// The fused temperatures' row and column sums for the worker's current tile.
        let fusedRowSums: SharedBuffer<UnsafeMutablePointer<Double>?>
        let fusedColumnSums: SharedBuffer<UnsafeMutablePointer<Double>?>

        init(tileColumns: Int, online: Bool, fused: Int) {
            max = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            sum = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            columnPart = SharedBuffer(repeating: 0, count: tileColumns)
            fusedRowSums = SharedBuffer(repeating: nil, count: fused)
            fusedColumnSums = SharedBuffer(repeating: nil, count: fused)
        }
    }

    let run: ReducerRun
    let folds: [Fold]
    /// The temperatures that take the one-exp fold, the first CS_FUSED_LSE_MAX of them, and the
    /// first that takes the online fold, which `--gemm own` fuses into its micro-kernel
    /// (cs_gemm_abt_fused).
    let fused: [Int]
    let fusedOnline: Int?
    let fusedScales: SharedBuffer<Float>
    let rowMax: [SharedBuffer<Double>?]
    let rowSum: [SharedBuffer<Double>]
    /// Everything folded so far, per column of x2.
    let totalColumns: [ColumnSums]
    private var scratch: [Scratch] = []
    /// Per slot, per temperature: the current panel's column sums.
    private var slots: [[ColumnSums]] = []

    init(run: ReducerRun) {
        self.run = run
        let folds = run.options.temperatures.map { Fold(tau: $0, similarity: run.options.similarity) }
        self.folds = folds
        fused = Array(folds.indices.filter { !folds[$0].isOnline }.prefix(Int(CS_FUSED_LSE_MAX)))
        fusedOnline = folds.firstIndex { $0.isOnline }
        fusedScales = SharedBuffer(repeating: 0, count: fused.count)
        for (k, t) in fused.enumerated() { if case .fixedShift(let scale) = folds[t] { fusedScales[k] = Float(scale) } }
        rowMax = folds.map { $0.isOnline ? SharedBuffer(repeating: -.infinity, count: run.rows.count) : nil }
        rowSum = folds.map { _ in SharedBuffer(repeating: 0, count: run.rows.count) }
        totalColumns = folds.map { ColumnSums(columns: run.columns, fold: $0) }
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) { (0, folds.reduce(0) { $0 + ($1.isOnline ? 16 : 8) }) }

    func prepare(workers: Int, slots count: Int, panelColumns: Int) {
        let (online, tileColumns, folds) = (folds.contains { $0.isOnline }, run.tileColumns, folds)
        scratch = (0..<workers).map { [fused] _ in Scratch(tileColumns: tileColumns, online: online, fused: fused.count) }
        slots = (0..<count).map { _ in folds.map { ColumnSums(columns: panelColumns, fold: $0) } }
    }

    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare {
        let w = scratch[worker]
        for (k, t) in fused.enumerated() {
            w.fusedRowSums[k] = rowSum[t].base + tile.row
            w.fusedColumnSums[k] = slots[slot][t].sum.base + tile.local
        }
        epilogue.lse_count = Int64(fused.count)
        epilogue.scales = UnsafePointer(fusedScales.base)
        epilogue.row_sums = UnsafePointer(w.fusedRowSums.base)
        epilogue.col_sums = UnsafePointer(w.fusedColumnSums.base)
        if let t = fusedOnline, case .online(let scale) = folds[t] {
            // The scratch of cs_lse_online serves the micro-kernel's column maxima and sums.
            let sums = slots[slot][t]
            epilogue.online = cs_online_lse(scale: scale, row_max: rowMax[t]!.base + tile.row, row_sum: rowSum[t].base + tile.row,
                                            col_max: sums.max!.base + tile.local, col_sum: sums.sum.base + tile.local,
                                            col_top: w.max!.base, col_part: w.sum!.base)
        }
        let count = fused.count + (fusedOnline == nil ? 0 : 1)
        return count == 0 ? .none : count == folds.count ? .whole : .part
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        let (tile, r, local, w) = (strip.tile, strip.row, strip.local, scratch[worker])
        for (t, fold) in folds.enumerated() where !(strip.fused && (fused.contains(t) || t == fusedOnline)) {
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

    func finish() -> NegativeLogSumExps {
        func logSumExp(_ max: SharedBuffer<Double>?, _ sum: SharedBuffer<Double>, _ fold: Fold) -> [LogSumExp] {
            switch fold {
            case .fixedShift(let scale):
                // The shift is the bound s ≤ 1; a lane that saw no cell keeps an empty state.
                return (0..<sum.count).map { sum[$0] > 0 ? LogSumExp(max: scale, sum: sum[$0]) : .empty }
            case .online:
                return (0..<sum.count).map { LogSumExp(max: max![$0], sum: sum[$0]) }
            }
        }
        return NegativeLogSumExps(rows: folds.indices.map { logSumExp(rowMax[$0], rowSum[$0], folds[$0]) },
                                  columns: folds.indices.map { logSumExp(totalColumns[$0].max, totalColumns[$0].sum, folds[$0]) })
    }
}

/// InfoNCE's state: per temperature, log Σ e^{s/τ} over each query's negatives.
public struct NegativeLogSumExps: StateSection {
    /// Per temperature, per x1 row of the part.
    public var rows: [[LogSumExp]]
    /// Per temperature, per x2 column, over the part's rows.
    public var columns: [[LogSumExp]]

    public static let name = "infonce"
    /// Losses need labels: none under `--queries-only`.
    public static func isAsked(by options: EvaluationOptions) -> Bool { !options.temperatures.isEmpty && !options.queriesOnly }

    public mutating func append(_ next: NegativeLogSumExps) {
        for t in rows.indices {
            rows[t] += next.rows[t]
            columns[t] = zip(columns[t], next.columns[t]).map { $0 ⊕ $1 }
        }
    }

    public static func encodedBytes(_ shape: StateShape) -> Double {
        Double(16 * shape.options.temperatures.count) * Double(shape.rows.count + shape.x2Rows)
    }

    public func encode(into writer: inout BinaryWriter) {
        for t in rows.indices {
            for lse in [rows[t], columns[t]] {
                writer.append(lse.map(\.max))
                writer.append(lse.map(\.sum))
            }
        }
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> NegativeLogSumExps {
        func lse(_ count: Int) throws -> [LogSumExp] {
            let m = try reader.array(Double.self, count: count, what: "log-sum-exp maxima")
            let s = try reader.array(Double.self, count: count, what: "log-sum-exp sums")
            return zip(m, s).map { LogSumExp(max: $0, sum: $1) }
        }
        var section = NegativeLogSumExps(rows: [], columns: [])
        for _ in shape.options.temperatures {
            section.rows.append(try lse(shape.rows.count))
            section.columns.append(try lse(shape.x2Rows))
        }
        return section
    }

    /// Each query's InfoNCE term at temperature number `t`, NaN for an x1 row without a
    /// positive. The tiles summed negatives only; positives are known in binary64. With A the
    /// sum of a query's positive terms and B its negatives', LSE − mean z = (log A − mean z) +
    /// log(1 + B/A): the second term keeps its relative accuracy however small the loss.
    public func queryLosses(_ t: Int, tau: Double, positives p: Positives) -> (x1ToX2: [Double], x2ToX1: [Double]) {
        var positive = [LogSumExp](repeating: .empty, count: p.rowCount.count)
        for (j, i) in p.positiveOf.enumerated() {
            positive[Int(i)] = positive[Int(i)] ⊕ LogSumExp(max: p.similarity[j] / tau, sum: 1)
        }
        let x1ToX2 = positive.indices.map { i -> Double in
            guard p.rowCount[i] > 0 else { return .nan }
            let a = positive[i].value
            return (a - p.rowMean[i] / tau) + Report.softplus(rows[t][i].value - a)
        }
        let x2ToX1 = p.similarity.indices.map { j in Report.softplus(columns[t][j].value - p.similarity[j] / tau) }
        return (x1ToX2, x2ToX1)
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        report.infonce = options.temperatures.enumerated().map { t, tau in
            let (x1ToX2, x2ToX1) = queryLosses(t, tau: tau, positives: state.positives)
            return Report.InfoNCE(tau: tau, x1ToX2: Report.mean(state.positives.rowsWithPositive.map { x1ToX2[$0] }), x2ToX1: Report.mean(x2ToX1))
        }
        report.dcl = Report.dcl(self, positives: state.positives, options: options)
    }
}
