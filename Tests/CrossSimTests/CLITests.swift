import CrossSim
import Foundation
import XCTest

/// The `crosssim` executable, run as a user runs it (docs/command-line.md, docs/report.md).
final class CLITests: XCTestCase {
    /// Runs crosssim with `arguments`; `environment` adds to (or overrides) the test's own.
    func crosssim(_ arguments: [String], environment: [String: String] = [:],
                  file: StaticString = #filePath, line: UInt = #line) throws -> ProgramRun {
        try runCrossSim(arguments, environment: environment, file: file, line: line)
    }

    func json(_ path: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        return try XCTUnwrap(object as? [String: Any], "the report is a JSON object")
    }

    /// `synth` a small pair of sets; returns the directory.
    func synth(_ extra: [String] = []) throws -> String {
        let dir = try temporaryDirectory(self, "synth") + "/data"
        let run = try crosssim(["synth", dir, "--n", "60", "--dim", "16", "--noise", "1.5", "--seed", "3"] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
        return dir
    }

    // MARK: eval

    func testEvalWritesTheReportOfSpec5() throws {
        let data = try synth(["--shards", "2"])
        let out = try temporaryDirectory(self) + "/report.json"
        let run = try crosssim(["eval", data + "/x1", data + "/x2", "--json", out, "--quiet", "--tau", "0.05", "0.01"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("InfoNCE"), "a human summary on stdout")
        let report = try json(out)
        XCTAssertEqual(report["schema"] as? String, "crosssim.report/1")

        let inputs = try XCTUnwrap(report["inputs"] as? [String: Any])
        let x1 = try XCTUnwrap(inputs["x1"] as? [String: Any])
        XCTAssertEqual(x1["path"] as? String, data + "/x1")
        XCTAssertEqual(x1["rows"] as? Int, 60)
        XCTAssertEqual(x1["dim"] as? Int, 16)
        XCTAssertEqual(x1["shards"] as? Int, 2)
        XCTAssertEqual(x1["dtype"] as? String, "<f4")
        XCTAssertNotNil(inputs["x2"] as? [String: Any])
        XCTAssertEqual(inputs["pairs"] as? String, "identity")
        XCTAssertEqual(inputs["similarity"] as? String, "cosine")
        XCTAssertEqual(inputs["x1_without_positive"] as? Int, 0)

        let infonce = try XCTUnwrap(report["infonce"] as? [[String: Any]])
        XCTAssertEqual(infonce.compactMap { $0["tau"] as? Double }, [0.05, 0.01])
        for entry in infonce {
            for key in ["x1_to_x2", "x2_to_x1", "symmetric"] { XCTAssertNotNil(entry[key] as? Double, key) }
        }
        XCTAssertNil(report["siglip"], "siglip absent when not asked for")

        let retrieval = try XCTUnwrap(report["retrieval"] as? [String: Any])
        for direction in ["x1_to_x2", "x2_to_x1"] {
            let r = try XCTUnwrap(retrieval[direction] as? [String: Any], direction)
            XCTAssertEqual(r["queries"] as? Int, 60)
            let recall = try XCTUnwrap(r["recall"] as? [String: Any])
            XCTAssertEqual(Set(recall.keys), ["1", "5", "10"], "recall keys are the k as strings")
            for key in ["mean_rank", "median_rank", "mrr"] { XCTAssertNotNil(r[key] as? Double, key) }
            for key in ["precision", "ndcg", "map"] { XCTAssertNil(r[key], "\(key) absent without --top-k") }
        }

        let diagnostics = try XCTUnwrap(report["diagnostics"] as? [String: Any])
        for key in ["positive_mean", "positive_std", "negative_mean", "negative_std", "alignment"] {
            XCTAssertNotNil(diagnostics[key] as? Double, key)
        }
        let chance = try XCTUnwrap(diagnostics["chance"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(chance["x1_to_x2"] as? Double), log(60), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(chance["x2_to_x1"] as? Double), log(60), accuracy: 1e-12)
        XCTAssertNil(diagnostics["uniformity"], "uniformity absent without --uniformity")

        let engine = try XCTUnwrap(report["engine"] as? [String: Any])
        XCTAssertNotNil(engine["backend"] as? String)
        XCTAssertNotNil(engine["threads"] as? Int)
        XCTAssertEqual((engine["tile"] as? [Int])?.count, 2)
        for key in ["seconds", "gflops"] { XCTAssertNotNil(engine[key] as? Double, key) }
        XCTAssertGreaterThan(engine["peak_rss_bytes"] as? Int ?? 0, 0)
    }

    /// The numbers in the JSON are the library's. With the BLAS kernels this test process uses
    /// (`CROSSSIM_KEEP_BLAS=1` stops the command from re-running itself with other OpenBLAS
    /// kernels) they are the same bits (docs/accuracy.md: same inputs, tiles and threads); with the
    /// kernels the command picks itself they agree within its tolerances.
    func testEvalReportMatchesTheLibraryAndHasTheOptionalFields() throws {
        let data = try synth(["--captions", "3", "--dtype", "f16", "--zstd", "3"])
        var options = EvaluationOptions()
        options.siglip = [SigLIPTerm(scale: 10, bias: -10)]
        options.topK = 3
        options.recallAt = [1, 3, 5]
        options.uniformity = true
        options.tile = TileShape(rows: 16, cols: 24)
        options.threads = 2
        let library = try EvaluationRequest(x1: data + "/x1", x2: data + "/x2", pairs: data + "/pairs.npy", options: options).report()

        for sameKernels in [true, false] {
            let out = try temporaryDirectory(self) + "/report.json"
            let run = try crosssim(["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--json", out, "--quiet",
                                    "--siglip", "10:-10", "--top-k", "3", "--k", "1,3,5", "--uniformity",
                                    "--tile", "16x24", "--threads", "2"],
                                   environment: sameKernels ? ["CROSSSIM_KEEP_BLAS": "1"] : [:])
            XCTAssertEqual(run.status, 0, run.stderr)
            try checkOptionalFields(try json(out), data: data, library: library)
            if sameKernels {
                // Same bits: the file is the library's report, character for character, but for
                // the engine block (times, RSS), the machine after it and the time it was made.
                // (Compared as text: Foundation's JSON parser on Linux rounds some doubles to a
                // neighbouring value.)
                let text = try String(contentsOfFile: out, encoding: .utf8)
                    .replacingOccurrences(of: #"\n  "created": "[^"]*","#, with: "", options: .regularExpression)
                let withoutEngine = text.components(separatedBy: ",\n  \"engine\": ")[0] + "\n}"
                XCTAssertEqual(withoutEngine, DeterminismTests.canonical(library))
            }
        }
    }

    /// The optional fields are there and agree with the library within docs/accuracy.md. Other BLAS kernels
    /// round S differently: ranks may differ where two similarities differ by less than 1e-6
    /// (f16 data has such near-ties), so rank-based figures get an `absolute` allowance.
    func checkOptionalFields(_ report: [String: Any], data: String, library: Report,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        func same(_ a: Double?, _ b: Double?, relative: Double, absolute: Double = 0, _ what: String) {
            assertClose(a, b, relative: relative, absolute: absolute, what, file: file, line: line)
        }
        let inputs = try XCTUnwrap(report["inputs"] as? [String: Any])
        let pairs = try XCTUnwrap(inputs["pairs"] as? [String: Any], "pairs given: an object")
        XCTAssertEqual(pairs["path"] as? String, data + "/pairs.npy")
        XCTAssertEqual(pairs["positives"] as? Int, 180)
        XCTAssertEqual((inputs["x2"] as? [String: Any])?["dtype"] as? String, "<f2")

        let siglip = try XCTUnwrap(report["siglip"] as? [[String: Any]])
        XCTAssertEqual(siglip.first?["scale"] as? Double, 10)
        XCTAssertEqual(siglip.first?["bias"] as? Double, -10)
        same(siglip.first?["loss"] as? Double, library.siglip[0].loss, relative: 1e-5, "SigLIP")
        let infonce = try XCTUnwrap((report["infonce"] as? [[String: Any]])?.first)
        XCTAssertEqual(infonce["tau"] as? Double, 0.05, "default τ")
        same(infonce["x1_to_x2"] as? Double, library.infonce[0].x1ToX2, relative: 1e-5, "InfoNCE x1→x2")
        same(infonce["symmetric"] as? Double, library.infonce[0].symmetric, relative: 1e-5, "InfoNCE symmetric")

        let retrieval = try XCTUnwrap(report["retrieval"] as? [String: Any])
        let forward = try XCTUnwrap(retrieval["x1_to_x2"] as? [String: Any])
        XCTAssertEqual(forward["queries"] as? Int, 60)
        XCTAssertEqual(Set((forward["recall"] as? [String: Any] ?? [:]).keys), ["1", "3", "5"])
        for key in ["precision", "ndcg", "map"] {
            let values = try XCTUnwrap(forward[key] as? [String: Double], key)
            XCTAssertEqual(Set(values.keys), ["1", "3"], "\(key): only k ≤ K = 3")
        }
        same((forward["precision"] as? [String: Double])?["3"], library.x1ToX2.precision?.last?.value, relative: 1e-12, absolute: 0.02, "precision@3")
        let backward = try XCTUnwrap(retrieval["x2_to_x1"] as? [String: Any])
        XCTAssertEqual(backward["queries"] as? Int, 180)
        same(backward["mrr"] as? Double, library.x2ToX1.mrr, relative: 1e-12, absolute: 0.02, "MRR")

        let diagnostics = try XCTUnwrap(report["diagnostics"] as? [String: Any])
        let uniformity = try XCTUnwrap(diagnostics["uniformity"] as? [String: Double])
        same(uniformity["x1"], library.diagnostics.uniformityX1, relative: 1e-6, "uniformity x1")
        same(uniformity["x2"], library.diagnostics.uniformityX2, relative: 1e-6, "uniformity x2")
        same(diagnostics["alignment"] as? Double, library.diagnostics.alignment, relative: 1e-6, "alignment")
        XCTAssertEqual((report["engine"] as? [String: Any])?["tile"] as? [Int], [16, 24])
        XCTAssertEqual((report["engine"] as? [String: Any])?["threads"] as? Int, 2)
    }

    func testNeighborsWritesFourNPYFiles() throws {
        let data = try synth(["--captions", "2"])
        let dir = try temporaryDirectory(self) + "/neighbors"
        // The kernels of this process, so that the lists can be compared exactly.
        let run = try crosssim(["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--top-k", "3",
                                "--neighbors", dir, "--quiet"], environment: ["CROSSSIM_KEEP_BLAS": "1"])
        XCTAssertEqual(run.status, 0, run.stderr)

        var options = EvaluationOptions()
        options.topK = 3
        let evaluation = try Evaluation(x1: try Embeddings.load(path: data + "/x1", similarity: .cosine),
                                        x2: try Embeddings.load(path: data + "/x2", similarity: .cosine),
                                        pairs: try Pairs.load(path: data + "/pairs.npy", x1Rows: 60, x2Rows: 120),
                                        options: options)
        let state = try evaluation.state()
        for (name, rows, lists) in [("x1_to_x2", 60, state[NearestNeighbors.self]!.rows), ("x2_to_x1", 120, state[NearestNeighbors.self]!.columns)] {
            let indices = try TestNPY.read(dir + "/\(name).indices.npy")
            XCTAssertEqual(indices.descr, "<i8", name)
            XCTAssertEqual(indices.shape, [rows, 3], name)
            XCTAssertEqual(indices.data.count, rows * 3 * 8, name)
            let values: [Int64] = indices.data.withUnsafeBytes { raw in (0..<rows * 3).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) } }
            XCTAssertEqual(values, lists.indices.map(Int64.init), "\(name) indices are the engine's lists")

            let scores = try TestNPY.read(dir + "/\(name).scores.npy")
            XCTAssertEqual(scores.descr, "<f4", name)
            XCTAssertEqual(scores.shape, [rows, 3], name)
            XCTAssertEqual(scores.data.count, rows * 3 * 4, name)
            let floats: [Float] = scores.data.withUnsafeBytes { raw in (0..<rows * 3).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
            XCTAssertEqual(floats, lists.scores.map { Float($0) }, "\(name) scores")
            for r in 0..<rows { XCTAssertTrue(floats[r * 3] >= floats[r * 3 + 1] && floats[r * 3 + 1] >= floats[r * 3 + 2], "\(name) row \(r) best first") }
        }
    }

    /// `--logit-scale S` is τ = 1/S (docs/definitions.md): the same report as `--tau 1/S`.
    func testLogitScaleIsTheInverseTemperature() throws {
        let data = try synth()
        let dir = try temporaryDirectory(self)
        let a = try crosssim(["eval", data + "/x1", data + "/x2", "--logit-scale", "20", "--json", dir + "/a.json", "--quiet"])
        let b = try crosssim(["eval", data + "/x1", data + "/x2", "--tau", "0.05", "--json", dir + "/b.json", "--quiet"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        let la = try XCTUnwrap((try json(dir + "/a.json")["infonce"] as? [[String: Any]])?.first)
        let lb = try XCTUnwrap((try json(dir + "/b.json")["infonce"] as? [[String: Any]])?.first)
        XCTAssertEqual(try XCTUnwrap(la["tau"] as? Double), 0.05, accuracy: 1e-15)
        assertClose(la["symmetric"] as? Double, lb["symmetric"] as? Double, relative: 1e-12, "logit scale 20 vs τ 0.05")
    }

    /// A negative number after a space is a value, not an option: in lists of several
    /// (`--siglip`, `--tau`, `--logit-scale`) and for options of one number.
    func testNegativeNumbersAreValues() throws {
        let data = try synth()
        let out = try temporaryDirectory(self) + "/report.json"
        let run = try crosssim(["eval", data + "/x1", data + "/x2", "--siglip", "-10:10", "10:-10", "-1:-2", "--tau", "0.05",
                                "--json", out, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let terms = try XCTUnwrap(try json(out)["siglip"] as? [[String: Any]])
        XCTAssertEqual(terms.map { [$0["scale"] as? Double, $0["bias"] as? Double] }, [[-10, 10], [10, -10], [-1, -2]])

        let eval = ["eval", data + "/x1", data + "/x2", "--quiet"]
        let refused: [(arguments: [String], message: String)] = [
            (eval + ["--logit-scale", "-5"], "S must be > 0"),
            (eval + ["--logit-scale", "20", "-5"], "S must be > 0"),
            (eval + ["--tau", "0.05", "-1"], "τ must be > 0"),
            (eval + ["--top-k", "-3"], "K must be ≥ 1"),
            (eval + ["--threads", "-2"], "--threads -2"),
            (["heatmap", data + "/x1", data + "/x2", "--rows", "-3:2", "--out", out + ".svg"], "--rows '-3:2'"),
        ]
        for (arguments, message) in refused {
            let run = try crosssim(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    // MARK: Bad input and usage: exit code 2, a message naming the file, nothing written

    func testMissingFileExitsWith2NamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        let missing = dir + "/nowhere/x1.npy"
        let out = dir + "/report.json"
        let run = try crosssim(["eval", missing, Fixtures.path("npy/M_le_f4_v1.npy"), "--json", out, "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains(missing), "stderr names the file: \(run.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written on bad input")
    }

    func testBadMagicExitsWith2NamingTheFile() throws {
        let bad = Fixtures.path("bad/bad_magic.npy")
        let run = try crosssim(["eval", Fixtures.path("npy/M_le_f4_v1.npy"), bad, "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains(bad), "stderr names the file: \(run.stderr)")
        XCTAssertTrue(run.stderr.lowercased().contains("magic"), run.stderr)
    }

    func testBadRowExitsWith2NamingFileAndRow() throws {
        let bad = Fixtures.path("bad/nan_row.npy")
        let run = try crosssim(["eval", bad, Fixtures.path("npy/M_le_f4_v1.npy"), "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains(bad) && run.stderr.contains("row 2"), run.stderr)
    }

    /// Values at Float32's edge: what eval refuses, it names with file and row, and inspect
    /// lists the same row.
    func testValuesBeyondFloat32AreNamedByEvalAndInspect() throws {
        let dir = try temporaryDirectory(self)
        let huge = dir + "/huge.npy", large = dir + "/large.npy", m = Fixtures.path("npy/M_le_f4_v1.npy")
        try TestNPY.write(float64: (0..<15).map { $0 == 7 ? 1e300 : Double($0) + 1 }, shape: [5, 3], to: huge)
        try TestNPY.write(float32: (0..<15).map { $0 / 3 == 1 ? 1e20 : Float($0) + 1 }, shape: [5, 3], to: large)
        let cases = [(arguments: ["eval", huge, m], path: huge, row: 2, message: "beyond Float32's range", key: "beyond_float32_rows"),
                     (["eval", large, m, "--similarity", "dot"], large, 1, "overflow Float32", "too_large_for_dot_rows")]
        for (arguments, path, row, message, key) in cases {
            let run = try crosssim(arguments + ["--quiet"])
            XCTAssertEqual(run.status, 2, run.stderr)
            XCTAssertTrue(run.stderr.contains("\(path): row \(row): ") && run.stderr.contains(message), run.stderr)
            let inspect = try crosssim(["inspect", path, "--json"])
            XCTAssertEqual(inspect.status, 0, inspect.stderr)
            let sets = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual((sets.first?[key] as? [String: Any])?["first"] as? [Int], [row], inspect.stdout)
        }
    }

    func testUsageErrorsExitWith2() throws {
        let m = Fixtures.path("npy/M_le_f4_v1.npy")
        for arguments in [["eval", m, m, "--no-such-flag"], ["eval", m], ["frobnicate"], ["eval", m, m, "--tau", "0"],
                          ["eval", m, m, "--similarity", "euclid"], ["eval", m, m, "--k", "1,x"], ["eval", m, m, "--siglip", "10"],
                          ["eval", m, m, "--neighbors", "/tmp/crosssim-never"], ["eval", m, m, "--tile", "0x8"]] {
            let run = try crosssim(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertFalse(run.stderr.isEmpty, "\(arguments): a message on stderr")
        }
    }

    /// A thread count beyond the limit is refused at once, before any worker is made (a run
    /// with 100000 threads on 50 rows could exhaust memory or hang).
    func testThreadsBeyondTheLimitAreRefused() throws {
        let data = try synth()
        let eval = ["eval", data + "/x1", data + "/x2", "--quiet", "--threads"]
        for arguments in [eval + ["4097"], ["bench", "--n", "50", "--dim", "8", "--threads", "2,4097"],
                          eval + ["0"], eval + ["100000"]] {
            let run = try crosssim(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("4096"), "\(arguments): the message names the limit: \(run.stderr)")
        }
    }

    /// An output that cannot be written is bad input found before the run (exit 2, naming the
    /// path), not an internal error after it.
    func testUnwritableOutputsAreRefusedBeforeTheRun() throws {
        let data = try synth()
        let dir = try temporaryDirectory(self)
        let file = dir + "/file"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        let state = dir + "/whole.state"
        let made = try crosssim(["eval", data + "/x1", data + "/x2", "--part", "0/1", "--state", state, "--quiet"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let eval = ["eval", data + "/x1", data + "/x2", "--quiet"]
        let cases: [(arguments: [String], path: String)] = [
            (eval + ["--json", dir + "/no-such-dir/r.json"], dir + "/no-such-dir/r.json"),
            (eval + ["--plot", dir], dir),
            (eval + ["--part", "0/2", "--state", dir + "/no-such-dir/0.state"], dir + "/no-such-dir/0.state"),
            (eval + ["--top-k", "2", "--neighbors", file], file),
            (eval + ["--top-k", "2", "--neighbors", file + "/nn"], file + "/nn"),
            (["merge", state, "--json", dir + "/no-such-dir/m.json"], dir + "/no-such-dir/m.json"),
            (["merge", state, "--plot", dir], dir),
            (["heatmap", data + "/x1", data + "/x2", "--out", dir], dir),
            (["bench", "--n", "50", "--dim", "8", "--tiles", "16x16", "--repeats", "1", "--json", file + "/b.json"], file + "/b.json"),
            (["synth", file, "--n", "4", "--dim", "2"], file),
        ]
        for (arguments, path) in cases {
            let run = try crosssim(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(path), "\(arguments): the message names \(path): \(run.stderr)")
            XCTAssertTrue(run.stdout.isEmpty, "\(arguments): nothing was computed: \(run.stdout)")
        }
        // A directory for --neighbors may be made, parents and all.
        let nested = dir + "/a/b/nn"
        let run = try crosssim(eval + ["--top-k", "2", "--neighbors", nested])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested + "/x1_to_x2.indices.npy"))
    }

    func testMemoryLimitBelowOneMiBIsNotPrintedAsZero() throws {
        let data = try synth()
        let run = try crosssim(["eval", data + "/x1", data + "/x2", "--memory-limit", "200K", "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("--memory-limit 200 KiB is too small"), run.stderr)
    }

    func testKWithEmptyZeroNegativeOrRepeatedItemsIsRefused() throws {
        let data = try synth()
        for k in ["1,,5", "1,5,", "0,5", "-1,5", "1,5,5"] {
            let run = try crosssim(["eval", data + "/x1", data + "/x2", "--k", k, "--quiet"])
            XCTAssertEqual(run.status, 2, "--k \(k): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("k"), "--k \(k): \(run.stderr)")
        }
        let spaced = try crosssim(["eval", data + "/x1", data + "/x2", "--k", "1, 5", "--quiet"])
        XCTAssertEqual(spaced.status, 0, spaced.stderr)
    }

    /// A merged plot without histograms says what the parts needed: --histogram.
    func testMergePlotWithoutHistogramsNamesWhatPartsNeed() throws {
        let data = try synth()
        let dir = try temporaryDirectory(self)
        for i in 0..<2 {
            let run = try crosssim(["eval", data + "/x1", data + "/x2", "--part", "\(i)/2", "--state", dir + "/\(i).state", "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let run = try crosssim(["merge", dir + "/0.state", dir + "/1.state", "--plot", dir + "/merged.svg"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let svg = try String(contentsOfFile: dir + "/merged.svg", encoding: .utf8)
        XCTAssertTrue(svg.contains("No histogram") && svg.contains("give parts --histogram"), "the plot says what parts need")
    }

    /// Uniformity needs two rows in a set; with one the field is left out, and stderr says why.
    func testUniformityOfOneRowSaysWhyItIsLeftOut() throws {
        let dir = try temporaryDirectory(self) + "/one"
        XCTAssertEqual(try crosssim(["synth", dir, "--n", "1", "--dim", "4"]).status, 0)
        let out = dir + "/r.json"
        let run = try crosssim(["eval", dir + "/x1", dir + "/x2", "--uniformity", "--json", out, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertNil((try json(out)["diagnostics"] as? [String: Any])?["uniformity"])
        XCTAssertTrue(run.stderr.contains("uniformity is left out") && run.stderr.contains("x1 has 1 row"), run.stderr)
    }

    // MARK: The README against --help

    /// The README's usage block names the commands `crosssim --help` lists, each with the
    /// options its `--help` lists, so that neither can change without the other.
    func testReadmeUsageMatchesHelp() throws {
        let readme = try String(contentsOf: Fixtures.root.appendingPathComponent("../../README.md"), encoding: .utf8)
        let usage = try XCTUnwrap(readme.components(separatedBy: "## Usage\n").dropFirst().first?
            .components(separatedBy: "```").dropFirst().first, "README has a fenced block under Usage")
        var documented: [String: Set<String>] = [:]
        var command = ""
        for line in usage.split(separator: "\n") {
            if line.hasPrefix("crosssim ") { command = String(line.split(separator: " ")[1]) }
            documented[command, default: []].formUnion(Self.optionNames(in: String(line)))
        }
        let root = try crosssim(["--help"])
        let subcommands = Self.section("SUBCOMMANDS", of: root.stdout)
            .filter { !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        XCTAssertEqual(Set(documented.keys), Set(subcommands), "README commands vs crosssim --help")
        for name in subcommands {
            let help = try crosssim([name, "--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            let options = Self.section("OPTIONS", of: help.stdout)
                .filter { $0.hasPrefix("  -") }.compactMap { Self.optionNames(in: String($0)).first }
            XCTAssertEqual(documented[name], Set(options).subtracting(["--help", "--version"]), "crosssim \(name): README vs --help")
        }
    }

    /// The lines of a `--help` section, from its heading to the next blank line.
    static func section(_ heading: String, of help: String) -> [Substring] {
        guard let body = help.components(separatedBy: heading + ":\n").dropFirst().first else { return [] }
        return body.components(separatedBy: "\n\n")[0].split(separator: "\n")
    }

    /// The `--name` words of `text`, in order.
    static func optionNames(in text: String) -> [String] {
        text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-") })
            .filter { $0.hasPrefix("--") && $0.count > 2 }.map(String.init)
    }

    // MARK: inspect and synth

    func testInspectJSONParses() throws {
        let run = try crosssim(["inspect", Fixtures.path("sharded"), Fixtures.path("bad/nan_row.npy"), "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let parsed = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        let sets = try XCTUnwrap(parsed as? [[String: Any]], "one object per set")
        XCTAssertEqual(sets.count, 2)
        XCTAssertEqual(sets[0]["rows"] as? Int, 5)
        XCTAssertEqual(sets[0]["dim"] as? Int, 3)
        XCTAssertEqual((sets[0]["shards"] as? [Any])?.count, 3)
        XCTAssertEqual((sets[1]["nan_or_inf_rows"] as? [String: Any])?["count"] as? Int, 1)
    }

    func testSynthThenEval() throws {
        let data = try synth(["--captions", "2", "--shards", "3", "--zstd", "1"])
        for name in ["x1", "x2"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: data + "/" + name).sorted()
            XCTAssertEqual(files, ["part-0.npy.zst", "part-1.npy.zst", "part-2.npy.zst"], name)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: data + "/pairs.npy"))
        let out = try temporaryDirectory(self) + "/r.json"
        let run = try crosssim(["eval", data + "/x1", data + "/x2", "--pairs", data + "/pairs.npy", "--json", out, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try json(out)
        let retrieval = report["retrieval"] as? [String: Any]
        XCTAssertEqual((retrieval?["x2_to_x1"] as? [String: Any])?["queries"] as? Int, 120)
        // noise 1.5 relative to unit signal at D = 16: clearly better than chance.
        let recall = ((retrieval?["x1_to_x2"] as? [String: Any])?["recall"] as? [String: Double])?["10"]
        XCTAssertGreaterThan(recall ?? 0, 10.0 / 120)
    }

    /// Options whose figures would overflow are bad input, never a trap in the JSON writer.
    func testExtremeTemperaturesAndSigLIPTermsAreRefused() throws {
        let data = try synth()
        let out = try temporaryDirectory(self) + "/report.json"
        for extra in [["--tau", "5e-324"], ["--siglip", "1e308:1e308"], ["--logit-scale", "1e308"]] {
            let run = try crosssim(["eval", data + "/x1", data + "/x2", "--quiet", "--json", out] + extra)
            XCTAssertEqual(run.status, 2, "\(extra): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for \(extra)")
        }
    }
}
