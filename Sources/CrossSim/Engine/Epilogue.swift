import CCrossSimKernels

/// The consumer of the main pass: per tile it counts ranks, folds each temperature's
/// log-sum-exp, sums SigLIP terms and Σs², and feeds the optional histogram and top-k lists.
/// Row state lives in shared arrays (a row block is done by one worker). Column sums and the
/// scalar sums go into the row block's slot and are folded into the totals in row-block
/// order; counts and best-k lists, whose merge does not depend on order, stay per worker. So
/// the result depends only on the tile plan.
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
    }

    /// The sums of one row block whose value depends on the order they are added in.
    final class Slot: @unchecked Sendable {
        let columnMax: [SharedBuffer<Double>]
        let columnSum: [SharedBuffer<Double>]
        var softplus: [Double]
        var squares = 0.0

        init(columns: Int, folds: Int, siglip: Int) {
            columnMax = (0..<folds).map { _ in SharedBuffer(repeating: -.infinity, count: columns) }
            columnSum = (0..<folds).map { _ in SharedBuffer(repeating: 0, count: columns) }
            softplus = [Double](repeating: 0, count: siglip)
        }
    }

    /// Column counts and lists of one worker over all of x2, and its scratch.
    final class Worker: @unchecked Sendable {
        let columnBeaten: SharedBuffer<Int32>
        let topScores: SharedBuffer<Float>?
        let topIndices: SharedBuffer<Int32>?
        let maxScratch: SharedBuffer<Float>
        let sumScratch: SharedBuffer<Double>
        /// Where column sums of a few rows gather in Float32 before they are widened.
        let columnPart: SharedBuffer<Float>
        let negativeBins: SharedBuffer<UInt64>?
        let positiveBins: SharedBuffer<UInt64>?

        init(columns: Int, topK: Int?, bins: Int?, tileColumns: Int) {
            columnBeaten = SharedBuffer(repeating: 0, count: columns)
            topScores = topK.map { SharedBuffer(repeating: -.infinity, count: $0 * columns) }
            topIndices = topK.map { SharedBuffer(repeating: .max, count: $0 * columns) }
            maxScratch = SharedBuffer(repeating: 0, count: tileColumns)
            sumScratch = SharedBuffer(repeating: 0, count: tileColumns)
            columnPart = SharedBuffer(repeating: 0, count: tileColumns)
            negativeBins = bins.map { SharedBuffer(repeating: 0, count: $0) }
            positiveBins = bins.map { SharedBuffer(repeating: 0, count: $0) }
        }
    }

    let folds: [Fold]
    let siglip: [SigLIPTerm]
    let topK: Int?
    let histogramRange: (lower: Float, upper: Float)
    let rows: Range<Int>
    let columns: Int
    let positiveOf: SharedBuffer<Int32>
    let positiveSimilarity: SharedBuffer<Float>
    let rowBest: SharedBuffer<Float>
    let rowBestColumn: SharedBuffer<Int32>
    let rowMax: [SharedBuffer<Double>]
    let rowSum: [SharedBuffer<Double>]
    let rowBeaten: SharedBuffer<Int32>
    let rowTopScores: SharedBuffer<Float>?
    let rowTopIndices: SharedBuffer<Int32>?
    let workers: [Worker]
    let slots: [Slot]
    /// The slots' sums folded so far (by `fold`, one call at a time).
    let total: Slot

    init(rows: Range<Int>, positives: Positives, options: EvaluationOptions, plan: TilePlan,
         histogramRange: (lower: Float, upper: Float)) {
        folds = options.temperatures.map { Fold(tau: $0, similarity: options.similarity) }
        siglip = options.siglip
        topK = options.topK
        self.histogramRange = histogramRange
        self.rows = rows
        columns = positives.positiveOf.count
        positiveOf = SharedBuffer(positives.positiveOf)
        positiveSimilarity = SharedBuffer(positives.similarity.map { Float($0) })
        rowBest = SharedBuffer(Array(positives.rowBest[rows]))
        rowBestColumn = SharedBuffer(Array(positives.rowBestColumn[rows]))
        rowMax = folds.map { _ in SharedBuffer(repeating: -.infinity, count: rows.count) }
        rowSum = folds.map { _ in SharedBuffer(repeating: 0, count: rows.count) }
        rowBeaten = SharedBuffer(repeating: 0, count: rows.count)
        rowTopScores = topK.map { SharedBuffer(repeating: -.infinity, count: $0 * rows.count) }
        rowTopIndices = topK.map { SharedBuffer(repeating: .max, count: $0 * rows.count) }
        let columns = self.columns
        workers = (0..<plan.threads).map { _ in
            Worker(columns: columns, topK: options.topK, bins: options.histogramBins, tileColumns: plan.tile.cols)
        }
        let (foldCount, siglipCount) = (folds.count, siglip.count)
        slots = (0..<plan.slots).map { _ in Slot(columns: columns, folds: foldCount, siglip: siglipCount) }
        total = Slot(columns: columns, folds: foldCount, siglip: siglipCount)
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
            part.rows = min(Int64(strip), tile.rows - Int64(first))
            part.row0 = tile.row0 + Int64(first)
            consumeStrip(part, worker: workers[index], slot: slots[slot])
        }
    }

    func consumeStrip(_ tile: cs_tile, worker w: Worker, slot: Slot) {
        let r = Int(tile.row0) - rows.lowerBound
        let c = Int(tile.col0)
        slot.squares += cs_count_ranks(tile, positiveOf.base + c, positiveSimilarity.base + c, rowBest.base + r,
                                    rowBestColumn.base + r, rowBeaten.base + r, w.columnBeaten.base + c)
        let owners = holdsPositives(tile) ? UnsafePointer(positiveOf.base + c) : nil
        for (t, fold) in folds.enumerated() {
            switch fold {
            case .fixedShift(let scale):
                cs_lse_fixed_shift(tile, owners, Float(scale), rowSum[t].base + r, slot.columnSum[t].base + c, w.columnPart.base)
            case .online(let scale):
                cs_lse_online(tile, owners, scale, rowMax[t].base + r, rowSum[t].base + r,
                              slot.columnMax[t].base + c, slot.columnSum[t].base + c,
                              w.maxScratch.base, w.sumScratch.base, w.columnPart.base)
            }
        }
        for (k, term) in siglip.enumerated() {
            slot.softplus[k] += cs_softplus_sum(tile, Float(term.scale), Float(term.bias))
        }
        if let negative = w.negativeBins, let positive = w.positiveBins {
            cs_histogram(tile, positiveOf.base + c, histogramRange.lower, histogramRange.upper,
                         Int64(negative.count), negative.base, positive.base)
        }
        if let k = topK {
            cs_topk_rows(tile, Int64(k), rowTopScores!.base + r * k, rowTopIndices!.base + r * k)
            cs_topk_cols(tile, Int64(k), w.topScores!.base + c * k, w.topIndices!.base + c * k)
        }
    }

    func fold(slot index: Int, columns range: Range<Int>) {
        let slot = slots[index]
        for (t, fold) in folds.enumerated() {
            let (max, sum, totalMax, totalSum) = (slot.columnMax[t], slot.columnSum[t], total.columnMax[t], total.columnSum[t])
            switch fold {
            case .fixedShift:
                // Every sum shares the shift 1/τ.
                for j in range {
                    totalSum[j] += sum[j]
                    sum[j] = 0
                }
            case .online:
                for j in range {
                    let merged = LogSumExp(max: totalMax[j], sum: totalSum[j]) ⊕ LogSumExp(max: max[j], sum: sum[j])
                    (totalMax[j], totalSum[j]) = (merged.max, merged.sum)
                    (max[j], sum[j]) = (-.infinity, 0)
                }
            }
        }
        for k in siglip.indices { total.softplus[k] += slot.softplus[k] }
        total.squares += slot.squares
        slot.softplus = slot.softplus.map { _ in 0 }
        slot.squares = 0
    }

    /// Whether a positive pair falls in the tile: most tiles hold none, and their kernels skip
    /// the positive mask.
    func holdsPositives(_ tile: cs_tile) -> Bool {
        let rows = Int32(tile.row0)..<Int32(tile.row0 + tile.rows)
        return (Int(tile.col0)..<Int(tile.col0 + tile.cols)).contains { rows.contains(positiveOf[$0]) }
    }

    /// The part's state: rows as they are, the folded column sums, and the workers' counts and
    /// lists merged.
    func state(positives: Positives, similaritySum: Double, histogram: Histogram?) -> PartialState {
        func logSumExp(_ max: SharedBuffer<Double>, _ sum: SharedBuffer<Double>, _ fold: Fold) -> [LogSumExp] {
            switch fold {
            case .fixedShift(let scale):
                // The shift is the bound s ≤ 1; a lane that saw no cell keeps an empty state.
                return (0..<sum.count).map { sum[$0] > 0 ? LogSumExp(max: scale, sum: sum[$0]) : .empty }
            case .online:
                return (0..<sum.count).map { LogSumExp(max: max[$0], sum: sum[$0]) }
            }
        }
        var beaten = workers[0].columnBeaten.array
        var columnTop = topK.map { TopKLists(k: $0, scores: workers[0].topScores!.array, indices: workers[0].topIndices!.array) }
        var hist = histogram
        for (n, w) in workers.enumerated() {
            if n > 0 {
                for j in 0..<columns { beaten[j] += w.columnBeaten[j] }
                if let k = topK {
                    columnTop = columnTop!.merged(with: TopKLists(k: k, scores: w.topScores!.array, indices: w.topIndices!.array))
                }
            }
            if let negative = w.negativeBins, let positive = w.positiveBins {
                for b in 0..<negative.count {
                    hist!.negative[b] += negative[b]
                    hist!.positive[b] += positive[b]
                }
            }
        }
        return PartialState(
            x1Rows: positives.rowCount.count, x2Rows: columns, rows: rows, positives: positives,
            rowLogSumExp: folds.indices.map { logSumExp(rowMax[$0], rowSum[$0], folds[$0]) },
            rowBeaten: rowBeaten.array,
            rowTop: topK.map { TopKLists(k: $0, scores: rowTopScores!.array, indices: rowTopIndices!.array) },
            columnLogSumExp: folds.indices.map { logSumExp(total.columnMax[$0], total.columnSum[$0], folds[$0]) },
            columnBeaten: beaten, columnTop: columnTop,
            softplusSums: total.softplus, similaritySum: similaritySum, squaredSimilaritySum: total.squares,
            histogram: hist, uniformity: nil)
    }
}
