import Foundation
import XCTest

/// The Slurm array job of deploy/slurm, submitted for real to the one-node cluster that
/// scripts/test.sh starts (CROSSSIM_SLURM_TEST=1); skipped where no cluster runs. Each task
/// runs another kernel path, as tasks on machines of different CPU generations would.
final class SlurmTests: XCTestCase {
    func testArrayJobAndMergeGiveTheSingleRunsReport() throws {
        guard ProcessInfo.processInfo.environment["CROSSSIM_SLURM_TEST"] == "1" else {
            throw XCTSkip("no local Slurm cluster (scripts/test.sh starts one)")
        }
        let executable = try XCTUnwrap(crossSimExecutable, "the crosssim executable")
        let dir = try temporaryDirectory(self, "slurm")
        XCTAssertEqual(try runCrossSim(["synth", dir + "/data", "--n", "200", "--dim", "32", "--shards", "2"]).status, 0)
        let single = dir + "/single.json"
        XCTAssertEqual(try runCrossSim(["eval", dir + "/data/x1", dir + "/data/x2", "--quiet", "--json", single]).status, 0)
        let submit = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/slurm/submit.sh").path
        let run = try runProgram("/bin/bash", [submit, "-k", "3", "-o", dir + "/out", "--wait=240", dir + "/data/x1", dir + "/data/x2"],
                                 environment: ["CROSSSIM": executable.path, "CROSSSIM_KERNEL_PER_TASK": "1"], timeout: 300)
        XCTAssertEqual(run.status, 0, "submit.sh: \(run.stdout)\n\(run.stderr)")
        for (i, level) in ["2", "1", "0"].enumerated() {
            let log = (try? String(contentsOfFile: dir + "/out/logs/part-\(i).out", encoding: .utf8)) ?? ""
            XCTAssertTrue(log.contains("CROSSSIM_VECTOR_LEVEL=\(level)"), "part \(i) ran kernel path \(level): \(log)")
        }
        let merged = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/report.json")))
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: single)))
        assertSameResults(merged, expected)
    }
}
