import Foundation
import XCTest

/// deploy/k8s/indexed-job.yaml, every stage's pods run as a kubelet would run them
/// (Tests/Fixtures/kubelet.py: env, $(VAR) expansion, the volume's subPaths): the merged report
/// is the single run's, and the merged gradient the single `grad`'s.
final class DeployTests: XCTestCase {
    func testTheKubernetesStagesGiveTheSingleRunsReportAndGradient() throws {
        guard let crosssim = crossSimExecutable else { throw XCTSkip("the crosssim executable was not built") }
        guard (try? runProgram("/usr/bin/env", ["python3", "-c", "import yaml"]))?.status == 0 else {
            throw XCTSkip("needs python3 with PyYAML (scripts/test.sh installs it)")
        }
        let root = try temporaryDirectory(self)
        let (x1, x2, _) = GradientTests.pairs(n1: 150, dim: 16, sigma: 1, seed: 131)
        for (name, matrix) in [("x1", x1), ("x2", x2)] {
            try FileManager.default.createDirectory(atPath: root + "/data/\(name)", withIntermediateDirectories: true)
            try matrix.writeNPY(to: root + "/data/\(name)/part-0.npy")
        }
        let manifest = Fixtures.root.appendingPathComponent("../../deploy/k8s/indexed-job.yaml").path
        let kubelet = Fixtures.root.appendingPathComponent("kubelet.py").path
        for stage in ["eval", "merge", "grad", "grad-merge"] {
            let run = try runProgram("/usr/bin/env", ["python3", kubelet, manifest, stage, root, crosssim.deletingLastPathComponent().path],
                                     timeout: 300)
            XCTAssertEqual(run.status, 0, "\(stage): \(run.stderr)")
        }
        let sets = [root + "/data/x1", root + "/data/x2"]
        try runCrossSim(["eval"] + sets + ["--json", root + "/single.json", "--quiet"]).expect(status: 0)
        try runCrossSim(["grad"] + sets + ["--tau", "0.05", "--out", root + "/single-grad", "--quiet"]).expect(status: 0)
        func json(_ path: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) }
        assertSameResults(try json(root + "/out/report.json"), try json(root + "/single.json"))
        for name in ["x1", "x2"] {
            let merged = try TestNPY.read(root + "/out/gradient/\(name).grad.npy")
            let single = try TestNPY.read(root + "/single-grad/\(name).grad.npy")
            XCTAssertEqual(merged.shape, single.shape, name)
            let (a, b) = (merged.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) },
                          single.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
            XCTAssertLessThanOrEqual(relativeFrobenius(a, b.map(Double.init)), 1e-5, name)
        }
    }
}
