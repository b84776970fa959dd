import CrossSim
import Foundation
import XCTest

/// Cases whose answers are known in closed form, and exact ties.
final class ClosedFormTests: XCTestCase {
    /// A 768-d vector of 256 entries ±1 and 512 zeros: its unit form has entries ±1/16, so every
    /// product and partial sum of a dot product with itself is a multiple of 2⁻⁸ and exact in
    /// Float32 whatever the summation order: S is exactly ±1 everywhere and the ties are real.
    static func exactVector(sign: Float = 1) -> [Float] {
        (0..<768).map { d in d % 3 == 0 && d / 3 < 256 ? sign * (d % 2 == 0 ? 1 : -1) : 0 }
    }

    static func collapsed(rows: Int, sign: Float = 1) -> TestMatrix {
        let v = exactVector(sign: sign)
        return TestMatrix(rows: rows, dim: 768, values: Array((0..<rows).map { _ in v }.joined()))
    }

    func report(_ x1: TestMatrix, _ x2: TestMatrix, _ options: EvaluationOptions) throws -> (Report, PartialState) {
        let evaluation = try Evaluation(x1: x1.embeddings(options.similarity), x2: x2.embeddings(options.similarity),
                                        options: options)
        return (try evaluation.report(), try evaluation.state())
    }

    /// All seven rows equal (x1 = x2 = v): every logit is the same, so InfoNCE = log 7 both
    /// ways; every candidate ties with the positive, so query i has rank i + 1.
    func testSevenEqualRowsGiveLog7() throws {
        var options = EvaluationOptions()
        options.temperatures = [1]
        options.recallAt = [1, 5]
        let (r, state) = try report(Self.collapsed(rows: 7), Self.collapsed(rows: 7), options)
        XCTAssertEqual(log(7.0), 1.945_910_149_055_313, accuracy: 1e-15)
        assertClose(r.infonce[0].x1ToX2, log(7), relative: 1e-5, "x1→x2")
        assertClose(r.infonce[0].x2ToX1, log(7), relative: 1e-5, "x2→x1")
        assertClose(r.infonce[0].symmetric, log(7), relative: 1e-5, "symmetric")
        // Ties to the lower index: the positive of query i is beaten by the i candidates before it.
        XCTAssertEqual(state[RankCounts.self]!.rowBeaten, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(state[RankCounts.self]!.columnBeaten, [0, 1, 2, 3, 4, 5, 6])
        for retrieval in [r.x1ToX2, r.x2ToX1] {
            XCTAssertEqual(retrieval.meanRank, 4)
            XCTAssertEqual(retrieval.medianRank, 4)
            XCTAssertEqual(retrieval.recall(at: 1)!, 1 / 7, accuracy: 1e-15)
            XCTAssertEqual(retrieval.recall(at: 5)!, 5 / 7, accuracy: 1e-15)
            XCTAssertEqual(retrieval.mrr, (1...7).reduce(0.0) { $0 + 1 / Double($1) } / 7, accuracy: 1e-15)
        }
        XCTAssertEqual(r.diagnostics.positiveMean, 1, accuracy: 1e-12)
        XCTAssertEqual(r.diagnostics.positiveStd, 0, accuracy: 1e-12)
        XCTAssertEqual(r.diagnostics.negativeMean!, 1, accuracy: 1e-12)
        XCTAssertEqual(r.diagnostics.alignment, 0, accuracy: 1e-12)
    }

    /// All seven rows equal: DCL's log-sum-exp has six equal negatives and no positive, so
    /// DCL = log 6 both ways, at every τ and through both folds (τ = 0.01 takes the online one).
    func testSevenEqualRowsGiveDCLLog6() throws {
        var options = EvaluationOptions()
        options.temperatures = [1, 0.05, 0.01]
        let (r, _) = try report(Self.collapsed(rows: 7), Self.collapsed(rows: 7), options)
        XCTAssertEqual(r.dcl.map(\.tau), options.temperatures)
        for l in r.dcl {
            assertClose(l.x1ToX2, log(6), relative: 1e-5, "x1→x2 τ=\(l.tau)")
            assertClose(l.x2ToX1, log(6), relative: 1e-5, "x2→x1 τ=\(l.tau)")
            assertClose(l.symmetric, log(6), relative: 1e-5, "symmetric τ=\(l.tau)")
        }
    }

    /// x2 = −x1, all rows equal: every logit is −1/τ, still log 7.
    func testOppositeEqualRowsGiveLog7() throws {
        var options = EvaluationOptions()
        options.temperatures = [1]
        let (r, state) = try report(Self.collapsed(rows: 7), Self.collapsed(rows: 7, sign: -1), options)
        assertClose(r.infonce[0].x1ToX2, log(7), relative: 1e-5, "x1→x2")
        assertClose(r.infonce[0].x2ToX1, log(7), relative: 1e-5, "x2→x1")
        XCTAssertEqual(state[RankCounts.self]!.rowBeaten, [0, 1, 2, 3, 4, 5, 6])
        XCTAssertEqual(r.diagnostics.positiveMean, -1, accuracy: 1e-12)
        XCTAssertEqual(r.diagnostics.alignment, 4, accuracy: 1e-12, "‖v − (−v)‖² = 4 for unit v")
    }

    /// x1 = x2 with distinct random rows: the positive is the best candidate of every query,
    /// so the loss at τ = 1 is below chance (and above 0), and every rank is 1. (At small τ the
    /// loss is ~1e-8: see EvaluationTests.testWellSeparatedPairsKeepRelativeAccuracy.)
    func testIdenticalRandomRowsBeatChance() throws {
        let x = TestMatrix.gaussian(rows: 7, dim: 768, seed: 40)
        var options = EvaluationOptions()
        options.temperatures = [1]
        let (r, state) = try report(x, x, options)
        XCTAssertLessThan(r.infonce[0].x1ToX2, log(7))
        XCTAssertGreaterThan(r.infonce[0].x1ToX2, 0)
        XCTAssertLessThan(r.infonce[0].x2ToX1, log(7))
        XCTAssertEqual(r.x1ToX2.recall(at: 1), 1)
        XCTAssertEqual(r.x2ToX1.meanRank, 1)
        ReferenceModel(x1: x, x2: x, similarity: .cosine).check(r, state: state, options: options)
    }

    /// N equal rows give log N, for several N and τ (both log-sum-exp paths), and dot too.
    func testCollapseGivesLogNForEveryNAndTau() throws {
        for n in [1, 2, 5, 33, 130] {
            for similarity in [Similarity.cosine, .dot] {
                var options = EvaluationOptions()
                options.similarity = similarity
                options.temperatures = [1, 0.05, 0.03, 0.02, 0.01]
                options.tile = TileShape(rows: 16, cols: 24)
                let x = Self.collapsed(rows: n)
                let (r, _) = try report(x, x, options)
                for l in r.infonce {
                    // log 1 = 0: a relative bound is undefined there, so an absolute floor.
                    assertClose(l.x1ToX2, log(Double(n)), relative: lossTolerance(tau: l.tau), absolute: 1e-9,
                                "N = \(n), \(similarity), τ = \(l.tau), x1→x2")
                    assertClose(l.x2ToX1, log(Double(n)), relative: lossTolerance(tau: l.tau), absolute: 1e-9,
                                "N = \(n), \(similarity), τ = \(l.tau), x2→x1")
                }
                XCTAssertEqual(r.x1ToX2.meanRank, Double(n + 1) / 2, "N = \(n)")
                XCTAssertEqual(r.x2ToX1.medianRank, Double(n + 1) / 2, "N = \(n)")
            }
        }
    }

    /// A collapsed set of real-valued rows (one Gaussian row repeated): every negative equals
    /// every other, so their spread is 0. The tiles round them all the same way, off the exact
    /// mean by a last bit; a spread taken around the exact mean read that as ± 5e-4.
    func testCollapsedRealValuedRowsShowNoSpread() throws {
        // Rows whose tiles round above the exact mean on one kernel path or another.
        for (n, dim, seed) in [(130, 768, 47), (300, 384, 48), (500, 384, 50), (200, 768, 51)] {
            let v = TestMatrix.gaussian(rows: 1, dim: dim, seed: UInt64(seed)).values
            let x = TestMatrix(rows: n, dim: dim, values: Array((0..<n).map { _ in v }.joined()))
            let (r, _) = try report(x, x, EvaluationOptions())
            XCTAssertLessThanOrEqual(r.diagnostics.negativeStd!, 1e-6, "N = \(n), D = \(dim), seed \(seed)")
            XCTAssertEqual(r.diagnostics.negativeMean!, 1, accuracy: 1e-6, "N = \(n), D = \(dim)")
        }
    }

    /// 20 random x1 rows against 20 equal x2 rows: every x1→x2 candidate ties, so by the tie
    /// rule every list is [0, 1, 2, 3, 4], query i has rank i + 1, and the top-k metrics follow:
    /// nDCG@5 = Σ_{i<5} 1/log2(i + 2) / 20 and MAP@5 = Σ_{i<5} 1/(i + 1) / 20. (Float32 sgemm
    /// can round the equal cells differently; the lists must not follow its noise.)
    func testTopKListsFollowTheTieRuleOfRanks() throws {
        let x1 = TestMatrix.gaussian(rows: 20, dim: 768, seed: 44)
        let v = TestMatrix.gaussian(rows: 1, dim: 768, seed: 45).values
        let x2 = TestMatrix(rows: 20, dim: 768, values: Array((0..<20).map { _ in v }.joined()))
        for tile in [TileShape(rows: 7, cols: 3), TileShape(rows: 1024, cols: 2048)] {
            var options = EvaluationOptions()
            options.topK = 5
            options.recallAt = [1, 5]
            options.tile = tile
            let (r, state) = try report(x1, x2, options)
            for q in 0..<20 {
                XCTAssertEqual(Array(state[NearestNeighbors.self]!.rows.indices(of: q)), [0, 1, 2, 3, 4], "tile \(tile): list of query \(q)")
            }
            XCTAssertEqual(state[RankCounts.self]!.rowBeaten, (0..<20).map { Int32($0) }, "tile \(tile)")
            let ndcg = (0..<5).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) } / 20
            let map = (0..<5).reduce(0.0) { $0 + 1 / Double($1 + 1) } / 20
            XCTAssertEqual(ndcg, 0.147_423, accuracy: 5e-7)
            XCTAssertEqual(map, 0.114_167, accuracy: 5e-7)
            XCTAssertEqual(r.x1ToX2.ndcg?.last?.value ?? 0, ndcg, accuracy: 1e-15, "tile \(tile)")
            XCTAssertEqual(r.x1ToX2.map?.last?.value ?? 0, map, accuracy: 1e-15, "tile \(tile)")
        }
    }

    /// A tiny SigLIP loss keeps its relative accuracy: with x1 = x2 (512 random unit rows,
    /// D = 768) and t = 100, b = −50 every term is near e^−50, and float64 gives about 7e-17.
    /// Float32 softplus(z) minus a binary64 z used to leave a negative loss here.
    func testSmallSigLIPLossKeepsItsRelativeAccuracy() throws {
        let x = TestMatrix.gaussian(rows: 512, dim: 768, seed: 46)
        var options = EvaluationOptions()
        options.siglip = [SigLIPTerm(scale: 100, bias: -50)]
        let (r, _) = try report(x, x, options)
        let reference = ReferenceModel(x1: x, x2: x, similarity: .cosine).sigLIP(scale: 100, bias: -50)
        XCTAssertLessThan(reference, 1e-15)
        assertClose(r.siglip[0].loss, reference, relative: 1e-5, "SigLIP 100:−50")
    }

    // MARK: Exact ties with integer vectors under dot similarity

    static func integers(_ rows: [[Float]]) -> TestMatrix {
        TestMatrix(rows: rows.count, dim: rows[0].count, values: Array(rows.joined()))
    }

    /// One-to-one, duplicate rows on both sides (every S value is a small integer):
    ///
    ///        b0 b1 b2 b3        x1→x2 (positive on the diagonal):
    ///   a0 [ 1  1  0  0 ]         a0: b1 ties but has a higher index       → rank 1
    ///   a1 [ 1  1  0  0 ]         a1: b0 ties with a lower index            → rank 2
    ///   a2 [ 0  0  1  0 ]         a2: nothing reaches 1                     → rank 1
    ///   a3 [ 2  2  0  1 ]         a3: b0 and b1 beat 1                      → rank 3
    /// x2→x1: b0: a3 beats, a1 ties (higher index) → 2; b1: a0 ties lower and a3 beats → 3;
    ///        b2 → 1; b3 → 1.
    func testTieRuleOneToOne() throws {
        let x1 = Self.integers([[1, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 1]])
        let x2 = Self.integers([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
        for tile in [TileShape(rows: 1, cols: 1), TileShape(rows: 2, cols: 3), TileShape(rows: 512, cols: 1024)] {
            for threads in [1, 2] {
                var options = EvaluationOptions()
                options.similarity = .dot
                options.temperatures = [1, 0.01]
                options.recallAt = [1, 2]
                options.topK = 2
                options.tile = tile
                options.threads = threads
                let evaluation = try Evaluation(x1: x1.embeddings(.dot), x2: x2.embeddings(.dot), options: options)
                let state = try evaluation.state()
                let r = try evaluation.report()
                let at = "tile \(tile), \(threads) threads"
                XCTAssertEqual(state[RankCounts.self]!.rowBeaten.map { $0 + 1 }, [1, 2, 1, 3], at)
                XCTAssertEqual(state[RankCounts.self]!.columnBeaten.map { $0 + 1 }, [2, 3, 1, 1], at)
                XCTAssertEqual(r.x1ToX2.meanRank, 7.0 / 4, at)
                XCTAssertEqual(r.x1ToX2.medianRank, 1.5, at)
                XCTAssertEqual(r.x2ToX1.recall(at: 1), 0.5, at)
                XCTAssertEqual(r.x2ToX1.recall(at: 2), 0.75, at)
                XCTAssertEqual(r.x2ToX1.mrr, (0.5 + 1.0 / 3 + 1 + 1) / 4, accuracy: 1e-15, at)
                // Top-2 lists: score descending, ties to the lower index.
                XCTAssertEqual(state[NearestNeighbors.self]?.rows.indices, [0, 1, 0, 1, 2, 0, 0, 1], at)
                XCTAssertEqual(state[NearestNeighbors.self]?.rows.scores, [1, 1, 1, 1, 1, 0, 2, 2], at)
                XCTAssertEqual(state[NearestNeighbors.self]?.columns.indices, [3, 0, 3, 0, 2, 0, 3, 0], at)
                XCTAssertEqual(state[NearestNeighbors.self]?.columns.scores, [2, 1, 2, 1, 1, 0, 1, 0], at)
                ReferenceModel(x1: x1, x2: x2, similarity: .dot).checkState(state, options: options)
            }
        }
    }

    /// Several positives per x1 row, with ties among them and with negatives:
    ///
    ///   pairs = [2, 0, 1, 0, 2]: P(a0) = {b1, b3}, P(a1) = {b2}, P(a2) = {b0, b4}
    ///        b0 b1 b2 b3 b4
    ///   a0 [ 1  1  1  1  0 ]   best positive b1 (ties b3, lower index); b0 ties and is lower
    ///                          → +1; b2 ties but is above b1 → 0: rank 2 (3 if the best
    ///                          positive were b3)
    ///   a1 [ 0  0  1  0  1 ]   b4 ties, higher index → rank 1
    ///   a2 [ 1  1  2  1  1 ]   best positive b0; b2 beats it → rank 2
    /// x2→x1: b0 (positive a2): a0 ties lower → 2; b1 (a0) → 1; b2 (a1): a0 ties lower, a2
    ///        beats → 3; b3 (a0) → 1; b4 (a2): a1 ties lower → 2.
    func testTieRuleWithSeveralPositives() throws {
        let x1 = Self.integers([[1, 0], [0, 1], [1, 1]])
        let x2 = Self.integers([[1, 0], [1, 0], [1, 1], [1, 0], [0, 1]])
        let owners = [2, 0, 1, 0, 2]
        for tile in [TileShape(rows: 1, cols: 1), TileShape(rows: 2, cols: 3), TileShape(rows: 512, cols: 1024)] {
            var options = EvaluationOptions()
            options.similarity = .dot
            options.recallAt = [1, 2]
            options.topK = 2
            options.tile = tile
            let evaluation = try Evaluation(x1: x1.embeddings(.dot), x2: x2.embeddings(.dot),
                                            pairs: try Pairs(positiveOf: owners, x1Rows: 3), options: options)
            let state = try evaluation.state()
            let r = try evaluation.report()
            let at = "tile \(tile)"
            XCTAssertEqual(state[RankCounts.self]!.rowBeaten.map { $0 + 1 }, [2, 1, 2], at)
            XCTAssertEqual(state[RankCounts.self]!.columnBeaten.map { $0 + 1 }, [2, 1, 3, 1, 2], at)
            XCTAssertEqual(r.x1ToX2.meanRank, 5.0 / 3, accuracy: 1e-15, at)
            XCTAssertEqual(r.x1ToX2.medianRank, 2, at)
            XCTAssertEqual(r.x2ToX1.meanRank, 9.0 / 5, accuracy: 1e-15, at)
            XCTAssertEqual(r.x2ToX1.medianRank, 2, at)
            XCTAssertEqual(r.x2ToX1.recall(at: 1)!, 2.0 / 5, accuracy: 1e-15, at)
            XCTAssertEqual(state[NearestNeighbors.self]?.rows.indices, [0, 1, 2, 4, 2, 0], at)
            XCTAssertEqual(state[NearestNeighbors.self]?.columns.indices, [0, 2, 0, 2, 2, 0, 0, 2, 1, 2], at)
            // sentence-transformers on those lists: precision@1 = (0 + 1 + 0)/3, @2 = 1/2;
            // MAP@2 = (1/2·1/2 + 1 + 1/2·1/2)/3 (min(k, |P|) = 2, 1, 2).
            XCTAssertEqual(r.x1ToX2.precision?.map(\.value) ?? [], [1.0 / 3, 0.5], accuracy: 1e-15, at)
            XCTAssertEqual(r.x1ToX2.map?.last?.value ?? -1, (0.25 + 1 + 0.25) / 3, accuracy: 1e-15, at)
            ReferenceModel(x1: x1, x2: x2, positiveOf: owners, similarity: .dot)
                .checkState(state, options: options)
        }
    }

    /// Exact duplicate rows of real-valued data (duplicate images or captions are common in
    /// retrieval sets): a duplicate of the positive has exactly the positive's similarity, so
    /// the tie rule decides — the duplicate counts against the query only when its index is
    /// lower. Every duplicate pair gives bit-identical rows, so the reference's similarities
    /// tie exactly; the engine must tie them too, whatever arithmetic it uses for S.
    func testTieRuleWithDuplicateRealValuedRows() throws {
        var x1 = TestMatrix.gaussian(rows: 12, dim: 768, seed: 41)
        var x2 = TestMatrix.gaussian(rows: 12, dim: 768, seed: 42)
        for k in 0..<6 {
            for d in 0..<768 {
                x1.values[(2 * k + 1) * 768 + d] = x1.values[2 * k * 768 + d]
                x2.values[(2 * k + 1) * 768 + d] = x2.values[2 * k * 768 + d]
            }
        }
        for similarity in Similarity.allCases {
            var options = EvaluationOptions()
            options.similarity = similarity
            let state = try Evaluation(x1: x1.embeddings(similarity), x2: x2.embeddings(similarity), options: options).state()
            let reference = ReferenceModel(x1: x1, x2: x2, similarity: similarity)
            XCTAssertEqual(state[RankCounts.self]!.rowBeaten.map { Int($0) + 1 }, (0..<12).map { reference.rank(.x1ToX2, query: $0) },
                           "\(similarity): x1→x2 ranks")
            XCTAssertEqual(state[RankCounts.self]!.columnBeaten.map { Int($0) + 1 }, (0..<12).map { reference.rank(.x2ToX1, query: $0) },
                           "\(similarity): x2→x1 ranks")
        }
    }
}

/// Element-wise XCTAssertEqual with an accuracy, for short arrays.
func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, _ message: @autoclosure () -> String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(message()): \(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(message()): \(a) vs \(b)", file: file, line: line) }
}
