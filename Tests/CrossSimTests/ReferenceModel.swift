import CrossSim
import Foundation
import XCTest

/// docs/definitions.md computed the obvious way, in Float64, from the same Float32 inputs the engine gets:
/// rows normalised in Float64 for cosine (used as they are for dot), the full similarity matrix
/// in Double, and every figure straight from its definition. No tiles, no shifts, no tricks
/// beyond a max-shifted log-sum-exp and an accurate softplus.
struct ReferenceModel {
    enum Direction: CaseIterable { case x1ToX2, x2ToX1 }

    struct Retrieval {
        var queries: Int
        /// Per query, in query order (x1→x2: the x1 rows with a positive, ascending).
        var ranks: [Int]
        var recall: [(k: Int, value: Double)]
        var meanRank: Double
        var medianRank: Double
        var mrr: Double
        var precision: [(k: Int, value: Double)]?
        var ndcg: [(k: Int, value: Double)]?
        var map: [(k: Int, value: Double)]?
    }

    struct Diagnostics {
        var positiveMean: Double
        var positiveStd: Double
        var negativeMean: Double?
        var negativeStd: Double?
        var alignment: Double
        var chanceX1ToX2: Double
        var chanceX2ToX1: Double
    }

    let n1: Int
    let n2: Int
    let dim: Int
    let similarity: Similarity
    /// Prepared rows (normalised for cosine), row-major.
    let x1: [Double]
    let x2: [Double]
    /// p(j) for each x2 row.
    let positiveOf: [Int]
    /// P(i) for each x1 row, ascending.
    let positivesOf: [[Int]]
    /// S, n1 × n2, row-major.
    let s: [Double]

    init(x1 a: TestMatrix, x2 b: TestMatrix, positiveOf: [Int]? = nil, similarity: Similarity) {
        precondition(a.dim == b.dim)
        n1 = a.rows
        n2 = b.rows
        dim = a.dim
        self.similarity = similarity
        let p1 = Self.prepare(a, similarity), p2 = Self.prepare(b, similarity)
        x1 = p1
        x2 = p2
        let owners = positiveOf ?? Array(0..<a.rows)
        precondition(owners.count == b.rows)
        self.positiveOf = owners
        var lists = [[Int]](repeating: [], count: a.rows)
        for (j, i) in owners.enumerated() { lists[i].append(j) }
        positivesOf = lists
        let (n1, n2, dim) = (a.rows, b.rows, a.dim)
        var s = [Double](repeating: 0, count: n1 * n2)
        p1.withUnsafeBufferPointer { p in
            p2.withUnsafeBufferPointer { q in
                s.withUnsafeMutableBufferPointer { out in
                    for i in 0..<n1 {
                        for j in 0..<n2 {
                            var total = 0.0
                            for d in 0..<dim { total += p[i * dim + d] * q[j * dim + d] }
                            out[i * n2 + j] = total
                        }
                    }
                }
            }
        }
        self.s = s
    }

    static func prepare(_ m: TestMatrix, _ similarity: Similarity) -> [Double] {
        var out = m.values.map(Double.init)
        guard similarity == .cosine else { return out }
        for i in 0..<m.rows {
            let range = i * m.dim..<(i + 1) * m.dim
            let norm = out[range].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for d in range { out[d] /= norm }
        }
        return out
    }

    func sim(_ i: Int, _ j: Int) -> Double { s[i * n2 + j] }

    // MARK: Queries in either direction

    /// The queries of a direction: x1→x2 only the x1 rows with at least one positive.
    func queries(_ d: Direction) -> [Int] {
        switch d {
        case .x1ToX2: return (0..<n1).filter { !positivesOf[$0].isEmpty }
        case .x2ToX1: return Array(0..<n2)
        }
    }

    func candidates(_ d: Direction) -> Int { d == .x1ToX2 ? n2 : n1 }

    func score(_ d: Direction, query q: Int, candidate c: Int) -> Double {
        d == .x1ToX2 ? sim(q, c) : sim(c, q)
    }

    func positives(_ d: Direction, query q: Int) -> [Int] {
        d == .x1ToX2 ? positivesOf[q] : [positiveOf[q]]
    }

    // MARK: Losses

    static func logSumExp(_ z: [Double]) -> Double {
        let m = z.max()!
        return m + log(z.reduce(0) { $0 + exp($1 - m) })
    }

    static func softplus(_ x: Double) -> Double { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }

    /// InfoNCE at τ: x2→x1 = mean_j [LSE_i z_ij − z_p(j)j]; x1→x2 = mean over rows with a
    /// positive of [LSE_j z_ij − mean_{p∈P(i)} z_ip]; symmetric their mean.
    func infoNCE(tau: Double) -> (x1ToX2: Double, x2ToX1: Double, symmetric: Double) {
        contrastive(tau: tau, negativesOnly: false)
    }

    /// DCL at τ: InfoNCE with only negatives in each log-sum-exp.
    func dcl(tau: Double) -> (x1ToX2: Double, x2ToX1: Double, symmetric: Double) {
        contrastive(tau: tau, negativesOnly: true)
    }

    /// Per direction, the mean over queries of LSE z − mean z_pos; with `negativesOnly`,
    /// queries without a negative are left out.
    func contrastive(tau: Double, negativesOnly: Bool) -> (x1ToX2: Double, x2ToX1: Double, symmetric: Double) {
        func mean(_ d: Direction) -> Double {
            let losses = queries(d).compactMap { q -> Double? in
                let positives = positives(d, query: q)
                let candidates = (0..<candidates(d)).filter { !negativesOnly || !positives.contains($0) }
                guard !candidates.isEmpty else { return nil }
                let positive = positives.reduce(0) { $0 + score(d, query: q, candidate: $1) / tau } / Double(positives.count)
                return Self.logSumExp(candidates.map { score(d, query: q, candidate: $0) / tau }) - positive
            }
            return losses.isEmpty ? 0 : Self.mean(losses)
        }
        let a = mean(.x1ToX2), b = mean(.x2ToX1)
        return (a, b, (a + b) / 2)
    }

    /// SigLIP: (1/N1) Σ_i Σ_j softplus(−y_ij (t·s_ij + b)).
    func sigLIP(scale t: Double, bias b: Double) -> Double {
        var total = 0.0
        for i in 0..<n1 {
            for j in 0..<n2 {
                let y: Double = positiveOf[j] == i ? 1 : -1
                total += Self.softplus(-y * (t * sim(i, j) + b))
            }
        }
        return total / Double(n1)
    }

    // MARK: Ranks and retrieval

    /// The best positive: highest similarity, ties to the lower index.
    func bestPositive(_ d: Direction, query q: Int) -> (index: Int, value: Double) {
        var best = (index: -1, value: -Double.infinity)
        for p in positives(d, query: q).sorted() where best.index < 0 || score(d, query: q, candidate: p) > best.value {
            best = (p, score(d, query: q, candidate: p))
        }
        return best
    }

    /// docs/definitions.md: 1 + #{c ∉ P: s > s*} + #{c ∉ P: s = s*, c < p*}.
    func rank(_ d: Direction, query q: Int) -> Int {
        let positives = Set(positives(d, query: q))
        let best = bestPositive(d, query: q)
        var rank = 1
        for c in 0..<candidates(d) where !positives.contains(c) {
            let v = score(d, query: q, candidate: c)
            if v > best.value || (v == best.value && c < best.index) { rank += 1 }
        }
        return rank
    }

    /// The k best candidates: score descending, then index ascending (a plain insertion into a
    /// list of k, which is the definition with a sort cut short).
    func topK(_ d: Direction, query q: Int, k: Int) -> [(index: Int, score: Double)] {
        var top: [(index: Int, score: Double)] = []
        top.reserveCapacity(k + 1)
        for c in 0..<candidates(d) {
            let v = score(d, query: q, candidate: c)
            // Candidates arrive in increasing index: a tie never moves ahead of an earlier one.
            if top.count == k, let last = top.last, !(v > last.score) { continue }
            var at = top.count
            while at > 0 && v > top[at - 1].score { at -= 1 }
            top.insert((c, v), at: at)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// numpy.median of integers.
    static func median(_ values: [Int]) -> Double {
        let v = values.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? Double(v[v.count / 2]) : Double(v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }

    /// recall@k, mean/median rank, MRR; with `topK` sentence-transformers' precision, nDCG and
    /// MAP at each k ≤ K (binary relevance).
    func retrieval(_ d: Direction, ks: [Int], topK K: Int?) -> Retrieval {
        let qs = queries(d)
        let ranks = qs.map { rank(d, query: $0) }
        let count = Double(qs.count)
        var result = Retrieval(
            queries: qs.count, ranks: ranks,
            recall: ks.map { k in (k, Double(ranks.filter { $0 <= k }.count) / count) },
            meanRank: Double(ranks.reduce(0, +)) / count,
            medianRank: Self.median(ranks),
            mrr: ranks.reduce(0.0) { $0 + 1 / Double($1) } / count)
        guard let K else { return result }
        let within = ks.filter { $0 <= K }
        var precision: [(Int, Double)] = [], ndcg: [(Int, Double)] = [], map: [(Int, Double)] = []
        let tops = qs.map { topK(d, query: $0, k: K) }
        for k in within {
            var p = 0.0, n = 0.0, a = 0.0
            for (q, full) in zip(qs, tops) {
                let relevant = Set(positives(d, query: q))
                let top = full.prefix(k)
                var hits = 0, dcg = 0.0, precisionSum = 0.0
                for (r, entry) in top.enumerated() where relevant.contains(entry.index) {
                    hits += 1
                    dcg += 1 / log2(Double(r + 2))
                    precisionSum += Double(hits) / Double(r + 1)
                }
                let ideal = (0..<min(relevant.count, k)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
                p += Double(hits) / Double(k)
                n += dcg / ideal
                a += precisionSum / Double(min(k, relevant.count))
            }
            precision.append((k, p / count))
            ndcg.append((k, n / count))
            map.append((k, a / count))
        }
        result.precision = precision.map { (k: $0.0, value: $0.1) }
        result.ndcg = ndcg.map { (k: $0.0, value: $0.1) }
        result.map = map.map { (k: $0.0, value: $0.1) }
        return result
    }

    /// The smallest gap, over all queries of both directions, between the best positive's
    /// similarity and any negative's, and between consecutive entries of the K+1 best: when it
    /// exceeds the Float32 error of S (≈1e-7), ranks and top-k lists must match exactly.
    func rankMargin(topK K: Int?) -> Double {
        var margin = Double.infinity
        for d in Direction.allCases {
            for q in queries(d) {
                let positives = Set(positives(d, query: q))
                let best = bestPositive(d, query: q).value
                for c in 0..<candidates(d) where !positives.contains(c) {
                    margin = min(margin, abs(score(d, query: q, candidate: c) - best))
                }
            }
            if let K {
                for q in 0..<(d == .x1ToX2 ? n1 : n2) {
                    let top = topK(d, query: q, k: min(K + 1, candidates(d)))
                    for r in 1..<max(top.count, 1) { margin = min(margin, top[r - 1].score - top[r].score) }
                }
            }
        }
        return margin
    }

    // MARK: Diagnostics

    func diagnostics() -> Diagnostics {
        let positive = (0..<n2).map { sim(positiveOf[$0], $0) }
        let pm = Self.mean(positive)
        let pv = Self.mean(positive.map { ($0 - pm) * ($0 - pm) })
        var negative: [Double] = []
        for i in 0..<n1 { for j in 0..<n2 where positiveOf[j] != i { negative.append(sim(i, j)) } }
        var nm: Double?, ns: Double?
        if !negative.isEmpty {
            let m = Self.mean(negative)
            nm = m
            ns = Self.mean(negative.map { ($0 - m) * ($0 - m) }).squareRoot()
        }
        var alignment = 0.0
        for j in 0..<n2 {
            let i = positiveOf[j]
            for d in 0..<dim {
                let delta = x1[i * dim + d] - x2[j * dim + d]
                alignment += delta * delta
            }
        }
        return Diagnostics(positiveMean: pm, positiveStd: pv.squareRoot(), negativeMean: nm, negativeStd: ns,
                           alignment: alignment / Double(n2), chanceX1ToX2: log(Double(n2)), chanceX2ToX1: log(Double(n1)))
    }

    /// Wang & Isola: log mean_{i≠j} exp(−2‖x_i − x_j‖²) over one set (nil below two rows).
    static func uniformity(_ x: [Double], rows n: Int, dim: Int) -> Double? {
        guard n > 1 else { return nil }
        var terms: [Double] = []
        terms.reserveCapacity(n * (n - 1))
        x.withUnsafeBufferPointer { p in
            for i in 0..<n {
                for j in 0..<n where j != i {
                    var d2 = 0.0
                    for d in 0..<dim {
                        let delta = p[i * dim + d] - p[j * dim + d]
                        d2 += delta * delta
                    }
                    terms.append(-2 * d2)
                }
            }
        }
        return logSumExp(terms) - log(Double(n * (n - 1)))
    }

    var uniformityX1: Double? { Self.uniformity(x1, rows: n1, dim: dim) }
    var uniformityX2: Double? { Self.uniformity(x2, rows: n2, dim: dim) }

    /// Root mean square of S: the scale of a "typical |s|" for absolute floors.
    var typicalSimilarity: Double { (s.reduce(0) { $0 + $1 * $1 } / Double(s.count)).squareRoot() }
}

// MARK: Comparing a report with the reference

extension ReferenceModel {
    /// Asserts every field of `report` (and, given the state, every per-query rank and top-k
    /// list) against the reference, within docs/accuracy.md. Ranks and everything derived from them are
    /// compared exactly, so the data must have `rankMargin` well above Float32's error of S.
    /// `lossFloor` is an absolute floor for losses whose exact value is 0 (a single pair),
    /// where a relative error is undefined.
    func check(_ report: Report, state: PartialState? = nil, options: EvaluationOptions, lossFloor: Double = 0,
               file: StaticString = #filePath, line: UInt = #line) {
        let margin = rankMargin(topK: options.topK)
        // docs/accuracy.md: ranks are exact except where two similarities differ by less than 1e-6.
        XCTAssertGreaterThan(margin, 1e-6, "test data: near-tie of similarities (pick another seed)", file: file, line: line)

        // Inputs.
        XCTAssertEqual(report.inputs.x1WithoutPositive, positivesOf.filter(\.isEmpty).count, "x1_without_positive", file: file, line: line)
        XCTAssertEqual(report.inputs.positives, n2, "positives", file: file, line: line)
        XCTAssertEqual(report.inputs.similarity, similarity, file: file, line: line)
        XCTAssertEqual(report.inputs.x1.rows, n1, file: file, line: line)
        XCTAssertEqual(report.inputs.x2.rows, n2, file: file, line: line)
        XCTAssertEqual(report.inputs.x1.dim, dim, file: file, line: line)

        // InfoNCE and DCL, every τ, in the order asked. DCL can be 0, so its bound is absolute
        // below 1 (docs/accuracy.md).
        let losses: [(String, [Report.InfoNCE], (Double) -> (x1ToX2: Double, x2ToX1: Double, symmetric: Double), Double?)] = [
            ("InfoNCE", report.infonce, infoNCE, lossFloor), ("DCL", report.dcl, dcl, nil),
        ]
        for (name, got, reference, floor) in losses {
            XCTAssertEqual(got.map(\.tau), options.temperatures, "\(name) temperatures", file: file, line: line)
            for (l, tau) in zip(got, options.temperatures) {
                let ref = reference(tau)
                let tol = lossTolerance(tau: tau)
                for (what, value, expected) in [("x1→x2", l.x1ToX2, ref.x1ToX2), ("x2→x1", l.x2ToX1, ref.x2ToX1),
                                                 ("symmetric", l.symmetric, ref.symmetric)] {
                    assertClose(value, expected, relative: tol, absolute: floor ?? tol, "\(name) \(what) τ=\(tau)", file: file, line: line)
                }
            }
        }

        // SigLIP.
        XCTAssertEqual(report.siglip.count, options.siglip.count, "SigLIP terms", file: file, line: line)
        for (term, asked) in zip(report.siglip, options.siglip) {
            XCTAssertEqual(term.scale, asked.scale, file: file, line: line)
            XCTAssertEqual(term.bias, asked.bias, file: file, line: line)
            assertClose(term.loss, sigLIP(scale: asked.scale, bias: asked.bias), relative: 1e-5,
                        "SigLIP \(asked.scale):\(asked.bias)", file: file, line: line)
        }

        // Retrieval, both ways.
        for (d, got) in [(Direction.x1ToX2, report.x1ToX2), (.x2ToX1, report.x2ToX1)] {
            let ref = retrieval(d, ks: options.recallAt, topK: options.topK)
            checkRetrieval(got, ref, "\(d)", file: file, line: line)
        }

        // Diagnostics. Means of similarities can sit near zero (random data: the negative mean
        // is 0 ± 1/√(N·D)), where a relative bound is meaningless: the error of a mean is a
        // fraction of the error of one similarity, so an absolute floor of 1e-6 times the
        // typical |s| is the same accuracy stated on the scale of the values averaged.
        let floor = 1e-6 * typicalSimilarity
        let ref = diagnostics()
        let got = report.diagnostics
        assertClose(got.positiveMean, ref.positiveMean, relative: 1e-6, absolute: floor, "positive_mean", file: file, line: line)
        assertClose(got.positiveStd, ref.positiveStd, relative: 1e-6, absolute: floor, "positive_std", file: file, line: line)
        assertClose(got.negativeMean, ref.negativeMean, relative: 1e-6, absolute: floor, "negative_mean", file: file, line: line)
        assertClose(got.negativeStd, ref.negativeStd, relative: 1e-6, absolute: floor, "negative_std", file: file, line: line)
        assertClose(got.alignment, ref.alignment, relative: 1e-6, "alignment", file: file, line: line)
        assertClose(got.chanceX1ToX2, ref.chanceX1ToX2, relative: 1e-12, "chance x1→x2", file: file, line: line)
        assertClose(got.chanceX2ToX1, ref.chanceX2ToX1, relative: 1e-12, "chance x2→x1", file: file, line: line)
        if options.uniformity {
            // A log-mean of exponentials: held to the means' 1e-6 relative.
            assertClose(got.uniformityX1, uniformityX1, relative: 1e-6, "uniformity x1", file: file, line: line)
            assertClose(got.uniformityX2, uniformityX2, relative: 1e-6, "uniformity x2", file: file, line: line)
        } else {
            XCTAssertNil(got.uniformityX1, "uniformity not asked for", file: file, line: line)
            XCTAssertNil(got.uniformityX2, "uniformity not asked for", file: file, line: line)
        }

        if let state { checkState(state, options: options, file: file, line: line) }
    }

    func checkRetrieval(_ got: Report.Retrieval, _ ref: Retrieval, _ name: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.queries, ref.queries, "\(name) queries", file: file, line: line)
        XCTAssertEqual(got.recall.map(\.k), ref.recall.map(\.k), "\(name) recall keys", file: file, line: line)
        for (g, r) in zip(got.recall, ref.recall) {
            assertClose(g.value, r.value, relative: 1e-12, "\(name) recall@\(r.k)", file: file, line: line)
        }
        assertClose(got.meanRank, ref.meanRank, relative: 1e-12, "\(name) mean_rank", file: file, line: line)
        assertClose(got.medianRank, ref.medianRank, relative: 1e-12, "\(name) median_rank", file: file, line: line)
        assertClose(got.mrr, ref.mrr, relative: 1e-12, "\(name) mrr", file: file, line: line)
        for (label, g, r) in [("precision", got.precision, ref.precision), ("ndcg", got.ndcg, ref.ndcg), ("map", got.map, ref.map)] {
            guard let r else {
                XCTAssertNil(g, "\(name) \(label) without --top-k must be absent", file: file, line: line)
                continue
            }
            guard let g else {
                XCTFail("\(name) \(label) missing with --top-k", file: file, line: line)
                continue
            }
            XCTAssertEqual(g.map(\.k), r.map(\.k), "\(name) \(label) keys (only k ≤ K)", file: file, line: line)
            for (a, b) in zip(g, r) {
                assertClose(a.value, b.value, relative: 1e-12, absolute: 1e-15, "\(name) \(label)@\(b.k)", file: file, line: line)
            }
        }
    }

    /// Per-query ranks (from the rank counts) and the top-k lists, exactly.
    func checkState(_ state: PartialState, options: EvaluationOptions, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(state[RankCounts.self]!.rowBeaten.count, n1, file: file, line: line)
        XCTAssertEqual(state[RankCounts.self]!.columnBeaten.count, n2, file: file, line: line)
        for i in queries(.x1ToX2) where i < state[RankCounts.self]!.rowBeaten.count {
            XCTAssertEqual(Int(state[RankCounts.self]!.rowBeaten[i]) + 1, rank(.x1ToX2, query: i), "rank of x1 row \(i)", file: file, line: line)
        }
        for j in 0..<min(n2, state[RankCounts.self]!.columnBeaten.count) {
            XCTAssertEqual(Int(state[RankCounts.self]!.columnBeaten[j]) + 1, rank(.x2ToX1, query: j), "rank of x2 row \(j)", file: file, line: line)
        }
        guard let K = options.topK else {
            XCTAssertNil(state[NearestNeighbors.self], file: file, line: line)
            XCTAssertNil(state[NearestNeighbors.self], file: file, line: line)
            return
        }
        for (d, lists, count) in [(Direction.x1ToX2, state[NearestNeighbors.self]?.rows, n1), (.x2ToX1, state[NearestNeighbors.self]?.columns, n2)] {
            guard let lists else { XCTFail("\(d): top-k lists missing", file: file, line: line); continue }
            XCTAssertEqual(lists.k, K, file: file, line: line)
            XCTAssertEqual(lists.count, count, "\(d): one list per query", file: file, line: line)
            for q in 0..<min(count, lists.count) {
                let ref = topK(d, query: q, k: K)
                XCTAssertEqual(lists.indices(of: q).map(Int.init), ref.map(\.index), "\(d) top-\(K) of query \(q)", file: file, line: line)
                for (a, b) in zip(lists.scores(of: q), ref) {
                    assertClose(Double(a), b.score, relative: 1e-5, absolute: 1e-6, "\(d) top-k score of query \(q)", file: file, line: line)
                }
            }
        }
    }
}
