import CrossSim
import Foundation
import XCTest

/// Per-query results: each column against a binary64 reference, the report's means against
/// the columns, and parts merged by `merge --per-query` against the single run.
final class PerQueryTests: XCTestCase {
    /// x1 rows 0..<3 without a positive, several captions per image, and exact ties: x2 rows 20
    /// and 21 are copies of row 19, x1 row 9 a copy of row 8.
    func sets() -> (x1: TestMatrix, x2: TestMatrix, owners: [Int]) {
        var random = TestRandom(seed: 5)
        var x1 = TestMatrix.gaussian(rows: 36, dim: 12, seed: 1)
        x1.values.replaceSubrange(9 * 12..<10 * 12, with: x1.row(8))
        let owners = (0..<70).map { _ in random.int(3..<36) }
        var x2 = TestMatrix.noisy(x1, owner: owners, sigma: 0.8, seed: 2)
        for j in [20, 21] { x2.values.replaceSubrange(j * 12..<(j + 1) * 12, with: x2.row(19)) }
        return (x1, x2, owners)
    }

    func testColumnsMatchReference() throws {
        let (a, b, owners) = sets()
        for similarity in [Similarity.cosine, .dot] {
            var options = EvaluationOptions()
            options.similarity = similarity
            options.temperatures = [0.05, 1]
            options.perQuery = true
            options.tile = TileShape(rows: 8, cols: 16)
            let pairs = try Pairs(positiveOf: owners, x1Rows: a.rows)
            let evaluation = try Evaluation(x1: a.embeddings(.dot), x2: b.embeddings(.dot), pairs: pairs, options: options)
            let state = try evaluation.state()
            let columns = try PerQuery(state: state, options: options)
            let reference = ReferenceModel(x1: a, x2: b, positiveOf: owners, similarity: similarity)
            let at = "\(similarity)"
            for (d, got, queries) in [(ReferenceModel.Direction.x1ToX2, columns.x1ToX2, a.rows), (.x2ToX1, columns.x2ToX1, b.rows)] {
                let withPositive = Set(reference.queries(d))
                for q in 0..<queries {
                    let positives = Set(reference.positives(d, query: q))
                    guard withPositive.contains(q) else {
                        XCTAssertEqual(got.rank[q], 0, "\(at) \(d) \(q): rank without a positive")
                        XCTAssertTrue(got.bestPositive[q].isNaN, "\(at) \(d) \(q)")
                        XCTAssertTrue((0..<2).allSatisfy { got.infonce[q * 2 + $0].isNaN }, "\(at) \(d) \(q)")
                        continue
                    }
                    XCTAssertEqual(Int(got.rank[q]), reference.rank(d, query: q), "\(at) \(d) \(q): rank")
                    // Under cosine the engine's rows are normalised in Float32: values agree to its rounding.
                    assertClose(Double(got.bestPositive[q]), reference.bestPositive(d, query: q).value, relative: 1e-6,
                                absolute: 1e-6, "\(at) \(d) \(q)")
                    // The best negative: highest exact similarity, then lowest index.
                    let negatives = (0..<reference.candidates(d)).filter { !positives.contains($0) }
                        .map { (index: $0, score: reference.score(d, query: q, candidate: $0)) }
                    let best = negatives.min { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }!
                    XCTAssertEqual(Int(got.bestNegativeIndex[q]), best.index, "\(at) \(d) \(q): best negative")
                    assertClose(Double(got.bestNegative[q]), best.score, relative: 1e-6, absolute: 1e-6, "\(at) \(d) \(q): best negative")
                    for (t, tau) in options.temperatures.enumerated() {
                        let z = (0..<reference.candidates(d)).map { reference.score(d, query: q, candidate: $0) / tau }
                        let positive = positives.reduce(0) { $0 + z[$1] } / Double(positives.count)
                        // docs/accuracy.md: a query's term to the loss bounds, scaled by its
                        // largest |s| where that exceeds 1 (dot): Float32 similarities err in
                        // proportion to it.
                        let scale = max(1, z.map { abs($0) * tau }.max()!)
                        assertClose(got.infonce[q * 2 + t], ReferenceModel.logSumExp(z) - positive,
                                    relative: lossTolerance(tau: tau) * scale, absolute: lossTolerance(tau: tau) * scale,
                                    "\(at) \(d) \(q) τ \(tau)")
                    }
                }
            }
            // The duplicated rows tie exactly: the lower index wins.
            XCTAssertFalse(columns.x1ToX2.bestNegativeIndex.contains(21), "\(at): x2 row 21 ties with 20 and 19")

            // The report's figures are the columns' means.
            let report = Report(state: state, inputs: try XCTUnwrap(evaluation.report().inputs), options: options, engine: nil)
            for (got, retrieval) in [(columns.x1ToX2, report.x1ToX2), (columns.x2ToX1, report.x2ToX1)] {
                let ranks = got.rank.filter { $0 > 0 }.map(Double.init)
                XCTAssertEqual(ranks.count, retrieval.queries)
                XCTAssertEqual(ranks.reduce(0, +) / Double(ranks.count), retrieval.meanRank, accuracy: 1e-12)
                XCTAssertEqual(ranks.reduce(0) { $0 + 1 / $1 } / Double(ranks.count), retrieval.mrr, accuracy: 1e-12)
                for (k, recall) in retrieval.recall {
                    XCTAssertEqual(Double(ranks.filter { $0 <= Double(k) }.count) / Double(ranks.count), recall, accuracy: 1e-12)
                }
            }
            for (t, loss) in report.infonce.enumerated() {
                for (got, mean) in [(columns.x1ToX2, loss.x1ToX2), (columns.x2ToX1, loss.x2ToX1)] {
                    let column = stride(from: t, to: got.infonce.count, by: 2).map { got.infonce[$0] }.filter { !$0.isNaN }
                    XCTAssertEqual(column.reduce(0, +) / Double(column.count), mean, accuracy: 1e-12 * max(1, abs(mean)))
                }
            }
        }
    }

    /// The command line writes ten files of the documented dtypes and shapes; parts run with
    /// --keep-per-query merge into the single run's files; parts without it are refused.
    func testCommandLineAndMerge() throws {
        let dir = try temporaryDirectory(self, "per-query")
        let synth = try runCrossSim(["synth", dir + "/data", "--n", "90", "--dim", "16", "--captions", "2", "--noise", "2"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        let inputs = [dir + "/data/x1", dir + "/data/x2", "--pairs", dir + "/data/pairs.npy", "--tau", "0.05", "0.1", "--quiet"]
        let single = try runCrossSim(["eval"] + inputs + ["--per-query", dir + "/single", "--json", dir + "/single.json"])
        XCTAssertEqual(single.status, 0, single.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/single.json"))) as? [String: Any])
        XCTAssertEqual((report["per_query"] as? [String: Any])?["path"] as? String, dir + "/single")
        let shapes = [("x1_to_x2", 90), ("x2_to_x1", 180)]
        for (name, queries) in shapes {
            for (column, descr, shape) in [("rank", "<i8", [queries]), ("best_positive", "<f4", [queries]),
                                           ("best_negative", "<f4", [queries]), ("best_negative_index", "<i8", [queries]),
                                           ("infonce", "<f8", [queries, 2])] {
                let file = try TestNPY.read("\(dir)/single/\(name).\(column).npy")
                XCTAssertEqual(file.descr, descr, "\(name).\(column)")
                XCTAssertEqual(file.shape, shape, "\(name).\(column)")
            }
        }

        var states: [String] = []
        for i in 0..<3 {
            let state = "\(dir)/\(i).state"
            let part = try runCrossSim(["eval"] + inputs + ["--part", "\(i)/3", "--state", state, "--keep-per-query"])
            XCTAssertEqual(part.status, 0, part.stderr)
            states.append(state)
        }
        let merge = try runCrossSim(["merge"] + states + ["--per-query", dir + "/merged"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        for (name, _) in shapes {
            for column in ["rank", "best_positive", "best_negative", "best_negative_index"] {
                XCTAssertEqual(try TestNPY.read("\(dir)/merged/\(name).\(column).npy").data,
                               try TestNPY.read("\(dir)/single/\(name).\(column).npy").data, "\(name).\(column)")
            }
            let merged = try TestNPY.read("\(dir)/merged/\(name).infonce.npy").data, whole = try TestNPY.read("\(dir)/single/\(name).infonce.npy").data
            let a = merged.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }, b = whole.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            for (x, y) in zip(a, b) { assertClose(x, y, relative: 1e-6, absolute: 1e-6, "\(name).infonce") }
        }

        for i in 0..<3 {
            XCTAssertEqual(try runCrossSim(["eval"] + inputs + ["--part", "\(i)/3", "--state", states[i]]).status, 0)
        }
        let refused = try runCrossSim(["merge"] + states + ["--per-query", dir + "/refused"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--keep-per-query"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused"))
        let part = try runCrossSim(["eval"] + inputs + ["--part", "0/3", "--state", states[0], "--per-query", dir + "/p"])
        XCTAssertEqual(part.status, 2, "a part writes no per-query files")
    }
}
