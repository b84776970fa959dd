import CrossSim
import CrossSimPlot
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `crosssim compare` (docs/command-line.md): the paired bootstrap against numpy's, a report
/// against itself, determinism, verdicts and exit codes, and every kind of bad input.
final class CompareTests: XCTestCase {
    /// Two models over `queries` pairs: `new` better by `skill`, both sharing each pair's
    /// difficulty. Returns the reports' paths.
    func twoRuns(queries: Int = 2000, pairs: [Int]? = nil, skill: Double = 0.1, seed: UInt64 = 1,
                 name: String = #function) throws -> (base: String, new: String, runs: (PerQueryRun, PerQueryRun)) {
        let dir = try temporaryDirectory(self, name)
        var random = TestRandom(seed: seed)
        let difficulty = (0..<queries).map { _ in random.gaussian() }
        let base = PerQueryRun.random(x1Rows: queries, pairs: pairs, difficulty: difficulty, skill: 0, seed: seed &+ 1)
        var new = PerQueryRun.random(x1Rows: queries, pairs: pairs, difficulty: difficulty, skill: skill, seed: seed &+ 2)
        new.created = "2026-11-21T03:00:00Z"
        return (try base.write(to: dir + "/base"), try new.write(to: dir + "/new"), (base, new))
    }

    func comparison(_ base: String, _ new: String, seed: UInt64 = 0, resamples: Int = 10_000, threads: Int? = nil,
                    tolerance: Double = 0) throws -> Comparison {
        var options = Comparison.Options()
        options.seed = seed
        options.resamples = resamples
        options.threads = threads
        options.tolerance = tolerance
        return try Comparison(base: base, new: new, options: options)
    }

    // MARK: Against numpy

    /// numpy's paired bootstrap of the same per-query files (its own generator and seed):
    /// for each metric name, the difference, the percentile interval and the bootstrap's
    /// standard deviation.
    func numpyBootstrap(base: String, new: String, resamples: Int, identity: Bool, taus: [String], ks: [Int]) throws
        -> [String: (difference: Double, lower: Double, upper: Double, sd: Double)] {
        let script = #"""
        import json, sys
        import numpy as np
        base, new, B, identity = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
        taus, ks = json.loads(sys.argv[5]), json.loads(sys.argv[6])
        rng = np.random.default_rng(20240607)
        columns = {}
        for d in ["x1_to_x2", "x2_to_x1"]:
            rb, rn = np.load(f"{base}/{d}.rank.npy"), np.load(f"{new}/{d}.rank.npy")
            ib, inew = np.load(f"{base}/{d}.infonce.npy"), np.load(f"{new}/{d}.infonce.npy")
            keep = rb > 0
            rb, rn, ib, inew = rb[keep], rn[keep], ib[keep], inew[keep]
            c = {f"{d}.recall@{k}": (rn <= k).astype(float) - (rb <= k).astype(float) for k in ks}
            c[f"{d}.mrr"] = 1.0 / rn - 1.0 / rb
            c[f"{d}.mean_rank"] = (rn - rb).astype(float)
            for t, tau in enumerate(taus):
                c[f"{d}.infonce@{tau}"] = inew[:, t] - ib[:, t]
            columns[d] = c
        samples = {name: [] for d in columns for name in columns[d]}
        n1, n2 = (len(next(iter(columns[d].values()))) for d in ["x1_to_x2", "x2_to_x1"])
        for start in range(0, B, 500):
            chunk = min(500, B - start)
            draws1 = rng.integers(0, n1, size=(chunk, n1))
            draws2 = draws1 if identity else rng.integers(0, n2, size=(chunk, n2))
            for d, draws in (("x1_to_x2", draws1), ("x2_to_x1", draws2)):
                for name, values in columns[d].items():
                    samples[name].append(values[draws].mean(axis=1))
        samples = {name: np.concatenate(parts) for name, parts in samples.items()}
        for tau in taus:
            samples[f"symmetric.infonce@{tau}"] = (samples[f"x1_to_x2.infonce@{tau}"] + samples[f"x2_to_x1.infonce@{tau}"]) / 2
        differences = {name: float(v.mean()) for d in columns for name, v in columns[d].items()}
        for tau in taus:
            differences[f"symmetric.infonce@{tau}"] = (differences[f"x1_to_x2.infonce@{tau}"] + differences[f"x2_to_x1.infonce@{tau}"]) / 2
        out = {}
        for name, v in samples.items():
            lo, hi = np.percentile(v, [2.5, 97.5])
            out[name] = [differences[name], float(lo), float(hi), float(v.std())]
        print(json.dumps(out))
        """#
        let run = try runProgram("/usr/bin/env", ["python3", "-c", script, base, new, String(resamples), identity ? "1" : "0",
                                                  "[" + taus.map { "\"\($0)\"" }.joined(separator: ",") + "]",
                                                  "[" + ks.map(String.init).joined(separator: ",") + "]"], timeout: 300)
        guard run.status == 0 else {
            XCTFail("numpy is needed for this test (scripts/test.sh installs it): \(run.stderr)")
            return [:]
        }
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: [Double]])
        return parsed.mapValues { ($0[0], $0[1], $0[2], $0[3]) }
    }

    /// Each interval's endpoints agree with numpy's within Monte-Carlo error: two estimates of
    /// a 2.5 % quantile from 10⁴ resamples differ by about 0.04 bootstrap standard deviations,
    /// so 0.25 of one (six times that), plus a rank step of 1/n for the discrete metrics.
    func assertAgreesWithNumpy(_ comparison: Comparison, _ numpy: [String: (difference: Double, lower: Double, upper: Double, sd: Double)],
                               queries: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(comparison.metrics.map(\.name)), Set(numpy.keys), file: file, line: line)
        for metric in comparison.metrics {
            guard let reference = numpy[metric.name] else { continue }
            assertClose(metric.difference, reference.difference, relative: 1e-9, absolute: 1e-12, "\(metric.name) difference",
                        file: file, line: line)
            let allowed = 0.25 * reference.sd + 1 / Double(queries)
            XCTAssertLessThanOrEqual(abs(metric.interval.lower - reference.lower), allowed,
                                     "\(metric.name): lower \(metric.interval.lower), numpy \(reference.lower)", file: file, line: line)
            XCTAssertLessThanOrEqual(abs(metric.interval.upper - reference.upper), allowed,
                                     "\(metric.name): upper \(metric.interval.upper), numpy \(reference.upper)", file: file, line: line)
            XCTAssertGreaterThan(reference.sd, 0, metric.name, file: file, line: line)
        }
    }

    func testIntervalsAgreeWithNumpyPairedBootstrapOnIdentityPairs() throws {
        let (base, new, _) = try twoRuns(queries: 2000, skill: 0.05)
        let comparison = try comparison(base, new)
        let numpy = try numpyBootstrap(base: base.replacingOccurrences(of: "report.json", with: "per-query"),
                                       new: new.replacingOccurrences(of: "report.json", with: "per-query"),
                                       resamples: 10_000, identity: true, taus: ["0.05", "0.01"], ks: [1, 5, 10])
        assertAgreesWithNumpy(comparison, numpy, queries: 2000)
    }

    /// Five captions per image, and some images without any: each direction's queries are
    /// resampled on their own, x1 → x2 over the images that have a caption.
    func testIntervalsAgreeWithNumpyPairedBootstrapWithAPairsFile() throws {
        let images = 500
        let pairs = (0..<2000).map { $0 / 5 }  // images 400… have no caption
        let (base, new, _) = try twoRuns(queries: images, pairs: pairs, skill: 0.05, seed: 5)
        let comparison = try comparison(base, new)
        XCTAssertEqual(comparison.queries.x1ToX2, Set(pairs).count)
        XCTAssertEqual(comparison.queries.x2ToX1, 2000)
        let numpy = try numpyBootstrap(base: base.replacingOccurrences(of: "report.json", with: "per-query"),
                                       new: new.replacingOccurrences(of: "report.json", with: "per-query"),
                                       resamples: 10_000, identity: false, taus: ["0.05", "0.01"], ks: [1, 5, 10])
        assertAgreesWithNumpy(comparison, numpy, queries: Set(pairs).count)
    }

    // MARK: Itself, determinism, verdicts

    func testAReportComparedWithItselfDiffersByZeroAndIsUnchanged() throws {
        let (base, _, runs) = try twoRuns(queries: 300)
        let run = try runCrossSim(["compare", base, base, "--fail-on-regression", "--bootstrap", "500",
                                   "--json", base + ".compare.json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("no regression"), run.stdout)
        let json = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: base + ".compare.json")))
        let metrics = try XCTUnwrap(json["metrics"]?.array)
        XCTAssertEqual(metrics.count, 2 * (3 + 2 + 2) + 2)
        for metric in metrics {
            XCTAssertEqual(metric["difference"]?.number, 0, metric["name"]?.string ?? "")
            XCTAssertEqual(metric["ci"]?.array?.compactMap(\.number), [0, 0], metric["name"]?.string ?? "")
            XCTAssertEqual(metric["verdict"]?.string, "unchanged", metric["name"]?.string ?? "")
            XCTAssertEqual(metric["base"]?.number, metric["new"]?.number)
        }
        for direction in PerQueryRun.directions {
            XCTAssertEqual(json["queries"]?[direction]?["same"]?.integer, runs.0.ranks[direction]!.filter { $0 > 0 }.count)
            XCTAssertEqual(json["queries"]?[direction]?["better"]?.integer, 0)
            XCTAssertEqual(json["largest_changes"]?[direction]?.array?.count, 0)
        }
    }

    func testTheJSONHasExactlyTheKeysOfTheSchema() throws {
        let (base, new, _) = try twoRuns(queries: 400)
        let out = try temporaryDirectory(self) + "/compare.json"
        let run = try runCrossSim(["compare", base, new, "--bootstrap", "300", "--seed", "9", "--confidence", "0.9", "--json", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(json.object?.map(\.0).sorted(),
                       ["base", "bootstrap", "confidence", "largest_changes", "metrics", "new", "queries", "schema", "seed"])
        XCTAssertEqual(json["schema"]?.string, "crosssim.compare/1")
        XCTAssertEqual(json["base"]?.string, base)
        XCTAssertEqual(json["new"]?.string, new)
        XCTAssertEqual(json["bootstrap"]?.integer, 300)
        XCTAssertEqual(json["confidence"]?.number, 0.9)
        XCTAssertEqual(json["seed"]?.integer, 9)
        let names = try XCTUnwrap(json["metrics"]?.array).compactMap { $0["name"]?.string }
        XCTAssertEqual(names, ["x1_to_x2.recall@1", "x1_to_x2.recall@5", "x1_to_x2.recall@10", "x1_to_x2.mrr", "x1_to_x2.mean_rank",
                               "x1_to_x2.infonce@0.05", "x1_to_x2.infonce@0.01",
                               "x2_to_x1.recall@1", "x2_to_x1.recall@5", "x2_to_x1.recall@10", "x2_to_x1.mrr", "x2_to_x1.mean_rank",
                               "x2_to_x1.infonce@0.05", "x2_to_x1.infonce@0.01",
                               "symmetric.infonce@0.05", "symmetric.infonce@0.01"])
        for metric in try XCTUnwrap(json["metrics"]?.array) {
            XCTAssertEqual(metric.object?.map(\.0).sorted(), ["base", "ci", "difference", "name", "new", "verdict"])
        }
    }

    /// Rank changes counted per direction, and the 20 largest listed by |new − base|, then index.
    func testRankChangesAreCountedAndTheLargestListed() throws {
        let (base, new, runs) = try twoRuns(queries: 500, skill: 0.3)
        let comparison = try comparison(base, new, resamples: 50)
        for (direction, changes) in comparison.rankChanges {
            let b = runs.0.ranks[direction.rawValue]!, n = runs.1.ranks[direction.rawValue]!
            XCTAssertEqual(changes.better, zip(b, n).filter { $0.0 > 0 && $0.1 < $0.0 }.count)
            XCTAssertEqual(changes.worse, zip(b, n).filter { $0.0 > 0 && $0.1 > $0.0 }.count)
            XCTAssertEqual(changes.same, zip(b, n).filter { $0.0 > 0 && $0.1 == $0.0 }.count)
            let expected = b.indices.filter { b[$0] != n[$0] }
                .sorted { abs(n[$0] - b[$0]) != abs(n[$1] - b[$1]) ? abs(n[$0] - b[$0]) > abs(n[$1] - b[$1]) : $0 < $1 }
            XCTAssertEqual(changes.largest.map(\.index), Array(expected.prefix(20)))
            XCTAssertEqual(changes.largest.map(\.baseRank), Array(expected.prefix(20)).map { b[$0] })
            XCTAssertEqual(changes.largest.map(\.newRank), Array(expected.prefix(20)).map { n[$0] })
        }
    }

    /// The same seed gives the same intervals, bit for bit, on any number of threads; another
    /// seed gives others.
    func testIntervalsDependOnTheSeedNotOnTheThreads() throws {
        let (base, new, _) = try twoRuns(queries: 3000)
        let one = try comparison(base, new, resamples: 700, threads: 1)
        for threads in [2, 7] {
            let other = try comparison(base, new, resamples: 700, threads: threads)
            for (a, b) in zip(one.metrics, other.metrics) {
                XCTAssertEqual(a.interval.lower.bitPattern, b.interval.lower.bitPattern, "\(a.name), \(threads) threads")
                XCTAssertEqual(a.interval.upper.bitPattern, b.interval.upper.bitPattern, "\(a.name), \(threads) threads")
            }
        }
        let reseeded = try comparison(base, new, seed: 1, resamples: 700, threads: 2)
        XCTAssertNotEqual(one.metrics.map(\.interval.lower), reseeded.metrics.map(\.interval.lower))
    }

    /// A clearly worse model: `regressed` where the whole interval is on the worse side; exit
    /// 3 with --fail-on-regression, naming the metrics; 0 without it; a tolerance wider than
    /// the change turns the verdicts to `unchanged`.
    func testARegressionFailsWithExitCode3() throws {
        let (base, new, _) = try twoRuns(queries: 1500, skill: -0.6)
        let comparison = try comparison(base, new, resamples: 1000)
        for metric in comparison.metrics {
            XCTAssertEqual(metric.verdict, .regressed, "\(metric.name): \(metric.difference) in \(metric.interval)")
            let worse = metric.metric.lowerIsBetter ? metric.interval.lower > 0 : metric.interval.upper < 0
            XCTAssertTrue(worse, metric.name)
        }
        let failing = try runCrossSim(["compare", base, new, "--bootstrap", "1000", "--fail-on-regression"])
        XCTAssertEqual(failing.status, 3, failing.stderr)
        XCTAssertTrue(failing.stderr.contains("regressed: x1_to_x2.recall@1"), failing.stderr)
        XCTAssertTrue(failing.stdout.contains("regressed"), failing.stdout)
        let reporting = try runCrossSim(["compare", base, new, "--bootstrap", "1000"])
        XCTAssertEqual(reporting.status, 0, reporting.stderr)
        let tolerant = try self.comparison(base, new, resamples: 1000, tolerance: 1e6)
        XCTAssertTrue(tolerant.metrics.allSatisfy { $0.verdict == .unchanged })
        XCTAssertEqual(try self.comparison(new, base, resamples: 1000).metrics.map(\.verdict),
                       Array(repeating: .improved, count: comparison.metrics.count))
    }

    func testVerdictNeedsTheWholeIntervalBeyondTheTolerance() {
        typealias V = Comparison.Verdict
        let cases: [((Double, Double), Bool, Double, V)] = [
            ((0.01, 0.02), false, 0, .improved), ((-0.02, -0.01), false, 0, .regressed), ((-0.01, 0.01), false, 0, .unchanged),
            ((0, 0), false, 0, .unchanged), ((0.01, 0.02), true, 0, .regressed), ((-0.02, -0.01), true, 0, .improved),
            ((0.01, 0.02), false, 0.01, .unchanged), ((0.011, 0.02), false, 0.01, .improved), ((-0.02, -0.011), true, 0.01, .improved),
        ]
        for (interval, lowerIsBetter, tolerance, expected) in cases {
            XCTAssertEqual(Comparison.verdict(interval, lowerIsBetter: lowerIsBetter, tolerance: tolerance), expected,
                           "\(interval), lower is better: \(lowerIsBetter), tolerance \(tolerance)")
        }
    }

    // MARK: The picture

    func testThePlotDrawsEveryDifferenceWithItsInterval() throws {
        let (base, new, _) = try twoRuns(queries: 600, skill: 0.3)
        let out = try temporaryDirectory(self) + "/compare.svg"
        let json = out + ".json"
        let run = try runCrossSim(["compare", base, new, "--bootstrap", "400", "--tolerance", "0.001", "--plot", out, "--json", json])
        XCTAssertEqual(run.status, 0, run.stderr)
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: out)))
        let collector = PlotTests.Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "well-formed XML")
        let drawn = collector.elements.filter { $0.attributes["class"] == "difference" }
        let metrics = try XCTUnwrap(try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: json)))["metrics"]?.array)
        XCTAssertEqual(drawn.map { $0.attributes["data-metric"] ?? "" }.sorted(), metrics.compactMap { $0["name"]?.string }.sorted())
        for metric in metrics {
            let mark = try XCTUnwrap(drawn.first { $0.attributes["data-metric"] == metric["name"]?.string })
            XCTAssertEqual(mark.double("data-difference"), metric["difference"]?.number)
            XCTAssertEqual(mark.double("data-lower"), metric["ci"]?.array?[0].number)
            XCTAssertEqual(mark.double("data-upper"), metric["ci"]?.array?[1].number)
            XCTAssertEqual(mark.attributes["data-verdict"], metric["verdict"]?.string)
        }
        XCTAssertEqual(collector.elements.filter { $0.attributes["class"] == "tolerance-band" }.count, 3, "one band per panel")
    }

    // MARK: Bad input: exit 2 naming the file, nothing written

    func assertRefused(_ arguments: [String], naming expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try temporaryDirectory(self, "refused") + "/out.json"
        let run = try runCrossSim(["compare", "--bootstrap", "100"] + arguments + ["--json", out])
        XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)", file: file, line: line)
        for text in expected { XCTAssertTrue(run.stderr.contains(text), "\(arguments): expected \(text) in \(run.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", file: file, line: line)
    }

    func testReportsThatCannotBeComparedExitWith2NamingTheFile() throws {
        let (base, new, runs) = try twoRuns(queries: 200)
        let dir = try temporaryDirectory(self, "bad")
        // Not reports.
        try assertRefused([base, dir + "/missing.json"], naming: ["missing.json", "no such file"])
        try assertRefused([base, dir], naming: [dir, "directory"])
        let perQueryFile = new.replacingOccurrences(of: "report.json", with: "per-query/x1_to_x2.rank.npy")
        try assertRefused([base, perQueryFile], naming: [perQueryFile, "not a CrossSim report"])
        try Data("{\"schema\": \"crosssim.compare/1\"}".utf8).write(to: URL(fileURLWithPath: dir + "/compare.json"))
        try assertRefused([dir + "/compare.json", new], naming: ["compare.json", "crosssim.compare/1"])
        try Data("{\"schema\": \"crosssim.report/1\", \"inputs\": null}".utf8).write(to: URL(fileURLWithPath: dir + "/null.json"))
        try assertRefused([base, dir + "/null.json"], naming: ["null.json", "not a CrossSim report"])
        // No per-query results.
        let without = try runs.1.write(to: dir + "/without", perQuery: .absent)
        try assertRefused([base, without], naming: [without, "--per-query"])
        // Other queries: rows, pairs.
        var other = runs.1
        other.x2Rows += 1
        try assertRefused([base, try other.write(to: dir + "/rows")], naming: [dir + "/rows/report.json", "x2 has 201 rows here, 200"])
        let pairs = Array(0..<200)
        let withPairs = PerQueryRun.random(x1Rows: 200, pairs: pairs, difficulty: Array(repeating: 0, count: 200), skill: 0, seed: 3)
        try assertRefused([base, try withPairs.write(to: dir + "/pairs")], naming: [dir + "/pairs/report.json", "identity pairs there"])
        var otherPairs = withPairs
        otherPairs.pairsFingerprint = "xxh64:00000000000000ff"
        try assertRefused([try withPairs.write(to: dir + "/pairs"), try otherPairs.write(to: dir + "/pairs2")],
                          naming: [dir + "/pairs2/report.json", "the pairs differ"])
        // Per-query files: missing, wrong dtype, wrong shape, out of range, another run's.
        let broken = try runs.1.write(to: dir + "/broken")
        let rankFile = dir + "/broken/per-query/x2_to_x1.rank.npy"
        try FileManager.default.removeItem(atPath: rankFile)
        try assertRefused([base, broken], naming: [rankFile, "no such file"])
        try TestNPY.write(float32: Array(repeating: 1, count: 200), shape: [200], to: rankFile)
        try assertRefused([base, broken], naming: [rankFile, "unsupported dtype '<f4'"])
        try TestNPY.write(int64: Array(repeating: 1, count: 199), to: rankFile)
        try assertRefused([base, broken], naming: [rankFile, "wrong shape (199,)"])
        try TestNPY.write(int64: Array(repeating: 1, count: 199) + [201], to: rankFile)
        try assertRefused([base, broken], naming: [rankFile, "row 199", "rank 201"])
        try TestNPY.write(int64: runs.1.ranks["x2_to_x1"]!.map { $0 + 1 }.map { min($0, 200) }, to: rankFile)
        try assertRefused([base, broken], naming: [broken, "not this report's"])
        let lossFile = dir + "/broken/per-query/x1_to_x2.infonce.npy"
        try runs.1.write(to: dir + "/broken")
        var losses = runs.1.infonce["x1_to_x2"]!
        losses[7 * 2 + 1] = .nan
        try TestNPY.write(float64: losses, shape: [200, 2], to: lossFile)
        try assertRefused([base, broken], naming: [lossFile, "row 7", "nan"])
        // Options.
        try assertRefused([base, new, "--confidence", "1"], naming: ["--confidence"])
        try assertRefused([base, new, "--bootstrap", "0"], naming: ["--bootstrap"])
        try assertRefused([base, new, "--seed", "9007199254740992"], naming: ["--seed"])
    }

    /// per_query.path as given on the command line: found from the working directory, or else
    /// relative to the report's own directory.
    func testARelativePerQueryPathIsFoundBesideTheReport() throws {
        let (_, _, runs) = try twoRuns(queries: 100)
        let dir = try temporaryDirectory(self, "relative")
        let written = "per-query-\(UUID().uuidString)"
        let path = try runs.0.write(to: dir, perQuery: .written(written))
        try FileManager.default.moveItem(atPath: dir + "/per-query", toPath: dir + "/" + written)
        XCTAssertEqual(try ReportFile(path: path).perQueryDirectory, dir + "/" + written)
        XCTAssertNoThrow(try comparison(path, path, resamples: 20))
    }

    func testMetricNamesReadBackAsWritten() throws {
        for name in ["x1_to_x2.recall@5", "x2_to_x1.mrr", "x1_to_x2.mean_rank", "x2_to_x1.median_rank", "x1_to_x2.infonce@0.05",
                     "symmetric.infonce@0.01", "symmetric.dcl@1", "x2_to_x1.dcl@0.07"] {
            XCTAssertEqual(try ReportMetric(parsing: name).description, name)
        }
        for bad in ["recall@1", "x1_to_x2.recall", "x1_to_x2.recall@0", "symmetric.mrr", "x1_to_x2.infonce@-1", "x3_to_x1.mrr",
                    "x1_to_x2.mrr@1"] {
            XCTAssertThrowsError(try ReportMetric(parsing: bad), bad)
        }
    }

    // MARK: The resampling's parts

    /// Binomial draws by inversion (small means) and by BTRS (large ones): mean and variance
    /// within five standard errors of n·p and n·p·(1 − p).
    func testBinomialDrawsHaveTheBinomialsMeanAndVariance() {
        for (n, p) in [(20, 0.1), (1000, 0.004), (1000, 0.3), (1_000_000, 0.0041), (50_000, 0.93), (7, 1.0), (0, 0.5)] {
            var random = BootstrapRandom(seed: 11, UInt64(n))
            let draws = 40_000
            let values = (0..<draws).map { _ in Double(random.binomial(trials: n, probability: p)) }
            XCTAssertTrue(values.allSatisfy { $0 >= 0 && $0 <= Double(n) }, "Binomial(\(n), \(p)) within 0…n")
            let mean = values.reduce(0, +) / Double(draws)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws - 1)
            let expectedVariance = Double(n) * p * (1 - p)
            XCTAssertLessThanOrEqual(abs(mean - Double(n) * p), 5 * (expectedVariance / Double(draws)).squareRoot() + 1e-12,
                                     "Binomial(\(n), \(p)) mean \(mean)")
            // The variance of a sample variance is about 2σ⁴/(draws − 1) for near-normal draws.
            XCTAssertLessThanOrEqual(abs(variance - expectedVariance), 5 * expectedVariance * (2.5 / Double(draws)).squareRoot() + 1e-12,
                                     "Binomial(\(n), \(p)) variance \(variance)")
        }
    }

    /// A resample draws n queries: its mean of a column of ones is exactly 1, and of the
    /// indicator of one query, a count over n.
    func testEveryResampleDrawsAsManyQueriesAsThereAre() {
        let rows = 5000
        let table = PairedBootstrap.Table(rows: rows, width: 2)
        for r in 0..<rows { table.set(row: r, column: 0, 1) }
        table.set(row: 1234, column: 1, 1)
        let means = PairedBootstrap(resamples: 300, seed: 4, threads: 2).means(of: table, stream: 0)
        for s in 0..<300 {
            XCTAssertEqual(means[2 * s] * Double(rows), Double(rows), accuracy: 1e-9)
            let count = means[2 * s + 1] * Double(rows)
            XCTAssertEqual(count, count.rounded(), accuracy: 1e-9)
        }
        // Query 1234 is drawn on average once per resample.
        let average = (0..<300).reduce(0.0) { $0 + means[2 * $1 + 1] * Double(rows) } / 300
        XCTAssertEqual(average, 1, accuracy: 5 * (1.0 / 300).squareRoot())
    }
}
