import CrossSim
import Foundation
import XCTest

/// Hard negatives against a brute-force binary64 reference of docs/definitions.md's rule (the
/// semantics of sentence-transformers' mine_hard_negatives), on sets with exact duplicates and
/// negative similarities; and the files of the command line, whole and merged from parts.
final class HardNegativeTests: XCTestCase {
    /// x2 rows 30..<33 copies of row 29 and x1 row 7 a copy of row 6 (exact ties); x1 rows 0
    /// and 1 without a positive; under dot, similarities of both signs.
    func sets() -> (x1: TestMatrix, x2: TestMatrix, owners: [Int]) {
        var random = TestRandom(seed: 9)
        var x1 = TestMatrix.gaussian(rows: 40, dim: 6, seed: 7)
        x1.values.replaceSubrange(7 * 6..<8 * 6, with: x1.row(6))
        let owners = (0..<60).map { _ in random.int(2..<40) }
        var x2 = TestMatrix.noisy(x1, owner: owners, sigma: 1.2, seed: 8)
        for j in 30..<33 { x2.values.replaceSubrange(j * 6..<(j + 1) * 6, with: x2.row(29)) }
        return (x1, x2, owners)
    }

    /// The rule on the sorted negatives of one query.
    struct Candidate {
        var index: Int
        var score: Double
    }

    func expected(_ m: ReferenceModel, _ d: ReferenceModel.Direction, query q: Int, rule: HardNegativeRule) -> [Int] {
        let positives = Set(m.positives(d, query: q))
        let unsorted: [Candidate] = (0..<m.candidates(d)).filter { !positives.contains($0) }
            .map { Candidate(index: $0, score: m.score(d, query: q, candidate: $0)) }
        let negatives = unsorted.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
        let best = positives.isEmpty ? nil : m.bestPositive(d, query: q)
        let window = negatives.indices.filter { $0 >= rule.rangeMin && $0 < (rule.rangeMax ?? .max) }.map { negatives[$0] }
        let passing = window.filter { (c: Candidate) -> Bool in
            guard let best else { return true }
            let p = best.value
            let ceiling = min(p - (rule.margin ?? 0), p - abs(p) * (rule.relativeMargin ?? 0))
            // Below the ceiling, or level with it and after the positive by index.
            return c.score < ceiling || (c.score == ceiling && c.index > best.index)
        }
        return passing.prefix(rule.count).map { $0.index }
    }

    func testSelectionMatchesReference() throws {
        let (a, b, owners) = sets()
        let rules = [HardNegativeRule(count: 3), HardNegativeRule(count: 4, margin: 0.05),
                     HardNegativeRule(count: 2, relativeMargin: 0.1, rangeMin: 2),
                     HardNegativeRule(count: 5, margin: 0.5, relativeMargin: 0.2, rangeMin: 1, rangeMax: 12)]
        for similarity in [Similarity.dot, .cosine] {
            let reference = ReferenceModel(x1: a, x2: b, positiveOf: owners, similarity: similarity)
            for (n, rule) in rules.enumerated() {
                var options = EvaluationOptions()
                options.similarity = similarity
                options.hardNegatives = rule
                options.tile = TileShape(rows: 8, cols: 16)
                let evaluation = try Evaluation(x1: a.embeddings(.dot), x2: b.embeddings(.dot),
                                                pairs: try Pairs(positiveOf: owners, x1Rows: 40), options: options)
                let state = try evaluation.state()
                let selected = try XCTUnwrap(state[HardNegatives.self]).selected(rule)
                for (d, got, queries) in [(ReferenceModel.Direction.x1ToX2, selected.x1ToX2, 40), (.x2ToX1, selected.x2ToX1, 60)] {
                    for q in 0..<queries {
                        let want = expected(reference, d, query: q, rule: rule)
                        let row = Array(got.indices[q * rule.count..<(q + 1) * rule.count])
                        XCTAssertEqual(row, want.map(Int64.init) + Array(repeating: -1, count: rule.count - want.count),
                                       "\(similarity), rule \(n), \(d) query \(q)")
                        for (slot, index) in want.enumerated() {
                            assertClose(got.scores[q * rule.count + slot], reference.score(d, query: q, candidate: index),
                                        relative: 1e-6, absolute: 1e-6, "\(similarity), rule \(n), \(d) query \(q)")
                        }
                    }
                }
            }
        }
    }

    func testCommandLineWholeAndMerged() throws {
        let dir = try temporaryDirectory(self, "hard-negatives")
        XCTAssertEqual(try runCrossSim(["synth", dir + "/d", "--n", "120", "--dim", "16", "--captions", "2", "--noise", "2"]).status, 0)
        let inputs = [dir + "/d/x1", dir + "/d/x2", "--pairs", dir + "/d/pairs.npy", "--quiet", "--hard-negatives", "4",
                      "--margin", "0.02", "--range-min", "1"]
        let whole = try runCrossSim(["eval"] + inputs + ["--neighbors", dir + "/whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        for (name, queries) in [("x1_to_x2", 120), ("x2_to_x1", 240)] {
            let indices = try TestNPY.read("\(dir)/whole/\(name).hard_negatives.indices.npy")
            XCTAssertEqual(indices.descr, "<i8")
            XCTAssertEqual(indices.shape, [queries, 4])
            let scores = try TestNPY.read("\(dir)/whole/\(name).hard_negatives.scores.npy")
            XCTAssertEqual(scores.descr, "<f4")
            XCTAssertEqual(scores.shape, [queries, 4])
        }
        var states: [String] = []
        for i in 0..<3 {
            states.append("\(dir)/\(i).state")
            let part = try runCrossSim(["eval"] + inputs + ["--part", "\(i)/3", "--state", states[i]])
            XCTAssertEqual(part.status, 0, part.stderr)
        }
        let merge = try runCrossSim(["merge"] + states + ["--neighbors", dir + "/merged"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        for name in ["x1_to_x2", "x2_to_x1"] {
            for column in ["indices", "scores"] {
                XCTAssertEqual(try TestNPY.read("\(dir)/merged/\(name).hard_negatives.\(column).npy").data,
                               try TestNPY.read("\(dir)/whole/\(name).hard_negatives.\(column).npy").data, "\(name) \(column)")
            }
        }
        let orphan = try runCrossSim(["eval", dir + "/d/x1", dir + "/d/x2", "--pairs", dir + "/d/pairs.npy", "--margin", "0.1"])
        XCTAssertEqual(orphan.status, 2)
        XCTAssertTrue(orphan.stderr.contains("need --hard-negatives"), orphan.stderr)
    }
}
