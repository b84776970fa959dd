import CrossSim
import Foundation
import XCTest

/// `--health` against binary64 references: effective rank (a Jacobi eigensolver of the tests'
/// own), modality gap, hubness (from the reference's k-best lists); and parts and a memory
/// limit against the whole run.
final class HealthTests: XCTestCase {
    /// x1's rows share an offset along the first axis, and x2 rows 0..<5 point along it: they
    /// are hubs, near every x1 query.
    func sets() -> (x1: TestMatrix, x2: TestMatrix) {
        var x1 = TestMatrix.gaussian(rows: 60, dim: 8, seed: 3)
        for i in 0..<60 { x1.values[i * 8] += 3 }
        var x2 = TestMatrix.noisy(x1, owner: Array(0..<60), sigma: 0.7, seed: 4)
        for j in 0..<5 { x2.values.replaceSubrange(j * 8..<(j + 1) * 8, with: [3, 0, 0, 0, 0, 0, 0, 0]) }
        return (x1, x2)
    }

    func testFiguresMatchReference() throws {
        let (a, b) = sets()
        for similarity in [Similarity.cosine, .dot] {
            var options = EvaluationOptions()
            options.similarity = similarity
            options.health = true
            options.hubnessK = 4
            options.tile = TileShape(rows: 16, cols: 16)
            let report = try Evaluation(x1: a.embeddings(.dot), x2: b.embeddings(.dot), options: options).report()
            let health = try XCTUnwrap(report.health)
            let reference = ReferenceModel(x1: a, x2: b, similarity: similarity)
            let at = "\(similarity)"
            for (name, rows, got) in [("x1", reference.x1, health.effectiveRank!.x1), ("x2", reference.x2, health.effectiveRank!.x2)] {
                assertClose(got, Self.rankMe(rows, dim: 8), relative: 1e-6, "\(at): effective rank of \(name)")
            }
            func mean(_ x: [Double], _ d: Int) -> Double { (0..<60).reduce(0.0) { $0 + x[$1 * 8 + d] } / 60 }
            let gap: [Double] = (0..<8).map { d in mean(reference.x1, d) - mean(reference.x2, d) }
            assertClose(health.modalityGap, gap.reduce(0) { $0 + $1 * $1 }.squareRoot(), relative: 1e-6, absolute: 1e-7, "\(at): gap")
            let hubness = try XCTUnwrap(health.hubness)
            XCTAssertEqual(hubness.k, 4)
            for (d, got) in [(ReferenceModel.Direction.x1ToX2, hubness.x1ToX2), (.x2ToX1, hubness.x2ToX1)] {
                var counts = [Int](repeating: 0, count: reference.candidates(d))
                for q in 0..<60 {
                    for c in reference.topK(d, query: q, k: 4) { counts[c.index] += 1 }
                }
                let n = Double(counts.count), mean = Double(counts.reduce(0, +)) / n
                let m2 = counts.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / n
                let m3 = counts.reduce(0.0) { $0 + pow(Double($1) - mean, 3) } / n
                assertClose(got.skewness, m3 / pow(m2, 1.5), relative: 1e-12, absolute: 1e-12, "\(at) \(d): skewness")
                XCTAssertEqual(got.neverRetrieved, Double(counts.filter { $0 == 0 }.count) / n, "\(at) \(d)")
                XCTAssertEqual(got.maxOccurrence, counts.max(), "\(at) \(d)")
            }
            XCTAssertGreaterThan(hubness.x1ToX2.skewness, 1, "\(at): the planted hub")
        }
    }

    /// Every row the same vector: one direction, effective rank 1 (up to RankMe's 10⁻⁷ terms).
    func testCollapseHasEffectiveRankOne() throws {
        let row: [Float] = [0.3, -1, 2, 0.5]
        let x = Embeddings(rows: 20, dim: 4, values: Array((0..<20).map { _ in row }.joined()))
        var options = EvaluationOptions()
        options.health = true
        let health = try XCTUnwrap(try Evaluation(x1: x, x2: x, options: options).report().health)
        XCTAssertEqual(health.effectiveRank!.x1, 1, accuracy: 1e-4)
        XCTAssertEqual(health.modalityGap!, 0, accuracy: 1e-7)
    }

    /// Parts and a memory limit hold their share of each set's geometry and their queries'
    /// lists: merged, they give the whole run's figures.
    func testPartsAndMemoryLimitMatchTheWholeRun() throws {
        let dir = try temporaryDirectory(self, "health")
        XCTAssertEqual(try runCrossSim(["synth", dir + "/d", "--n", "300", "--dim", "24", "--captions", "2", "--shards", "3"]).status, 0)
        let inputs = [dir + "/d/x1", dir + "/d/x2", "--pairs", dir + "/d/pairs.npy", "--health", "--hubness-k", "5", "--quiet",
                      "--tile", "64x128"]
        func health(_ path: String) throws -> [String: Any] {
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            return try XCTUnwrap(report?["health"] as? [String: Any])
        }
        XCTAssertEqual(try runCrossSim(["eval"] + inputs + ["--json", dir + "/whole.json"]).status, 0)
        // Under a memory limit that leaves a small part of the sets as working memory, both go
        // through several panels.
        var options = EvaluationOptions()
        options.health = true
        options.hubnessK = 5
        options.tile = TileShape(rows: 64, cols: 128)
        let set1 = try ShardSet.open(dir + "/d/x1"), set2 = try ShardSet.open(dir + "/d/x2")
        let pairs = try Pairs.load(path: dir + "/d/pairs.npy", x1Rows: set1.rows, x2Rows: set2.rows)
        let streaming = try StreamingEvaluation(set1: set1, set2: set2, pairs: pairs, options: options,
                                                memoryLimit: StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options)
                                                    + (set1.rows + set2.rows) * 24 * 4 / 2)
        let panels = try streaming.panels(rows: set1.rows)
        XCTAssertLessThan(panels.x1, set1.rows, "x1 in several panels")
        XCTAssertLessThan(panels.x2, set2.rows, "x2 in several panels")
        let limited = Report(state: try streaming.state(), inputs: Report.Inputs(x1: .init(set1), x2: .init(set2), pairsPath: "p",
                                                                                positives: set2.rows, similarity: .cosine,
                                                                                x1WithoutPositive: 0),
                             options: options, engine: nil)
        try limited.write(json: dir + "/limited.json")
        var states: [String] = []
        for i in 0..<3 {
            states.append("\(dir)/\(i).state")
            XCTAssertEqual(try runCrossSim(["eval"] + inputs + ["--part", "\(i)/3", "--state", states[i]]).status, 0)
        }
        let merge = try runCrossSim(["merge"] + states + ["--json", dir + "/merged.json"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let whole = try health(dir + "/whole.json")
        for other in [try health(dir + "/limited.json"), try health(dir + "/merged.json")] {
            XCTAssertEqual(NSDictionary(dictionary: other["hubness"] as! [String: Any]),
                           NSDictionary(dictionary: whole["hubness"] as! [String: Any]))
            for set in ["x1", "x2"] {
                let a = (other[set] as! [String: Any])["effective_rank"] as! Double
                let b = (whole[set] as! [String: Any])["effective_rank"] as! Double
                assertClose(a, b, relative: 1e-9, "\(set) effective rank")
            }
            assertClose(other["modality_gap"] as? Double, whole["modality_gap"] as? Double, relative: 1e-9, absolute: 1e-12, "gap")
        }
    }

    /// RankMe of a row-major matrix: Gram in binary64, eigenvalues by cyclic Jacobi rotations.
    static func rankMe(_ x: [Double], dim: Int) -> Double {
        let n = x.count / dim
        var g = [Double](repeating: 0, count: dim * dim)
        for r in 0..<n {
            for i in 0..<dim { for j in 0..<dim { g[i * dim + j] += x[r * dim + i] * x[r * dim + j] } }
        }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<dim { for q in 0..<dim where p != q { off += g[p * dim + q] * g[p * dim + q] } }
            if off < 1e-30 { break }
            for p in 0..<dim - 1 {
                for q in p + 1..<dim where abs(g[p * dim + q]) > 1e-300 {
                    let theta = (g[q * dim + q] - g[p * dim + p]) / (2 * g[p * dim + q])
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<dim {
                        let (gkp, gkq) = (g[k * dim + p], g[k * dim + q])
                        g[k * dim + p] = c * gkp - s * gkq
                        g[k * dim + q] = s * gkp + c * gkq
                    }
                    for k in 0..<dim {
                        let (gpk, gqk) = (g[p * dim + k], g[q * dim + k])
                        g[p * dim + k] = c * gpk - s * gqk
                        g[q * dim + k] = s * gpk + c * gqk
                    }
                }
            }
        }
        let sigma = (0..<dim).map { max(g[$0 * dim + $0], 0).squareRoot() }.sorted(by: >).prefix(min(n, dim))
        let total = sigma.reduce(0, +)
        return exp(sigma.reduce(0.0) { h, s in let p = s / total + 1e-7; return h - p * log(p) })
    }
}
