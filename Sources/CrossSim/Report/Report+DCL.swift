import Foundation

extension Report {
    /// The decoupled contrastive loss at each τ (docs/definitions.md) from InfoNCE's state:
    /// its log-sum-exps are over the negatives only, so a query's loss is LSE_neg − mean z_pos.
    /// A query without a negative has no loss and is left out.
    static func dcl(_ negatives: NegativeLogSumExps, positives p: Positives, options: EvaluationOptions) -> [InfoNCE] {
        func mean(_ losses: [(lse: LogSumExp, positive: Double)]) -> Double {
            Self.mean(losses.filter { $0.lse.value > -.infinity }.map { $0.lse.value - $0.positive })
        }
        return options.temperatures.enumerated().map { t, tau in
            let rows = p.rowsWithPositive.map { (negatives.rows[t][$0], p.rowMean[$0] / tau) }
            let columns = p.similarity.indices.map { (negatives.columns[t][$0], p.similarity[$0] / tau) }
            return InfoNCE(tau: tau, x1ToX2: mean(rows), x2ToX1: mean(columns))
        }
    }
}
