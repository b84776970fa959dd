import Foundation

extension Report {
    /// Reduces a state that covers every x1 row to the report's figures (docs/definitions.md).
    public init(state: PartialState, inputs: Inputs, options: EvaluationOptions, engine: Engine?) {
        precondition(state.rows == 0..<state.x1Rows, "the state must cover all x1 rows")
        let p = state.positives
        let n1 = state.x1Rows, n2 = state.x2Rows
        let withPositive = (0..<n1).filter { p.rowCount[$0] > 0 }

        // The tiles summed negatives only; positives are known in binary64. With A the sum of
        // a query's positive terms and B its negatives', LSE − mean z = (log A − mean z) +
        // log(1 + B/A): the second term keeps its relative accuracy however small the loss.
        infonce = options.temperatures.enumerated().map { t, tau in
            var positives = [LogSumExp](repeating: .empty, count: n1)
            for (j, i) in p.positiveOf.enumerated() {
                positives[Int(i)] = positives[Int(i)] ⊕ LogSumExp(max: p.similarity[j] / tau, sum: 1)
            }
            let rows = withPositive.map { i -> Double in
                let a = positives[i].value
                return (a - p.rowMean[i] / tau) + Self.softplus(state.rowLogSumExp[t][i].value - a)
            }
            let columns = (0..<n2).map { j in Self.softplus(state.columnLogSumExp[t][j].value - p.similarity[j] / tau) }
            return InfoNCE(tau: tau, x1ToX2: Self.mean(rows), x2ToX1: Self.mean(columns))
        }
        dcl = Self.dcl(state: state, options: options)
        // The tiles summed the negatives' terms; the positives' come from their binary64
        // similarities, so a small loss keeps its relative accuracy.
        siglip = options.siglip.enumerated().map { k, term in
            let positives = p.similarity.reduce(0.0) { $0 + Self.softplus(-(term.scale * $1 + term.bias)) }
            return SigLIP(scale: term.scale, bias: term.bias, loss: (state.softplusSums[k] + positives) / Double(n1))
        }

        let ks = options.recallAt
        x1ToX2 = Self.retrieval(
            ranks: withPositive.map { Int(state.rowBeaten[$0]) + 1 }, ks: ks,
            top: state.rowTop.map { top in (top, withPositive, { (query: Int, candidate: Int32) in p.positiveOf[Int(candidate)] == Int32(query) }, { (query: Int) in Int(p.rowCount[query]) }) })
        x2ToX1 = Self.retrieval(
            ranks: state.columnBeaten.map { Int($0) + 1 }, ks: ks,
            top: state.columnTop.map { top in (top, Array(0..<n2), { (query: Int, candidate: Int32) in p.positiveOf[query] == candidate }, { _ in 1 }) })

        let positiveMean = Self.mean(p.similarity)
        let positiveVariance = Self.mean(p.similarity.map { ($0 - positiveMean) * ($0 - positiveMean) })
        let negatives = Double(n1) * Double(n2) - Double(n2)
        var negativeMean: Double?, negativeStd: Double?
        if negatives > 0 {
            let sum = state.similaritySum - p.similarity.reduce(0, +)
            negativeMean = sum / negatives
            let tileMean = state.negativeSimilaritySum / negatives
            negativeStd = max(0, state.squaredSimilaritySum / negatives - tileMean * tileMean).squareRoot()
        }
        diagnostics = Diagnostics(
            positiveMean: positiveMean, positiveStd: positiveVariance.squareRoot(),
            negativeMean: negativeMean, negativeStd: negativeStd,
            alignment: p.alignmentSum / Double(n2),
            chanceX1ToX2: log(Double(n2)), chanceX2ToX1: log(Double(n1)),
            uniformityX1: state.uniformity.flatMap { n1 > 1 ? Uniformity.value($0[0], rows: n1) : nil },
            uniformityX2: state.uniformity.flatMap { n2 > 1 ? Uniformity.value($0[1], rows: n2) : nil })
        let single = [("x1", n1), ("x2", n2)].filter { $0.1 < 2 }.map { "\($0.0) has \($0.1) row" }
        notes = options.uniformity && !single.isEmpty
            ? ["uniformity is left out: it averages over pairs of distinct rows, and " + single.joined(separator: " and ")]
            : []
        histogram = state.histogram
        self.inputs = inputs
        self.engine = engine
    }

    /// log(1 + eˣ) without overflow or cancellation; 0 at −∞ (a query with no negatives).
    static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Ranks (1 = first) → recall@k, mean, median (numpy's), MRR; and with top-k lists the
    /// sentence-transformers metrics: precision, nDCG and MAP at each k ≤ K.
    static func retrieval(
        ranks: [Int], ks: [Int],
        top: (lists: TopKLists, queries: [Int], isRelevant: (Int, Int32) -> Bool, relevantCount: (Int) -> Int)?
    ) -> Retrieval {
        let q = Double(max(ranks.count, 1))
        let sorted = ranks.sorted()
        let median: Double = sorted.isEmpty ? 0
            : sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2])
            : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        var result = Retrieval(
            queries: ranks.count,
            recall: ks.map { k in (k, Double(ranks.lazy.filter { $0 <= k }.count) / q) },
            meanRank: Double(ranks.reduce(0, +)) / q,
            medianRank: median,
            mrr: ranks.reduce(0.0) { $0 + 1 / Double($1) } / q)
        if let top {
            let within = ks.filter { $0 <= top.lists.k }
            var precision = [Double](repeating: 0, count: within.count)
            var ndcg = precision, map = precision
            for query in top.queries {
                let hits = top.lists.indices(of: query).map { top.isRelevant(query, $0) }
                let relevant = top.relevantCount(query)
                for (n, k) in within.enumerated() {
                    var found = 0, dcg = 0.0, precisionSum = 0.0
                    for r in 0..<k where hits[r] {
                        found += 1
                        dcg += 1 / log2(Double(r + 2))
                        precisionSum += Double(found) / Double(r + 1)
                    }
                    let ideal = (0..<min(relevant, k)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
                    precision[n] += Double(found) / Double(k)
                    ndcg[n] += ideal > 0 ? dcg / ideal : 0
                    map[n] += precisionSum / Double(min(k, relevant))
                }
            }
            let count = Double(max(top.queries.count, 1))
            result.precision = zip(within, precision).map { ($0, $1 / count) }
            result.ndcg = zip(within, ndcg).map { ($0, $1 / count) }
            result.map = zip(within, map).map { ($0, $1 / count) }
        }
        return result
    }
}
