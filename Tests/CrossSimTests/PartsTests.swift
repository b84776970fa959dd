import CrossSim
import Foundation
import XCTest

/// Parts in separate processes (and on other kernel paths) merge to the single run's report,
/// bad merges are refused, and a memory limit gives the in-memory report.
final class PartsTests: XCTestCase {
    /// A multi-positive synthetic pair of sets (two captions per row) with one shard per set.
    func data() throws -> String {
        let dir = try temporaryDirectory(self, "parts") + "/data"
        let run = try runCrossSim(["synth", dir, "--n", "150", "--dim", "24", "--captions", "2", "--noise", "2", "--shards", "3"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return dir
    }

    func evalArguments(_ data: String) -> [String] {
        ["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--quiet",
         "--tau", "0.05", "0.01", "--siglip", "10:-10", "--top-k", "5", "--histogram"]
    }

    func report(_ path: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        return try XCTUnwrap(object as? [String: Any])
    }

    func testPartsInSeparateProcessesMergeToTheSingleRun() throws {
        let data = try data()
        let dir = try temporaryDirectory(self, "states")
        let single = dir + "/single.json"
        XCTAssertEqual(try runCrossSim(evalArguments(data) + ["--json", single]).status, 0)
        for k in [1, 3, 4] {
            var states: [String] = []
            for i in 0..<k {
                let state = dir + "/k\(k)-\(i).state"
                let run = try runCrossSim(evalArguments(data) + ["--part", "\(i)/\(k)", "--state", state])
                XCTAssertEqual(run.status, 0, run.stderr)
                states.append(state)
            }
            var shuffled = states
            var random = TestRandom(seed: UInt64(k))
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, random.int(0..<(i + 1))) }
            let merged = dir + "/merged-\(k).json"
            let run = try runCrossSim(["merge"] + shuffled + ["--json", merged])
            XCTAssertEqual(run.status, 0, run.stderr)
            assertSameResults(try report(merged), try report(single), path: "K=\(k)")
            // A merged run's engine block gives its parts' figures, not one process's.
            let engine = try XCTUnwrap(try report(merged)["engine"] as? [String: Any])
            XCTAssertEqual(engine["parts"] as? Int, k, "K=\(k)")
            XCTAssertNotNil(engine["cpu_seconds"] as? Double, "K=\(k)")
            XCTAssertNotNil(engine["slowest_part_seconds"] as? Double, "K=\(k)")
            XCTAssertNil(engine["threads"], "K=\(k): no single process ran the whole")
            XCTAssertNil(engine["gflops"], "K=\(k)")
        }
    }

    /// An array job's tasks land on machines of other CPU generations: each part here runs
    /// another vector level and another OpenBLAS core type, so their positives' similarities
    /// differ in the last bits; they still merge into the single run's report. (No histogram:
    /// a count may move across a bin's edge between kernel paths, which docs/accuracy.md allows.)
    func testPartsFromDifferentKernelPathsMergeToTheSingleRun() throws {
        let data = try data()
        let dir = try temporaryDirectory(self, "kernels")
        let arguments = ["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--quiet",
                         "--tau", "0.05", "0.01", "--siglip", "10:-10", "--top-k", "5"]
        let single = dir + "/single.json"
        XCTAssertEqual(try runCrossSim(arguments + ["--json", single]).status, 0)
        let paths = [("2", "SkylakeX"), ("1", "Haswell"), ("0", "Prescott")]
        // A limit that leaves room for half of x2 streams it.
        var options = EvaluationOptions()
        options.temperatures = [0.05, 0.01]
        options.siglip = [SigLIPTerm(scale: 10, bias: -10)]
        options.topK = 5
        options.tile = TileShape(rows: 16, cols: 32)
        // The own GEMM's plan (AVX-512's default) holds the most: its packing workspace.
        options.gemm = .own
        let set1 = try ShardSet.open(data + "/x1"), set2 = try ShardSet.open(data + "/x2")
        let limit = StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options) + set2.rows / 2 * set2.dim * 4
        for (name, limit) in [("memory", []), ("limit", ["--memory-limit", "\(limit)", "--tile", "16x32"])] {
            var states: [String] = []
            for (i, (level, core)) in paths.enumerated() {
                states.append(dir + "/\(name)-\(i).state")
                let run = try runCrossSim(arguments + ["--part", "\(i)/3", "--state", states[i]] + limit,
                                          environment: ["CROSSSIM_VECTOR_LEVEL": level, "OPENBLAS_CORETYPE": core])
                XCTAssertEqual(run.status, 0, run.stderr)
            }
            let merged = dir + "/\(name).json"
            let run = try runCrossSim(["merge"] + states.reversed() + ["--json", merged])
            XCTAssertEqual(run.status, 0, run.stderr)
            assertSameResults(try report(merged), try report(single), path: name)
        }
    }

    /// One value of one shard changed between parts: the merge names the shard.
    func testMergeRefusesPartsOfAChangedShard() throws {
        let data = try data()
        let dir = try temporaryDirectory(self, "changed")
        let changed = dir + "/changed"
        try FileManager.default.copyItem(atPath: data, toPath: changed)
        let shard = changed + "/x2/part-1.npy"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: shard)))
        let last = bytes.count - 4
        let value = bytes[last...].withUnsafeBytes { Float(bitPattern: $0.loadUnaligned(as: UInt32.self)) } + 0.25
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(last..., with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        var states: [String] = []
        for (i, set) in [data, data, changed].enumerated() {
            states.append(dir + "/part-\(i).state")
            XCTAssertEqual(try runCrossSim(evalArguments(set) + ["--part", "\(i)/3", "--state", states[i]]).status, 0)
        }
        let run = try runCrossSim(["merge"] + states)
        XCTAssertEqual(run.status, 2, run.stdout)
        XCTAssertTrue(run.stderr.contains("different inputs") && run.stderr.contains("x2's shard 1 (part-1.npy)")
                        && run.stderr.contains("part-2.state"), run.stderr)
    }

    /// A state file of the format before content fingerprints is refused, saying why.
    func testStateOfAnOlderFormatIsRefused() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd") else { throw XCTSkip("needs the zstd command") }
        let data = try data()
        let dir = try temporaryDirectory(self, "old")
        XCTAssertEqual(try runCrossSim(evalArguments(data) + ["--part", "0/1", "--state", dir + "/new.state"]).status, 0)
        let plain = try runProgram("/usr/bin/zstd", ["-d", "-q", dir + "/new.state", "-o", dir + "/new.raw"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/new.raw")))
        bytes.replaceSubrange(StateFile.magic.count..<(StateFile.magic.count + 4), with: [1, 0, 0, 0])
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/old.raw"))
        XCTAssertEqual(try runProgram("/usr/bin/zstd", ["-q", dir + "/old.raw", "-o", dir + "/old.state"]).status, 0)
        let run = try runCrossSim(["merge", dir + "/old.state"])
        XCTAssertEqual(run.status, 2, run.stdout)
        XCTAssertTrue(run.stderr.contains("old.state") && run.stderr.contains("format version 1")
                        && run.stderr.contains("older CrossSim"), run.stderr)
    }

    func testMergeRefusesBadSets() throws {
        let data = try data()
        let dir = try temporaryDirectory(self, "bad")
        func part(_ i: Int, _ k: Int, extra: [String] = [], data other: String? = nil) throws -> String {
            let path = dir + "/\(i)-\(k)-\(extra.joined())-\(other == nil ? "" : "other").state"
            let run = try runCrossSim(evalArguments(other ?? data) + ["--part", "\(i)/\(k)", "--state", path] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            return path
        }
        let p0 = try part(0, 3), p1 = try part(1, 3), p2 = try part(2, 3)
        func refuses(_ states: [String], _ words: String) throws {
            let run = try runCrossSim(["merge"] + states)
            XCTAssertEqual(run.status, 2, "merge \(states) should fail: \(run.stdout)")
            XCTAssertTrue(run.stderr.contains(words), "\(run.stderr) should say \(words)")
        }
        try refuses([p0, p2], "missing part 1/3")
        try refuses([p0, p1, p2, p1], "duplicate part 1/3")
        try refuses([p0, p1, try part(2, 4)], "different runs")
        try refuses([p0, p1, try part(2, 3, extra: ["--tau", "0.07"])], "different options")
        let otherData = try temporaryDirectory(self, "other") + "/data"
        XCTAssertEqual(try runCrossSim(["synth", otherData, "--n", "150", "--dim", "24", "--captions", "2", "--seed", "9"]).status, 0)
        try refuses([p0, p1, try part(2, 3, data: otherData)], "different inputs")
        // A flipped byte: zstd's checksum (or the frame itself) catches it, naming the file.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p2)))
        bytes[bytes.count / 2] ^= 0x5A
        let corrupt = dir + "/corrupt.state"
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        try refuses([p0, p1, corrupt], "corrupt.state")
        try refuses([p0, p1, data + "/pairs.npy"], "pairs.npy")
    }

    func testMemoryLimitGivesTheInMemoryReport() throws {
        var x1 = TestMatrix.gaussian(rows: 1500, dim: 32, seed: 1)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<1500), sigma: 0.8, seed: 2)
        x1.values[7] = 3  // not all rows alike in norm
        let dir = try temporaryDirectory(self, "limit")
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        var options = EvaluationOptions()
        options.temperatures = [0.05, 0.01]
        options.siglip = [SigLIPTerm(scale: 10, bias: -10)]
        options.topK = 3
        options.tile = TileShape(rows: 64, cols: 128)
        let set1 = try ShardSet.open(dir + "/x1.npy"), set2 = try ShardSet.open(dir + "/x2.npy")
        // The working memory the limit leaves (beyond the process allowance) is a small part
        // of x1 + x2, so both sets go through several panels.
        let working = (x1.values.count + x2.values.count) * 4 / 8
        let streaming = try StreamingEvaluation(set1: set1, set2: set2, pairs: nil, options: options,
                                                memoryLimit: StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options) + working)
        let panels = try streaming.panels(rows: 1500)
        XCTAssertLessThan(panels.x1, 1500 / 2, "x1 in several panels")
        XCTAssertLessThan(panels.x2, 1500 / 2, "x2 in several panels")
        let inputs = Report.Inputs(x1: .init(set1), x2: .init(set2), pairsPath: nil, positives: 1500, similarity: .cosine, x1WithoutPositive: 0)
        let limited = Report(state: try streaming.state(), inputs: inputs, options: options, engine: nil)
        let whole = try Evaluation(x1: try Embeddings.load(set1, similarity: .cosine), x2: try Embeddings.load(set2, similarity: .cosine),
                                   options: options).report()
        assertSameResults(try JSONSerialization.jsonObject(with: Data(limited.json.rendered().utf8)),
                          try JSONSerialization.jsonObject(with: Data(whole.json.rendered().utf8)))
        // Pairs in no order (and x1 rows without a positive): x1 streams past each x2 panel.
        var random = TestRandom(seed: 5)
        let owners = (0..<1500).map { _ in random.int(0..<1400) }
        let pairs = try Pairs(positiveOf: owners, x1Rows: 1500)
        let shuffled = try StreamingEvaluation(set1: set1, set2: set2, pairs: pairs, options: options, memoryLimit: streaming.memoryLimit)
        let inputsWithPairs = Report.Inputs(x1: .init(set1), x2: .init(set2), pairsPath: "memory", positives: 1500, similarity: .cosine,
                                            x1WithoutPositive: pairs.x1WithoutPositive)
        let evaluation = try Evaluation(x1: try Embeddings.load(set1, similarity: .cosine), x2: try Embeddings.load(set2, similarity: .cosine),
                                        pairs: pairs, options: options)
        assertSameResults(try JSONSerialization.jsonObject(with: Data(Report(state: try shuffled.state(), inputs: inputsWithPairs,
                                                                            options: options, engine: nil).json.rendered().utf8)),
                          try JSONSerialization.jsonObject(with: Data(Report(state: try evaluation.state(), inputs: inputsWithPairs,
                                                                            options: options, engine: nil).json.rendered().utf8)))
        // A part whose rows fit in one panel keeps them from the positive pass.
        XCTAssertGreaterThanOrEqual(try shuffled.panels(rows: 100).x1, 100)
        let part = try shuffled.state(rows: 300..<400), expected = try evaluation.state(rows: 300..<400)
        XCTAssertEqual(part.positives, expected.positives)
        XCTAssertEqual(part[RankCounts.self]!.rowBeaten, expected[RankCounts.self]!.rowBeaten)
        XCTAssertEqual(part[RankCounts.self]!.columnBeaten, expected[RankCounts.self]!.columnBeaten)
        for (a, b) in zip(part[NegativeLogSumExps.self]!.rows.joined(), expected[NegativeLogSumExps.self]!.rows.joined()) {
            XCTAssertEqual(a.value, b.value, accuracy: 1e-5 * abs(b.value))
        }
    }

    /// A run that fails or is cancelled while x2 streams leaves no reading thread (and its
    /// buffers) behind: a service that runs the library leaked one per failed run.
    func testCancelledRunsLeaveNoReaderBehind() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/task") else { throw XCTSkip("counts threads in /proc/self/task") }
        let x1 = TestMatrix.gaussian(rows: 600, dim: 16, seed: 3)
        let dir = try temporaryDirectory(self, "cancel")
        try x1.writeNPY(to: dir + "/x1.npy")
        try TestMatrix.noisy(x1, owner: Array(0..<600), sigma: 0.5, seed: 4).writeNPY(to: dir + "/x2.npy")
        var options = EvaluationOptions()
        options.tile = TileShape(rows: 32, cols: 64)
        let set1 = try ShardSet.open(dir + "/x1.npy"), set2 = try ShardSet.open(dir + "/x2.npy")
        // x1 and x2 in several panels, so that readers are running when the run stops.
        let working = 600 * 16 * 4 * 2 / 8
        let streaming = try StreamingEvaluation(set1: set1, set2: set2, pairs: nil, options: options,
                                                memoryLimit: StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options) + working)
        XCTAssertLessThan(try streaming.panels(rows: 600).x1, 600)
        func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0 }
        let before = threads()
        for _ in 0..<8 {
            let cancelled = CancellationFlag()
            cancelled.cancel()
            XCTAssertThrowsError(try streaming.state(control: RunControl(cancellation: cancelled))) {
                XCTAssertTrue($0 is InterruptedError, "\($0)")
            }
        }
        let deadline = Date().addingTimeInterval(5)
        while threads() > before + 2 && Date() < deadline { usleep(10_000) }
        XCTAssertLessThanOrEqual(threads(), before + 2, "threads left behind by 8 cancelled runs")
    }

    func testMemoryLimitTooSmallSaysHowMuchIsNeeded() throws {
        let data = try data()
        let run = try runCrossSim(["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--memory-limit", "1M"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.stderr.contains("too small") && run.stderr.contains("MiB"), run.stderr)
    }

    func testPartIndexFromArrayJobEnvironments() throws {
        XCTAssertEqual(try PartIndex.resolve(part: "2/5", parts: nil, environment: ["SLURM_ARRAY_TASK_ID": "1"]),
                       try PartIndex(index: 2, count: 5))
        XCTAssertEqual(try PartIndex.resolve(part: nil, parts: nil, environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"]),
                       try PartIndex(index: 3, count: 4))
        XCTAssertEqual(try PartIndex.resolve(part: nil, parts: 8, environment: ["JOB_COMPLETION_INDEX": "7"]),
                       try PartIndex(index: 7, count: 8))
        XCTAssertNil(try PartIndex.resolve(part: nil, parts: nil, environment: [:]))
        XCTAssertThrowsError(try PartIndex.resolve(part: nil, parts: 8, environment: [:]))
        XCTAssertThrowsError(try PartIndex.resolve(part: nil, parts: 8, environment: ["JOB_COMPLETION_INDEX": "8"]))
        XCTAssertThrowsError(try PartIndex.resolve(part: nil, parts: nil, environment: ["SLURM_ARRAY_TASK_ID": "1"]))
        XCTAssertThrowsError(try PartIndex.resolve(part: "1/2", parts: 2, environment: [:]))
        // The ranges of K parts cover every row once.
        for k in 1...7 {
            let ranges = try (0..<k).map { try PartIndex(index: $0, count: k).rows(of: 23) }
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            XCTAssertEqual(ranges.last?.upperBound, 23)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
        }
    }

    func testPartViaEnvironmentWritesTheSamePart() throws {
        let data = try data()
        let dir = try temporaryDirectory(self, "env")
        XCTAssertEqual(try runCrossSim(evalArguments(data) + ["--state", dir + "/a.state"],
                                       environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3"]).status, 0)
        XCTAssertEqual(try runCrossSim(evalArguments(data) + ["--parts", "3", "--state", dir + "/b.state"],
                                       environment: ["JOB_COMPLETION_INDEX": "1"]).status, 0)
        let a = try StateFile.read(from: dir + "/a.state"), b = try StateFile.read(from: dir + "/b.state")
        XCTAssertEqual(a.part, try PartIndex(index: 1, count: 3))
        XCTAssertEqual(b.part, a.part)
        XCTAssertEqual(a.state.rows, b.state.rows)
        XCTAssertEqual(a.state[RankCounts.self]!.columnBeaten, b.state[RankCounts.self]!.columnBeaten)
    }
}
