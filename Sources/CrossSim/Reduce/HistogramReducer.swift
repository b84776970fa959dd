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

    func finish() -> Histogram { histogram }
}

/// The histogram is its own state: counts add, over the same bins.
extension Histogram: StateSection {
    public static let name = "histogram"
    public static func isAsked(by options: EvaluationOptions) -> Bool { options.histogramBins != nil }

    public func mergeConflict(with other: Histogram) -> String? {
        lower == other.lower && upper == other.upper && bins == other.bins ? nil : "the similarity histograms' ranges differ"
    }

    public mutating func append(_ next: Histogram) { self = self + next }

    public static func encodedBytes(_ shape: StateShape) -> Double { Double(16 + 16 * (shape.options.histogramBins ?? 0)) }

    public func encode(into writer: inout BinaryWriter) {
        writer.append(lower)
        writer.append(upper)
        writer.append(positive)
        writer.append(negative)
    }

    public static func decode(from reader: BinaryReader, shape: StateShape) throws -> Histogram {
        let lower = try reader.scalar(Double.self, what: "histogram range"), upper = try reader.scalar(Double.self, what: "histogram range")
        guard lower.isFinite, upper.isFinite, lower < upper else { throw SectionError("histogram range out of order") }
        var h = Histogram(lower: lower, upper: upper, bins: shape.options.histogramBins ?? 0)
        h.positive = try reader.array(UInt64.self, count: h.bins, what: "histogram")
        h.negative = try reader.array(UInt64.self, count: h.bins, what: "histogram")
        // At most N2 positive and rows·N2 negative cells: merged counts cannot overflow.
        func total(_ counts: [UInt64]) -> UInt64? {
            counts.reduce(UInt64(0) as UInt64?) { sum, c in
                sum.flatMap { let (t, o) = $0.addingReportingOverflow(c); return o ? nil : t }
            }
        }
        guard let positive = total(h.positive), positive <= UInt64(shape.x2Rows),
              let negative = total(h.negative), negative <= UInt64(shape.rows.count) * UInt64(shape.x2Rows)
        else { throw SectionError("histogram out of range") }
        return h
    }

    public func report(into report: inout Report, state: PartialState, options: EvaluationOptions) {
        report.histogram = self
    }
}
