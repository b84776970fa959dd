import Foundation
import XCTest

/// Today's reports of the bundled sample and of a synthetic set, pinned within
/// docs/accuracy.md: a change of structure must not move a figure. The golden files are the
/// reports of the same commands (Tests/Fixtures/golden/README.md).
final class GoldenTests: XCTestCase {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    func assertMatchesGolden(_ name: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try temporaryDirectory(self) + "/\(name).json"
        let run = try runCrossSim(arguments + ["--json", out, "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        let got = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out)))
        let golden = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("golden/\(name).json"))))
        // The golden files come from one machine's kernel path; this one may run another.
        assertSameResults(got, golden, otherPath: true, file: file, line: line)
    }

    func testFunctionsSample() throws {
        let data = Self.repository.appendingPathComponent("data/functions").path
        try assertMatchesGolden("functions", ["eval", data + "/x1", data + "/x2", "--tau", "0.05", "0.01",
                                              "--siglip", "10:-10", "--top-k", "10", "--uniformity"])
    }

    func testSyntheticSet() throws {
        let data = try temporaryDirectory(self, "synth") + "/data"
        let synth = try runCrossSim(["synth", data, "--n", "3000", "--dim", "64", "--seed", "7"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        try assertMatchesGolden("synthetic", ["eval", data + "/x1", data + "/x2", "--tau", "0.05", "0.01", "--siglip", "10:-10",
                                              "--top-k", "5", "--uniformity", "--histogram"])
    }
}
