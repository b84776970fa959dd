import CCrossSimKernels

/// Counts of positive and negative cells per similarity bin; each worker counts apart until
/// the panel ends (counts do not depend on order).
final class HistogramReducer: Reducer, @unchecked Sendable {
    let run: ReducerRun
    private var negative: [SharedBuffer<UInt64>] = []
    private var positive: [SharedBuffer<UInt64>] = []
    private var histogram: Histogram

    static func isAsked(by options: EvaluationOptions) -> Bool { options.histogramBins != nil }

    init(run: ReducerRun) {
        self.run = run
        histogram = Histogram(lower: Double(run.histogramRange.lower), upper: Double(run.histogramRange.upper),
                              bins: run.options.histogramBins!)
    }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        let bins = histogram.negative.count
        negative = (0..<workers).map { _ in SharedBuffer(repeating: 0, count: bins) }
        positive = (0..<workers).map { _ in SharedBuffer(repeating: 0, count: bins) }
    }

    func consume(_ strip: Strip, worker: Int, slot: Int) {
        let (negative, positive) = (negative[worker], positive[worker])
        cs_histogram(strip.tile, strip.positiveOf, run.histogramRange.lower, run.histogramRange.upper,
                     Int64(negative.count), negative.base, positive.base)
    }

    func endPanel() {
        for (negative, positive) in zip(negative, positive) {
            for b in 0..<negative.count {
                histogram.negative[b] += negative[b]
                histogram.positive[b] += positive[b]
            }
            negative.base.update(repeating: 0, count: negative.count)
            positive.base.update(repeating: 0, count: positive.count)
        }
    }

    func finish(into state: inout PartialState) {
        state.histogram = histogram
    }
}
