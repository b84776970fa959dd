import CCrossSimKernels

/// The consumer of the main pass: per tile it counts ranks and Σs², folds each temperature's
/// log-sum-exp, sums SigLIP terms, and feeds the optional histogram and top-k lists.
/// Row state lives in shared arrays (a row block is done by one worker at a time). Column sums
/// and the scalar sums go into the row block's slot and are folded into the totals in
/// row-block order; counts and best-k lists, whose merge does not depend on order, stay with
/// the worker until the panel ends. So the result depends only on the tile plan.
final class Epilogue: TileConsumer, @unchecked Sendable {
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

    /// The sums of one row block whose value depends on the order they are added in, over
    /// the current panel's columns.
    final class Slot: @unchecked Sendable {
        let columns: [ColumnSums]
        var softplus: [Double]
        /// Σ s and Σ s² over the negative cells.
        var moments = [0.0, 0.0]

        init(columns: Int, folds: [Fold], siglip: Int) {
            self.columns = folds.map { ColumnSums(columns: columns, fold: $0) }
            softplus = [Double](repeating: 0, count: siglip)
        }
    }

    /// Best-k lists of `count` queries with the Float32 floor of each list's last score.
    struct Lists {
        let k: Int
        let scores: SharedBuffer<Double>
        let indices: SharedBuffer<Int32>
        let floor: SharedBuffer<Float>

        init(k: Int, count: Int) {
            self.k = k
            scores = SharedBuffer(repeating: -.infinity, count: k * count)
            indices = SharedBuffer(repeating: .max, count: k * count)
            floor = SharedBuffer(repeating: -.infinity, count: count)
        }

        func reset() {
            scores.base.update(repeating: -.infinity, count: scores.count)
            indices.base.update(repeating: .max, count: indices.count)
            floor.base.update(repeating: -.infinity, count: floor.count)
        }

        var lists: TopKLists { TopKLists(k: k, scores: scores.array, indices: indices.array) }
    }

    /// One worker's column counts and lists over the current panel, and its tile scratch.
    final class Worker: @unchecked Sendable {
        let columnBeaten: SharedBuffer<Int32>
        let top: Lists?
        let maxScratch: SharedBuffer<Float>?
        let sumScratch: SharedBuffer<Double>?
        /// Where column sums of a few rows gather in Float32 before they are widened.
        let columnPart: SharedBuffer<Float>
        let negativeBins: SharedBuffer<UInt64>?
        let positiveBins: SharedBuffer<UInt64>?

        init(columns: Int, topK: Int?, bins: Int?, tileColumns: Int, online: Bool) {
            columnBeaten = SharedBuffer(repeating: 0, count: columns)
            top = topK.map { Lists(k: $0, count: columns) }
            maxScratch = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            sumScratch = online ? SharedBuffer(repeating: 0, count: tileColumns) : nil
            columnPart = SharedBuffer(repeating: 0, count: tileColumns)
            negativeBins = bins.map { SharedBuffer(repeating: 0, count: $0) }
            positiveBins = bins.map { SharedBuffer(repeating: 0, count: $0) }
        }
    }

    /// Exact thresholds of the tie rule with their Float32 bounds (see `cs_thresholds`).
    struct Thresholds {
        let exact: SharedBuffer<Double>
        let lower: SharedBuffer<Float>
        let upper: SharedBuffer<Float>
        let index: SharedBuffer<Int32>

        init(exact: [Double], index: [Int32]) {
            self.exact = SharedBuffer(exact)
            self.index = SharedBuffer(index)
            lower = SharedBuffer(repeating: 0, count: exact.count)
            upper = SharedBuffer(repeating: 0, count: exact.count)
            cs_f32_bounds(self.exact.base, exact.count, lower.base, upper.base)
        }

        func at(_ offset: Int) -> cs_thresholds {
            cs_thresholds(exact: exact.base + offset, lower: lower.base + offset, upper: upper.base + offset,
                          index: index.base + offset)
        }
    }

    let folds: [Fold]
    let siglip: [SigLIPTerm]
    let topK: Int?
    let histogramBins: Int?
    let histogramRange: (lower: Float, upper: Float)
    let tileColumns: Int
    let rows: Range<Int>
    let columns: Int
    let columnThresholds: Thresholds
    let rowThresholds: Thresholds
    let rowMax: [SharedBuffer<Double>?]
    let rowSum: [SharedBuffer<Double>]
    let rowBeaten: SharedBuffer<Int32>
    let rowTop: Lists?

    /// Everything folded so far: per column of x2, and the scalar sums.
    let totalColumns: [ColumnSums]
    let totalBeaten: SharedBuffer<Int32>
    private(set) var totalTop: TopKLists?
    private(set) var softplus: [Double]
    private(set) var moments = [0.0, 0.0]
    private(set) var histogram: Histogram?

    /// Per-panel state, set up by `prepare` for the run's workers and slots.
    private(set) var workers: [Worker] = []
    private(set) var slots: [Slot] = []
    private(set) var panel = 0..<0

    init(rows: Range<Int>, positives: Positives, options: EvaluationOptions, plan: TilePlan,
         histogramRange: (lower: Float, upper: Float)) {
        folds = options.temperatures.map { Fold(tau: $0, similarity: options.similarity) }
        siglip = options.siglip
        topK = options.topK
        histogramBins = options.histogramBins
        tileColumns = plan.tile.cols
        self.rows = rows
        columns = positives.positiveOf.count
        columnThresholds = Thresholds(exact: positives.similarity, index: positives.positiveOf)
        rowThresholds = Thresholds(exact: Array(positives.rowBest[rows]), index: Array(positives.rowBestColumn[rows]))
        rowMax = folds.map { $0.isOnline ? SharedBuffer(repeating: -.infinity, count: rows.count) : nil }
        rowSum = folds.map { _ in SharedBuffer(repeating: 0, count: rows.count) }
        rowBeaten = SharedBuffer(repeating: 0, count: rows.count)
        rowTop = topK.map { Lists(k: $0, count: rows.count) }
        let columns = self.columns
        totalColumns = folds.map { ColumnSums(columns: columns, fold: $0) }
        totalBeaten = SharedBuffer(repeating: 0, count: columns)
        totalTop = topK.map { TopKLists(k: $0, count: columns) }
        softplus = [Double](repeating: 0, count: siglip.count)
        histogram = options.histogramBins.map {
            Histogram(lower: Double(histogramRange.lower), upper: Double(histogramRange.upper), bins: $0)
        }
        self.histogramRange = histogramRange
    }

    // MARK: TileConsumer

    var panelBytesPerColumn: (worker: Int, slot: Int) {
        let list = topK.map { $0 * 12 + 4 } ?? 0
        let sums = folds.reduce(0) { $0 + ($1.isOnline ? 16 : 8) }
        return (4 + list, sums)
    }

    func prepare(workers count: Int, slots slotCount: Int, panelColumns: Int) {
        let online = folds.contains { $0.isOnline }
        if workers.count != count || (workers.first?.columnBeaten.count ?? -1) != panelColumns {
            workers = (0..<count).map { _ in
                Worker(columns: panelColumns, topK: topK, bins: histogramBins, tileColumns: tileColumns, online: online)
            }
        }
        if slots.count != slotCount || (slots.first?.columns.first?.sum.count ?? -1) != panelColumns {
            let (folds, siglipCount) = (folds, siglip.count)
            slots = (0..<slotCount).map { _ in Slot(columns: panelColumns, folds: folds, siglip: siglipCount) }
        }
    }

    func beginPanel(_ columns: Range<Int>) {
        panel = columns
        // A candidate that cannot beat a column's list so far cannot make its final list.
        guard let total = totalTop else { return }
        for w in workers {
            for (local, j) in columns.enumerated() {
                w.top!.floor[local] = Float(lowerBoundOf: total.scores[j * total.k + total.k - 1])
            }
        }
    }

    /// Rows of a tile that each pass covers before the next pass starts: 64 rows of 2048
    /// columns (512 KiB) stay in L2, so only the first pass reads a strip from memory.
    static let stripBytes = 512 << 10

    func consume(_ tile: cs_tile, worker index: Int, slot: Int) {
        // An even count keeps cs_count_ranks' row pairs whole.
        let strip = max(2, Self.stripBytes / (4 * Int(max(tile.cols, 1))) & ~1)
        for first in stride(from: 0, to: Int(tile.rows), by: strip) {
            var part = tile
            part.data = tile.data + first * Int(tile.ld)
            part.a = tile.a + first * Int(tile.dim)
            part.a_norms = tile.a_norms + first
            part.rows = min(Int64(strip), tile.rows - Int64(first))
            part.row0 = tile.row0 + Int64(first)
            consumeStrip(part, worker: workers[index], slot: slots[slot])
        }
    }

    func consumeStrip(_ tile: cs_tile, worker w: Worker, slot: Slot) {
        let r = Int(tile.row0) - rows.lowerBound
        let c = Int(tile.col0), local = Int(tile.col0) - panel.lowerBound
        cs_count_ranks(tile, rowThresholds.at(r), columnThresholds.at(c), rowBeaten.base + r,
                       w.columnBeaten.base + local, &slot.moments)
        let owners = holdsPositives(tile) ? UnsafePointer(columnThresholds.index.base + c) : nil
        for (t, fold) in folds.enumerated() {
            let sums = slot.columns[t]
            switch fold {
            case .fixedShift(let scale):
                cs_lse_fixed_shift(tile, owners, Float(scale), rowSum[t].base + r, sums.sum.base + local, w.columnPart.base)
            case .online(let scale):
                cs_lse_online(tile, owners, scale, rowMax[t]!.base + r, rowSum[t].base + r,
                              sums.max!.base + local, sums.sum.base + local,
                              w.maxScratch!.base, w.sumScratch!.base, w.columnPart.base)
            }
        }
        for (k, term) in siglip.enumerated() {
            slot.softplus[k] += cs_softplus_sum(tile, owners, Float(term.scale), Float(term.bias))
        }
        if let negative = w.negativeBins, let positive = w.positiveBins {
            cs_histogram(tile, columnThresholds.index.base + c, histogramRange.lower, histogramRange.upper,
                         Int64(negative.count), negative.base, positive.base)
        }
        if let rowTop, let top = w.top {
            let k = rowTop.k
            cs_topk_rows(tile, Int64(k), rowTop.scores.base + r * k, rowTop.indices.base + r * k)
            cs_topk_cols(tile, Int64(k), top.scores.base + local * k, top.indices.base + local * k, top.floor.base + local)
        }
    }

    func fold(slot index: Int) {
        let slot = slots[index]
        let width = panel.count
        for (t, fold) in folds.enumerated() {
            let (from, to) = (slot.columns[t], totalColumns[t])
            switch fold {
            case .fixedShift:
                // Every sum shares the shift 1/τ.
                for local in 0..<width { to.sum[panel.lowerBound + local] += from.sum[local] }
            case .online:
                for local in 0..<width {
                    let j = panel.lowerBound + local
                    let merged = LogSumExp(max: to.max![j], sum: to.sum[j]) ⊕ LogSumExp(max: from.max![local], sum: from.sum[local])
                    (to.max![j], to.sum[j]) = (merged.max, merged.sum)
                }
                from.max!.base.update(repeating: -.infinity, count: width)
            }
            from.sum.base.update(repeating: 0, count: width)
        }
        for k in siglip.indices { softplus[k] += slot.softplus[k] }
        moments = zip(moments, slot.moments).map { $0 + $1 }
        slot.softplus = slot.softplus.map { _ in 0 }
        slot.moments = [0, 0]
    }

    func endPanel() {
        for w in workers {
            for local in 0..<panel.count {
                totalBeaten[panel.lowerBound + local] += w.columnBeaten[local]
            }
            w.columnBeaten.base.update(repeating: 0, count: panel.count)
            if let top = w.top {
                totalTop!.merge(top.lists.slice(0..<panel.count), into: panel)
                top.reset()
            }
            if let negative = w.negativeBins, let positive = w.positiveBins {
                for b in 0..<negative.count {
                    histogram!.negative[b] += negative[b]
                    histogram!.positive[b] += positive[b]
                }
                negative.base.update(repeating: 0, count: negative.count)
                positive.base.update(repeating: 0, count: positive.count)
            }
        }
    }

    /// Whether a positive pair falls in the tile: most tiles hold none, and their kernels skip
    /// the positive mask.
    func holdsPositives(_ tile: cs_tile) -> Bool {
        let rows = Int32(tile.row0)..<Int32(tile.row0 + tile.rows)
        return (Int(tile.col0)..<Int(tile.col0 + tile.cols)).contains { rows.contains(columnThresholds.index[$0]) }
    }

    /// The part's state: rows as they are, and the folded column sums, counts and lists.
    func state(positives: Positives, similaritySum: Double) -> PartialState {
        func logSumExp(_ max: SharedBuffer<Double>?, _ sum: SharedBuffer<Double>, _ fold: Fold) -> [LogSumExp] {
            switch fold {
            case .fixedShift(let scale):
                // The shift is the bound s ≤ 1; a lane that saw no cell keeps an empty state.
                return (0..<sum.count).map { sum[$0] > 0 ? LogSumExp(max: scale, sum: sum[$0]) : .empty }
            case .online:
                return (0..<sum.count).map { LogSumExp(max: max![$0], sum: sum[$0]) }
            }
        }
        return PartialState(
            x1Rows: positives.rowCount.count, x2Rows: columns, rows: rows, positives: positives,
            rowLogSumExp: folds.indices.map { logSumExp(rowMax[$0], rowSum[$0], folds[$0]) },
            rowBeaten: rowBeaten.array,
            rowTop: rowTop?.lists,
            columnLogSumExp: folds.indices.map { logSumExp(totalColumns[$0].max, totalColumns[$0].sum, folds[$0]) },
            columnBeaten: totalBeaten.array, columnTop: totalTop,
            softplusSums: softplus, similaritySum: similaritySum, negativeSimilaritySum: moments[0],
            squaredSimilaritySum: moments[1],
            histogram: histogram, uniformity: nil)
    }
}

extension Float {
    /// The largest Float32 no greater than `value`.
    init(lowerBoundOf value: Double) {
        let rounded = Float(value)
        self = Double(rounded) > value ? rounded.nextDown : rounded
    }
}
