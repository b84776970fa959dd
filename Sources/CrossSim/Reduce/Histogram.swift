/// Exact counts of similarities in equal bins over [lower, upper], positives and negatives
/// apart (values outside fall into the end bins).
public struct Histogram: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var positive: [UInt64]
    public var negative: [UInt64]

    public init(lower: Double, upper: Double, bins: Int) {
        self.lower = lower
        self.upper = upper
        positive = [UInt64](repeating: 0, count: bins)
        negative = [UInt64](repeating: 0, count: bins)
    }

    public var bins: Int { positive.count }

    public static func + (a: Histogram, b: Histogram) -> Histogram {
        precondition(a.lower == b.lower && a.upper == b.upper && a.bins == b.bins)
        var out = a
        for i in 0..<a.bins {
            out.positive[i] += b.positive[i]
            out.negative[i] += b.negative[i]
        }
        return out
    }
}
