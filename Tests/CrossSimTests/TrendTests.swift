import CrossSim
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `crosssim trend` (docs/command-line.md): reports in the order they were made, changes of
/// input data marked, anything that is not a report refused.
final class TrendTests: XCTestCase {
    func elements(_ svgPath: String) throws -> [PlotTests.Element] {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: svgPath)))
        let collector = PlotTests.Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "well-formed XML")
        return collector.elements
    }

    /// Four nights given out of order; the data of x2 changed before the third.
    func history() throws -> (paths: [String], inOrder: [String]) {
        let dir = try temporaryDirectory(self, "history")
        var random = TestRandom(seed: 8)
        let difficulty = (0..<200).map { _ in random.gaussian() }
        var paths: [String] = []
        for (night, day) in [21, 20, 23, 22].enumerated() {
            var run = PerQueryRun.random(x1Rows: 200, difficulty: difficulty, skill: 0.1 * Double(day - 20), seed: UInt64(day))
            run.created = "2026-11-\(day)T03:00:0\(night)Z"
            if day >= 22 { run.x2Fingerprint = "xxh64:00000000000000c2" }
            paths.append(try run.write(to: dir + "/night-\(day)", perQuery: .absent))
        }
        return (paths, [paths[1], paths[0], paths[3], paths[2]])
    }

    func testReportsAreDrawnInTheOrderTheyWereMadeWithDataChangesMarked() throws {
        let (paths, inOrder) = try history()
        let out = try temporaryDirectory(self) + "/trend.svg"
        let run = try runCrossSim(["trend"] + paths + ["--out", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        let svg = try elements(out)
        let defaults = ["x1_to_x2.recall@1", "x2_to_x1.recall@1", "symmetric.infonce@0.05"]
        for metric in defaults {
            let points = svg.filter { $0.attributes["class"] == "trend-point" && $0.attributes["data-metric"] == metric }
            XCTAssertEqual(points.map { $0.attributes["data-report"] ?? "" }, inOrder, metric)
            for point in points {
                let report = try ReportFile(path: point.attributes["data-report"]!)
                XCTAssertEqual(point.double("data-value"), report.value(of: try ReportMetric(parsing: metric)), metric)
                XCTAssertEqual(point.attributes["data-created"].flatMap(Provenance.date(iso8601:)), report.created)
            }
        }
        let changes = svg.filter { $0.attributes["class"] == "input-change" }
        XCTAssertEqual(changes.count, defaults.count, "marked in every panel")
        XCTAssertTrue(changes.allSatisfy { $0.attributes["data-after"] == "2" && $0.attributes["data-sets"] == "x2" })
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1 + 4 + 1, run.stdout)
        XCTAssertTrue(lines[0].contains("created") && lines[0].contains("symmetric.infonce@0.05"), lines[0])
        XCTAssertTrue(lines[3].contains("inputs changed: x2"), run.stdout)
        XCTAssertTrue(lines[1].contains(inOrder[0]) && lines[5].contains(inOrder[3]), run.stdout)
    }

    func testChosenMetricsGetOnePanelEach() throws {
        let (paths, _) = try history()
        let trend = try Trend(paths: paths, metrics: [try ReportMetric(parsing: "x2_to_x1.mrr"),
                                                      try ReportMetric(parsing: "symmetric.infonce@0.01")])
        XCTAssertEqual(trend.metrics.map(\.description), ["x2_to_x1.mrr", "symmetric.infonce@0.01"])
        XCTAssertEqual(trend.points.map { $0.values.compactMap { $0 }.count }, [2, 2, 2, 2])
        XCTAssertEqual(trend.inputChanges.map(\.after), [2])
    }

    /// Real reports of `eval`: the same data twice, then other data, which is marked.
    func testAHistoryOfEvalReportsMarksNewData() throws {
        let dir = try temporaryDirectory(self)
        var reports: [String] = []
        for (night, seed) in [1, 1, 2].enumerated() {
            let data = dir + "/data-\(night)"
            XCTAssertEqual(try runCrossSim(["synth", data, "--n", "200", "--dim", "16", "--seed", String(seed)]).status, 0)
            let report = dir + "/night-\(night).json"
            let run = try runCrossSim(["eval", data + "/x1", data + "/x2", "--json", report, "--quiet", "--tau", "0.07"])
            XCTAssertEqual(run.status, 0, run.stderr)
            reports.append(report)
            Thread.sleep(forTimeInterval: 1.05)  // `created` is to the second
        }
        let trend = try Trend(paths: reports.reversed())
        XCTAssertEqual(trend.points.map(\.path), reports)
        XCTAssertEqual(trend.metrics.map(\.description), ["x1_to_x2.recall@1", "x2_to_x1.recall@1", "symmetric.infonce@0.07"])
        XCTAssertEqual(trend.inputChanges.map(\.after), [2])
        XCTAssertEqual(trend.inputChanges.first?.sets, ["x1", "x2"])
        XCTAssertTrue(trend.notes.isEmpty, "\(trend.notes)")
    }

    func testWhatIsNotAReportExitsWith2NamingTheFile() throws {
        let (paths, _) = try history()
        let dir = try temporaryDirectory(self, "bad")
        let out = dir + "/trend.svg"
        func refused(_ arguments: [String], _ expected: [String], line: UInt = #line) throws {
            let run = try runCrossSim(["trend"] + arguments + ["--out", out])
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)", line: line)
            for text in expected { XCTAssertTrue(run.stderr.contains(text), "expected \(text) in \(run.stderr)", line: line) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written", line: line)
        }
        try TestNPY.write(int64: [1, 2, 3], to: dir + "/ranks.npy")
        try refused([paths[0], dir + "/ranks.npy"], [dir + "/ranks.npy", "not a CrossSim report"])
        try Data("created,recall\n2026-11-20,0.5\n".utf8).write(to: URL(fileURLWithPath: dir + "/table.csv"))
        try refused([dir + "/table.csv", paths[0]], [dir + "/table.csv", "not a CrossSim report"])
        try Data("{\"schema\": \"crosssim.compare/1\", \"metrics\": []}".utf8).write(to: URL(fileURLWithPath: dir + "/compare.json"))
        try refused([paths[0], dir + "/compare.json"], [dir + "/compare.json", "crosssim.compare/1"])
        try refused([paths[0], dir + "/missing.json"], [dir + "/missing.json", "no such file"])
        try refused([paths[0], dir], [dir, "is a directory"])
        var old = try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: paths[1])))
        if case .object(let fields) = old { old = .object(fields.filter { $0.0 != "created" }) }
        try Data(old.rendered().utf8).write(to: URL(fileURLWithPath: dir + "/old.json"))
        try refused([paths[0], dir + "/old.json"], [dir + "/old.json", "\"created\""])
        try refused(paths + ["--metric", "x1_to_x2.recall"], ["unknown metric 'x1_to_x2.recall'"])
        try refused(paths + ["--metric", "x1_to_x2.recall@3"], ["no report has x1_to_x2.recall@3"])
    }
}
