@testable import CrossSim
import Foundation
import XCTest

/// `--queries-only` (docs/definitions.md, "Queries only"): each x1 row's top-k list of x2 rows,
/// unlabelled, and nothing per x2 row: checked against a brute force in memory, streaming under
/// a memory limit, from parts and merge, and in the memory plan.
final class QueriesOnlyTests: XCTestCase {
    static let k = 6

    /// 23 queries against 300 base rows, D = 8, with exact ties: x2 rows 5, 6, 7 copy row 3 and
    /// x2 row 9 is row 4 times 3 (the same under cosine); x1 rows 10 and 11 copy row 2.
    static func sets() -> (x1: TestMatrix, x2: TestMatrix) {
        var x1 = TestMatrix.gaussian(rows: 23, dim: 8, seed: 31)
        var x2 = TestMatrix.gaussian(rows: 300, dim: 8, seed: 32)
        for j in [5, 6, 7] { x2.values.replaceSubrange(j * 8..<(j + 1) * 8, with: x2.row(3)) }
        x2.values.replaceSubrange(9 * 8..<10 * 8, with: x2.row(4).map { $0 * 3 })
        // Make x2 row 3 a near neighbour of x1 row 2, so that the ties land in its list.
        x1.values.replaceSubrange(2 * 8..<3 * 8, with: x2.row(3).map { $0 * 0.9 + 0.01 })
        for i in [10, 11] { x1.values.replaceSubrange(i * 8..<(i + 1) * 8, with: x1.row(2)) }
        return (x1, x2)
    }

    static func options(_ similarity: Similarity, tile: String? = nil) throws -> EvaluationOptions {
        var options = EvaluationOptions()
        options.similarity = similarity
        options.topK = k
        options.queriesOnly = true
        options.tile = try tile.map(TileShape.init(parsing:))
        return options
    }

    /// Every x1 row's list against the binary64 brute force (its scores within docs/accuracy.md:
    /// the reference normalises rows in binary64 without rounding them to Float32), and nothing
    /// else in the state.
    func check(_ state: PartialState, x1: TestMatrix, x2: TestMatrix, similarity: Similarity,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = ReferenceModel(x1: x1, x2: x2, positiveOf: (0..<x2.rows).map { $0 % x1.rows }, similarity: similarity)
        let lists = try XCTUnwrap(state[NearestNeighbors.self], file: file, line: line)
        XCTAssertEqual(lists.rows.count, x1.rows, file: file, line: line)
        for q in 0..<x1.rows {
            let expected = reference.topK(.x1ToX2, query: q, k: Self.k)
            XCTAssertEqual(lists.rows.indices(of: q).map(Int.init), expected.map(\.index), "query \(q)", file: file, line: line)
            for (got, want) in zip(lists.rows.scores(of: q), expected.map(\.score)) {
                assertClose(got, want, relative: 1e-5, absolute: 1e-6, "query \(q)", file: file, line: line)
            }
        }
        // N2 × nothing: no column lists, pairs or positives, and no labelled section.
        XCTAssertEqual(lists.columns.count, 0, file: file, line: line)
        XCTAssertTrue(state.positives.positiveOf.isEmpty && state.positives.similarity.isEmpty, file: file, line: line)
        XCTAssertEqual(state.orderedSections.map { type(of: $0).name }, [NearestNeighbors.name], file: file, line: line)
        XCTAssertEqual(state.x2Rows, x2.rows, file: file, line: line)
    }

    func testListsMatchABruteForceInMemoryWithTiesAndNoPairs() throws {
        let (x1, x2) = Self.sets()
        for similarity in [Similarity.cosine, .dot] {
            for tile in [nil, "16x64"] {
                let evaluation = try Evaluation(x1: x1.embeddings(similarity), x2: x2.embeddings(similarity),
                                                options: Self.options(similarity, tile: tile))
                try check(try evaluation.state(), x1: x1, x2: x2, similarity: similarity)
            }
        }
        // The planted ties are in index order: x2 row 3, then its copies 5, 6, 7.
        let state = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), options: Self.options(.cosine)).state()
        let row2 = Array(try XCTUnwrap(state[NearestNeighbors.self]).rows.indices(of: 2))
        XCTAssertEqual(Array(row2.prefix(4)), [3, 5, 6, 7])
    }

    func testStreamingUnderAMemoryLimitAndPartsGiveTheSameLists() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2) = Self.sets()
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        let options = try Self.options(.cosine, tile: "16x64")
        let whole = try EvaluationRequest(x1: dir + "/x1.npy", x2: dir + "/x2.npy", options: options).run().state
        try check(whole, x1: x1, x2: x2, similarity: .cosine)
        // A limit that holds neither set whole: x2 streams in panels of one tile's columns.
        let set1 = try ShardSet.open(dir + "/x1.npy"), set2 = try ShardSet.open(dir + "/x2.npy")
        let limit = StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options) + 160 * 8 * 4
        let streaming = try StreamingEvaluation(set1: set1, set2: set2, pairs: nil, options: options, memoryLimit: limit)
        XCTAssertLessThan(try streaming.panels(rows: set1.rows).x2, set2.rows, "x2 streams in panels")
        let streamed = try EvaluationRequest(x1: dir + "/x1.npy", x2: dir + "/x2.npy", options: options, memoryLimit: limit).run().state
        XCTAssertEqual(streamed[NearestNeighbors.self], whole[NearestNeighbors.self])
        XCTAssertEqual(streamed.positives, whole.positives)
        // Parts on disk and their merge.
        var files: [String] = []
        for part in 0..<3 {
            let request = EvaluationRequest(x1: dir + "/x1.npy", x2: dir + "/x2.npy", options: options,
                                            part: try PartIndex(index: part, count: 3))
            let (state, inputs, engine) = try request.run()
            let path = dir + "/\(part).state"
            try StateFile(part: request.part!, inputs: inputs, options: options, engine: engine, state: state).write(to: path)
            files.append(path)
        }
        let merged = try MergedRun(paths: Array(files.reversed()))
        XCTAssertEqual(merged.state[NearestNeighbors.self], whole[NearestNeighbors.self])
        XCTAssertEqual(merged.state.orderedSections.count, 1)
        XCTAssertNil(merged.report.json["infonce"])
    }

    /// The memory plan charges nothing per x2 row: the same fixed bytes for 10³ and 10⁶ base
    /// rows, where a labelled run's grow with them.
    func testMemoryPlanChargesNothingPerX2Row() throws {
        let dir = try temporaryDirectory(self)
        try TestMatrix.gaussian(rows: 1000, dim: 4, seed: 1).writeNPY(to: dir + "/q.npy")
        for rows in [1000, 1_000_000] {
            // A header and zeros: the plan reads only the shapes.
            let header = TestNPY.header(descr: "<f4", shape: [rows, 4])
            try Data(header + [UInt8](repeating: 0, count: rows * 16)).write(to: URL(fileURLWithPath: dir + "/base\(rows).npy"))
        }
        let queries = try ShardSet.open(dir + "/q.npy")
        let small = try ShardSet.open(dir + "/base1000.npy"), large = try ShardSet.open(dir + "/base1000000.npy")
        var options = try Self.options(.cosine)
        options.topK = 100
        XCTAssertEqual(StreamingEvaluation.fixedBytes(set1: queries, set2: large, options: options),
                       StreamingEvaluation.fixedBytes(set1: queries, set2: small, options: options))
        options.queriesOnly = false
        let perRow = Double(StreamingEvaluation.fixedBytes(set1: queries, set2: large, options: options)
            - StreamingEvaluation.fixedBytes(set1: queries, set2: small, options: options)) / 999_000
        XCTAssertGreaterThan(perRow, 2 * 12 * 100, "a labelled run keeps each column's top-100 list (twice, for the merge)")
    }

    func testRefusesWhatNeedsLabels() throws {
        let (x1, x2) = Self.sets()
        let a = x1.embeddings(.cosine), b = x2.embeddings(.cosine)
        var options = try Self.options(.cosine)
        options.topK = nil
        XCTAssertTrue(inputError { _ = try Evaluation(x1: a, x2: b, options: options) }?.message.contains("--top-k") ?? false)
        for change in [{ (o: inout EvaluationOptions) in o.siglip = [SigLIPTerm(scale: 10, bias: -10)] },
                       { $0.perQuery = true }, { $0.health = true }, { $0.histogramBins = 10 },
                       { $0.hardNegatives = HardNegativeRule(count: 2, margin: nil, relativeMargin: nil, rangeMin: 0, rangeMax: nil) }] {
            var refused = try Self.options(.cosine)
            change(&refused)
            XCTAssertTrue(inputError { _ = try Evaluation(x1: a, x2: b, options: refused) }?.message.contains("--queries-only") ?? false)
        }
        let pairs = try Pairs(positiveOf: (0..<x2.rows).map { $0 % x1.rows }, x1Rows: x1.rows, path: "p.npy")
        XCTAssertEqual(inputError { _ = try Evaluation(x1: a, x2: b, pairs: pairs, options: Self.options(.cosine)) }?.file, "p.npy")
        // K may exceed the queries (23) but not the base rows (300).
        options = try Self.options(.cosine)
        options.topK = 40
        XCTAssertNoThrow(try Evaluation(x1: a, x2: b, options: options))
        options.topK = 301
        XCTAssertNotNil(inputError { _ = try Evaluation(x1: a, x2: b, options: options) })
    }

    /// The command line: N1 ≠ N2 without --pairs, only x1_to_x2 files in either format, a
    /// report of only what was computed, and a truncated state refused naming the file.
    func testCommandLineWritesOnlyTheQueriesDirection() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2) = Self.sets()
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        try TestNPY.write(int64: (0..<x2.rows).map { $0 % x1.rows }, to: dir + "/pairs.npy")
        let base = ["eval", dir + "/x1.npy", dir + "/x2.npy", "--queries-only", "--top-k", String(Self.k), "--quiet"]
        var run = try runCrossSim(base + ["--neighbors", dir + "/gt", "--neighbors-format", "bigann", "--json", dir + "/r.json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/gt"), ["x1_to_x2.gt"])
        let gt = try BigANNGroundTruthTests.readGroundTruth(dir + "/gt/x1_to_x2.gt")
        XCTAssertEqual(gt.queries, x1.rows)
        XCTAssertEqual(gt.k, Self.k)
        let reference = ReferenceModel(x1: x1, x2: x2, positiveOf: (0..<x2.rows).map { $0 % x1.rows }, similarity: .cosine)
        for q in 0..<x1.rows {
            XCTAssertEqual(gt.ids[q * Self.k..<(q + 1) * Self.k].map(Int.init), reference.topK(.x1ToX2, query: q, k: Self.k).map(\.index))
        }
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any])
        XCTAssertEqual(Set(report.keys), ["schema", "crosssim", "created", "inputs", "queries_only", "engine", "machine"])
        XCTAssertEqual(report["queries_only"] as? [String: Int], ["queries": x1.rows, "k": Self.k])
        XCTAssertNil((report["inputs"] as? [String: Any])?["pairs"])

        run = try runCrossSim(["compare", dir + "/r.json", dir + "/r.json"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("r.json: a --queries-only report holds no labelled figures"), run.stderr)

        run = try runCrossSim(base + ["--neighbors", dir + "/npy"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/npy").sorted(),
                       ["x1_to_x2.indices.npy", "x1_to_x2.scores.npy"])

        for extra in [["--tau", "0.1"], ["--k", "1"], ["--pairs", dir + "/pairs.npy"], ["--plot", dir + "/p.svg"]] {
            run = try runCrossSim(base + extra)
            XCTAssertEqual(run.status, 2, "\(extra): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("queries-only"), "\(extra): \(run.stderr)")
        }

        run = try runCrossSim(base + ["--part", "0/1", "--state", dir + "/0.state"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/0.state"))
        try bytes.prefix(bytes.count - 9).write(to: URL(fileURLWithPath: dir + "/cut.state"))
        run = try runCrossSim(["merge", dir + "/cut.state", "--json", dir + "/m.json"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("cut.state"), run.stderr)
        run = try runCrossSim(["merge", dir + "/0.state", "--neighbors", dir + "/merged", "--neighbors-format", "bigann"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/merged/x1_to_x2.gt")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/gt/x1_to_x2.gt")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/merged"), ["x1_to_x2.gt"])
    }
}
