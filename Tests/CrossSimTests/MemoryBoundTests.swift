import Foundation
import XCTest

/// The memory bound of docs/performance.md at a thread count far above the cores: x1 + x2 + 256 MiB + one
/// tile's scratch per thread, whatever else the threads hold. Worker and slot state used to be
/// sized to all of x2 per thread (2.5 GiB here at 64 threads); it is now one panel of columns.
/// A release build runs it (scripts/test.sh makes one): a debug build's kernels take minutes.
final class MemoryBoundTests: XCTestCase {
    func testSixtyFourThreadsStayWithinTheBound() throws {
        let package = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        let release = package.appendingPathComponent(".build/release/crosssim").path
        guard FileManager.default.isExecutableFile(atPath: release) else {
            throw XCTSkip("needs the release build (swift build -c release; scripts/test.sh makes it)")
        }
        let (n, dim, threads) = (262_144, 32, 64)
        let dir = try temporaryDirectory(self)
        let synth = try runProgram(release, ["synth", dir, "--n", "\(n)", "--dim", "\(dim)", "--dtype", "f32"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        let out = dir + "/report.json"
        let run = try runProgram(release, ["eval", dir + "/x1", dir + "/x2", "--threads", "\(threads)", "--top-k", "10",
                                           "--tau", "0.05", "0.01", "--quiet", "--json", out], timeout: 1200)
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        let engine = report["engine"] as! [String: Any]
        let tile = engine["tile"] as! [Int]
        let peak = (engine["peak_rss_bytes"] as! NSNumber).intValue
        let bound = 2 * n * dim * 4 + (256 << 20) + threads * tile[0] * tile[1] * 4
        XCTAssertLessThanOrEqual(peak, bound, "peak RSS \(peak >> 20) MiB against the bound \(bound >> 20) MiB")
    }
}
