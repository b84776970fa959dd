import CrossSim
import Foundation
import XCTest

/// The per-query columns and the health figures of a command-line run against numpy's own
/// computation of their definitions in float64 (scripts/test.sh installs numpy).
final class NumpyCrossCheckTests: XCTestCase {
    static let script = #"""
    import json, sys
    import numpy as np
    x1, x2, pairs, out, k = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64), \
        np.load(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    x1 /= np.linalg.norm(x1, axis=1, keepdims=True)
    x2 /= np.linalg.norm(x2, axis=1, keepdims=True)
    S, tau = x1 @ x2.T, 0.05
    n1, n2 = S.shape
    positive = np.zeros_like(S, dtype=bool)
    positive[pairs, np.arange(n2)] = True
    def order(scores, index):  # higher score, then lower index
        return np.lexsort((index, -scores))
    result = {}
    for d, M, P in (("x1_to_x2", S, positive), ("x2_to_x1", S.T, positive.T)):
        ranks, best_pos, best_neg, best_neg_index, loss = [], [], [], [], []
        for q in range(M.shape[0]):
            s, p = M[q], P[q]
            idx = np.arange(len(s))
            if not p.any():
                ranks.append(0); best_pos.append(None); loss.append(None)
            else:
                pos = idx[p][order(s[p], idx[p])[0]]
                beaten = (~p) & ((s > s[pos]) | ((s == s[pos]) & (idx < pos)))
                ranks.append(int(beaten.sum()) + 1); best_pos.append(float(s[pos]))
                z = s / tau
                m = z.max()
                loss.append(float(m + np.log(np.exp(z - m).sum()) - z[p].mean()))
            if (~p).any():
                neg = idx[~p][order(s[~p], idx[~p])[0]]
                best_neg.append(float(s[neg])); best_neg_index.append(int(neg))
            else:
                best_neg.append(None); best_neg_index.append(-1)
        result[d] = {"rank": ranks, "best_positive": best_pos, "best_negative": best_neg,
                     "best_negative_index": best_neg_index, "infonce": loss}
    def rankme(x):
        sigma = np.linalg.svd(x, compute_uv=False)
        p = sigma / sigma.sum() + 1e-7
        return float(np.exp(-(p * np.log(p)).sum()))
    def hubness(M):
        counts = np.zeros(M.shape[1])
        for q in range(M.shape[0]):
            counts[order(M[q], np.arange(M.shape[1]))[:k]] += 1
        mu, sd = counts.mean(), counts.std()
        return {"skewness": float(((counts - mu) ** 3).mean() / sd ** 3), "never_retrieved": float((counts == 0).mean()),
                "max_occurrence": int(counts.max())}
    result["health"] = {"x1": rankme(x1), "x2": rankme(x2), "gap": float(np.linalg.norm(x1.mean(0) - x2.mean(0))),
                        "x1_to_x2": hubness(S), "x2_to_x1": hubness(S.T)}
    print(json.dumps(result))
    """#

    func testPerQueryAndHealthAgreeWithNumpy() throws {
        let dir = try temporaryDirectory(self, "numpy")
        let x1 = TestMatrix.gaussian(rows: 50, dim: 10, seed: 21)
        var random = TestRandom(seed: 22)
        let owners = (0..<80).map { _ in random.int(4..<50) }
        var x2 = TestMatrix.noisy(x1, owner: owners, sigma: 0.9, seed: 23)
        for j in [40, 41] { x2.values.replaceSubrange(j * 10..<(j + 1) * 10, with: x2.row(39)) }
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        try TestNPY.write(int64: owners, to: dir + "/pairs.npy")
        let run = try runCrossSim(["eval", dir + "/x1.npy", dir + "/x2.npy", "--pairs", dir + "/pairs.npy", "--per-query", dir + "/pq",
                                   "--health", "--hubness-k", "3", "--json", dir + "/report.json", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let numpy = try runProgram("/usr/bin/env", ["python3", "-c", Self.script, dir + "/x1.npy", dir + "/x2.npy", dir + "/pairs.npy",
                                                    dir, "3"], timeout: 120)
        guard numpy.status == 0 else { return XCTFail("numpy is needed for this test (scripts/test.sh installs it): \(numpy.stderr)") }
        let want = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(numpy.stdout.utf8)) as? [String: Any])

        func column<T>(_ d: String, _ name: String, as type: T.Type) throws -> [T] {
            try TestNPY.read("\(dir)/pq/\(d).\(name).npy").data.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
        }
        for d in ["x1_to_x2", "x2_to_x1"] {
            let w = try XCTUnwrap(want[d] as? [String: [Any]])
            XCTAssertEqual(try column(d, "rank", as: Int64.self).map(Int.init), w["rank"] as? [Int], "\(d) ranks")
            XCTAssertEqual(try column(d, "best_negative_index", as: Int64.self).map(Int.init), w["best_negative_index"] as? [Int], d)
            for (name, got) in [("best_positive", try column(d, "best_positive", as: Float.self).map(Double.init)),
                                ("best_negative", try column(d, "best_negative", as: Float.self).map(Double.init)),
                                ("infonce", try column(d, "infonce", as: Double.self))] {
                for (q, value) in w[name]!.enumerated() {
                    if let value = value as? Double {
                        assertClose(got[q], value, relative: 1e-5, absolute: 1e-6, "\(d).\(name)[\(q)]")
                    } else {
                        XCTAssertTrue(got[q].isNaN, "\(d).\(name)[\(q)] has none")
                    }
                }
            }
        }
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/report.json")))
            as? [String: Any])
        let health = try XCTUnwrap(report["health"] as? [String: Any]), wantHealth = try XCTUnwrap(want["health"] as? [String: Any])
        for set in ["x1", "x2"] {
            assertClose((health[set] as? [String: Any])?["effective_rank"] as? Double, wantHealth[set] as? Double, relative: 1e-4,
                        "\(set) effective rank")
        }
        assertClose(health["modality_gap"] as? Double, wantHealth["gap"] as? Double, relative: 1e-6, absolute: 1e-7, "modality gap")
        let hubness = try XCTUnwrap(health["hubness"] as? [String: Any])
        for d in ["x1_to_x2", "x2_to_x1"] {
            let got = try XCTUnwrap(hubness[d] as? [String: Any]), w = try XCTUnwrap(wantHealth[d] as? [String: Any])
            assertClose(got["skewness"] as? Double, w["skewness"] as? Double, relative: 1e-9, absolute: 1e-12, "\(d) skewness")
            XCTAssertEqual(got["never_retrieved"] as? Double, w["never_retrieved"] as? Double, d)
            XCTAssertEqual(got["max_occurrence"] as? Int, w["max_occurrence"] as? Int, d)
        }
    }
}
