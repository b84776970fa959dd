import Foundation

extension Report {
    /// Reduces a state that covers every x1 row to the report's figures (docs/definitions.md):
    /// what the positives and the exact sum give, then each section's figures.
    public init(state: PartialState, inputs: Inputs, options: EvaluationOptions, engine: Engine?) {
        precondition(state.rows == 0..<state.x1Rows, "the state must cover all x1 rows")
        let p = state.positives
        let n1 = state.x1Rows, n2 = state.x2Rows
        let positiveMean = Self.mean(p.similarity)
        let positiveVariance = Self.mean(p.similarity.map { ($0 - positiveMean) * ($0 - positiveMean) })
        let negatives = Double(n1) * Double(n2) - Double(p.similarity.count)
        self.inputs = inputs
        self.engine = engine
        queriesOnlyK = options.queriesOnly ? options.topK : nil
        infonce = []
        dcl = []
        siglip = []
        x1ToX2 = Self.retrieval(ranks: [], ks: [])
        x2ToX1 = x1ToX2
        diagnostics = Diagnostics(
            positiveMean: positiveMean, positiveStd: positiveVariance.squareRoot(),
            negativeMean: negatives > 0 ? (state.similaritySum - p.similarity.reduce(0, +)) / negatives : nil,
            negativeStd: nil,
            alignment: p.alignmentSum / Double(n2),
            chanceX1ToX2: log(Double(n2)), chanceX2ToX1: log(Double(n1)))
        notes = []
        for section in state.orderedSections { section.report(into: &self, state: state, options: options) }
    }

    /// log(1 + eˣ) without overflow or cancellation; 0 at −∞ (a query with no negatives).
    static func softplus(_ x: Double) -> Double {
        x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Ranks (1 = first) → recall@k, mean, median (numpy's), MRR.
    static func retrieval(ranks: [Int], ks: [Int]) -> Retrieval {
        let q = Double(max(ranks.count, 1))
        let sorted = ranks.sorted()
        let median: Double = sorted.isEmpty ? 0
            : sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2])
            : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return Retrieval(
            queries: ranks.count,
            recall: ks.map { k in (k, Double(ranks.lazy.filter { $0 <= k }.count) / q) },
            meanRank: Double(ranks.reduce(0, +)) / q,
            medianRank: median,
            mrr: ranks.reduce(0.0) { $0 + 1 / Double($1) } / q)
    }
}

extension Report.Retrieval {
    /// From top-k lists, the sentence-transformers metrics: precision, nDCG and MAP at each
    /// k ≤ K.
    mutating func addListMetrics(_ lists: TopKLists, ks: [Int], queries: [Int], isRelevant: (Int, Int32) -> Bool,
                                 relevantCount: (Int) -> Int) {
        let within = ks.filter { $0 <= lists.k }
        var precision = [Double](repeating: 0, count: within.count)
        var ndcg = precision, map = precision
        for query in queries {
            let hits = lists.indices(of: query).map { isRelevant(query, $0) }
            let relevant = relevantCount(query)
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
        let count = Double(max(queries.count, 1))
        self.precision = zip(within, precision).map { ($0, $1 / count) }
        self.ndcg = zip(within, ndcg).map { ($0, $1 / count) }
        self.map = zip(within, map).map { ($0, $1 / count) }
    }
}
