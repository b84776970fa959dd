extension Evaluation {
    /// An evaluation of x1 rows `keep` read from files: x2 whole, and x1 streamed past it once
    /// for the positives, leaving only those rows behind. Returns it with what identifies the
    /// inputs read.
    static func reading(set1: ShardSet, set2: ShardSet, pairs: Pairs, keep: Range<Int>, options: EvaluationOptions,
                        plan: TilePlan) throws -> (evaluation: Evaluation, identity: InputIdentity) {
        let reader2 = SetReader(set: set2, similarity: options.similarity, fingerprints: true)
        let x2 = Embeddings(rows: set2.rows, dim: set2.dim)
        try reader2.read(0..<set2.rows, into: (x2, 0))
        let pass = PositivePass(set1: set1, pairs: pairs, similarity: options.similarity, keep: keep)
        try pass.add(x2, columns: 0..<set2.rows)
        let range = try InputCheck.similarityRange(maxSquaredNorms: (pass.largestSquaredNorm, reader2.largestSquaredNorm),
                                                   options: options)
        let evaluation = Evaluation(x1: pass.kept, rows: keep, x2: x2, pairs: pairs, positives: pass.positives(),
                                    histogramRange: range, options: options, plan: plan)
        return (evaluation, InputIdentity(x1: pass.fingerprints!, x2: reader2.fingerprints!, pairs: pairs))
    }
}
