import Foundation

/// log Σ exp(zᵢ) kept as (max, Σ exp(zᵢ − max)) so that it merges without overflow:
/// (m₁, s₁) ⊕ (m₂, s₂) = (m, s₁·e^{m₁−m} + s₂·e^{m₂−m}) with m = max(m₁, m₂).
public struct LogSumExp: Sendable, Equatable {
    public var max: Double
    public var sum: Double

    public static let empty = LogSumExp(max: -.infinity, sum: 0)

    public init(max: Double, sum: Double) {
        self.max = max
        self.sum = sum
    }

    public var value: Double { max + log(sum) }

    public static func ⊕ (a: LogSumExp, b: LogSumExp) -> LogSumExp {
        if b.max == -.infinity { return a }
        if a.max == -.infinity { return b }
        return a.max >= b.max
            ? LogSumExp(max: a.max, sum: a.sum + b.sum * exp(b.max - a.max))
            : LogSumExp(max: b.max, sum: a.sum * exp(a.max - b.max) + b.sum)
    }
}

infix operator ⊕: AdditionPrecedence
