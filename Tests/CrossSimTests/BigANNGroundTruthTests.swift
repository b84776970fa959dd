import CrossSim
import Foundation
import XCTest

/// `--neighbors-format bigann` (docs/definitions.md, Top-k): `x1_to_x2.gt` and `x2_to_x1.gt` in
/// big-ann-benchmarks' ground-truth layout, checked against a numpy brute force read back as
/// big-ann's `knn_result_read` reads it, against the npy lists, and from parts and merge.
final class BigANNGroundTruthTests: XCTestCase {
    static let k = 7

    /// x1 30×8 and x2 40×8 with exact ties: x2 rows 5, 6, 7 copy row 3 and x2 row 9 is row 4
    /// times 3 (the same under cosine); x1 rows 10 and 11 copy row 2. x2 row j belongs to x1 row
    /// j mod 30, given as an `.ibin`.
    func writeSets(_ dir: String) throws {
        var x1 = TestMatrix.gaussian(rows: 30, dim: 8, seed: 11)
        var x2 = TestMatrix.gaussian(rows: 40, dim: 8, seed: 12)
        for j in [5, 6, 7] { x2.values.replaceSubrange(j * 8..<(j + 1) * 8, with: x2.row(3)) }
        x2.values.replaceSubrange(9 * 8..<10 * 8, with: x2.row(4).map { $0 * 3 })
        for i in [10, 11] { x1.values.replaceSubrange(i * 8..<(i + 1) * 8, with: x1.row(2)) }
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        var ids: [UInt8] = []
        for v in [Int32(40), 1] + (0..<40).map({ Int32($0 % 30) }) { withUnsafeBytes(of: v.littleEndian) { ids += $0 } }
        try Data(ids).write(to: URL(fileURLWithPath: dir + "/pairs.ibin"))
    }

    func eval(_ dir: String, _ extra: [String]) throws {
        let run = try runCrossSim(["eval", dir + "/x1.npy", dir + "/x2.npy", "--pairs", dir + "/pairs.ibin",
                                   "--top-k", String(Self.k), "--quiet"] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    /// The layout as big-ann-benchmarks' `knn_result_read` reads it: uint32 n, uint32 d, then
    /// n·d int32 ids and n·d float32 distances (here: similarities).
    static func readGroundTruth(_ path: String) throws -> (queries: Int, k: Int, ids: [Int32], scores: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        func word(_ at: Int) -> UInt32 { data[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        let n = Int(word(0)), d = Int(word(4))
        XCTAssertEqual(data.count, 8 + 8 * n * d, "\(path): header and size")
        let ids = (0..<n * d).map { Int32(bitPattern: word(8 + 4 * $0)) }
        let scores = (0..<n * d).map { Float(bitPattern: word(8 + 4 * n * d + 4 * $0)) }
        return (n, d, ids, scores)
    }

    func testGroundTruthMatchesANumpyBruteForceReadAsBigANNReadsIt() throws {
        guard (try? runProgram("/usr/bin/env", ["python3", "-c", "import numpy"]))?.status == 0 else {
            throw XCTSkip("needs python3 with numpy")
        }
        let dir = try temporaryDirectory(self)
        try writeSets(dir)
        try eval(dir, ["--neighbors", dir + "/gt", "--neighbors-format", "bigann"])
        // Rows normalised as the reader does (norm in binary64, one rounding to float32), S in
        // binary64, and the README's order: higher similarity, then lower index.
        let script = """
        import sys
        import numpy as np

        def knn_result_read(fname):
            n, d = map(int, np.fromfile(fname, dtype="uint32", count=2))
            assert __import__("os").stat(fname).st_size == 8 + n * d * (4 + 4)
            f = open(fname, "rb")
            f.seek(4 + 4)
            I = np.fromfile(f, dtype="int32", count=n * d).reshape(n, d)
            D = np.fromfile(f, dtype="float32", count=n * d).reshape(n, d)
            return I, D

        def normalised(x):
            x = x.astype(np.float64)
            return (x * (1 / np.sqrt((x * x).sum(axis=1)))[:, None]).astype(np.float32).astype(np.float64)

        d, k = sys.argv[1], int(sys.argv[2])
        x1, x2 = normalised(np.load(d + "/x1.npy")), normalised(np.load(d + "/x2.npy"))
        S = x1 @ x2.T
        for name, sims in [("x1_to_x2", S), ("x2_to_x1", S.T)]:
            I, D = knn_result_read(d + "/gt/" + name + ".gt")
            assert I.shape == (sims.shape[0], k), (name, I.shape)
            for q in range(sims.shape[0]):
                order = np.lexsort((np.arange(sims.shape[1]), -sims[q]))[:k]
                assert (I[q] == order).all(), (name, q, I[q], order)
                assert np.allclose(D[q], sims[q, order], rtol=0, atol=1e-6), (name, q, D[q], sims[q, order])
        print("ok")
        """
        let run = try runProgram("/usr/bin/env", ["python3", "-c", script, dir, String(Self.k)])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "ok\n")
        // The planted ties are there, ordered by index.
        let forward = try Self.readGroundTruth(dir + "/gt/x1_to_x2.gt")
        let row = forward.ids.firstIndex(of: 5).map { Array(forward.ids[$0 - 1...$0 + 1]) }
        XCTAssertEqual(row, [3, 5, 6], "exact copies of x2 row 3 follow it in index order")
    }

    /// The same lists as `--neighbors-format npy`, and the same bytes from parts and merge.
    func testGroundTruthHoldsTheNPYListsAndMergeWritesTheSameFiles() throws {
        let dir = try temporaryDirectory(self)
        try writeSets(dir)
        try eval(dir, ["--neighbors", dir + "/npy"])
        try eval(dir, ["--neighbors", dir + "/gt", "--neighbors-format", "bigann"])
        for name in ["x1_to_x2", "x2_to_x1"] {
            let gt = try Self.readGroundTruth(dir + "/gt/\(name).gt")
            let indices = try TestNPY.read(dir + "/npy/\(name).indices.npy")
            let scores = try TestNPY.read(dir + "/npy/\(name).scores.npy")
            XCTAssertEqual(indices.shape, [gt.queries, gt.k])
            XCTAssertEqual(gt.queries, name == "x1_to_x2" ? 30 : 40)
            XCTAssertEqual(gt.k, Self.k)
            let npyIDs = indices.data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }.map { Int32($0) }
            let npyScores = scores.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(gt.ids, npyIDs, name)
            XCTAssertEqual(gt.scores, npyScores, name)
        }
        for part in 0..<3 {
            try eval(dir, ["--part", "\(part)/3", "--state", dir + "/\(part).state"])
        }
        let merge = try runCrossSim(["merge", dir + "/2.state", dir + "/0.state", dir + "/1.state",
                                     "--neighbors", dir + "/merged", "--neighbors-format", "bigann"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        for name in ["x1_to_x2.gt", "x2_to_x1.gt"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/merged/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: dir + "/gt/" + name)), name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/merged").sorted(), ["x1_to_x2.gt", "x2_to_x1.gt"],
                       "no temporary file is left")
    }

    func testNeighborOptionsAreCheckedBeforeTheRun() throws {
        let dir = try temporaryDirectory(self)
        try writeSets(dir)
        let cases: [([String], String)] = [
            (["--neighbors-format", "bigann"], "--neighbors-format needs --neighbors"),
            (["--neighbors", dir + "/n", "--neighbors-format", "faiss"], "neighbors-format"),
            (["--neighbors", dir + "/x1.npy/n", "--neighbors-format", "bigann"], "not a directory"),
        ]
        for (options, message) in cases {
            let run = try runCrossSim(["eval", dir + "/x1.npy", dir + "/x2.npy", "--pairs", dir + "/pairs.ibin",
                                       "--top-k", "2", "--quiet"] + options)
            XCTAssertEqual(run.status, 2, "\(options): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(options): \(run.stderr)")
        }
        // A merge of parts without lists cannot write them.
        let part = try runCrossSim(["eval", dir + "/x1.npy", dir + "/x2.npy", "--pairs", dir + "/pairs.ibin",
                                    "--part", "0/1", "--state", dir + "/0.state", "--quiet"])
        XCTAssertEqual(part.status, 0, part.stderr)
        let merge = try runCrossSim(["merge", dir + "/0.state", "--neighbors", dir + "/n"])
        XCTAssertEqual(merge.status, 2, merge.stderr)
        XCTAssertTrue(merge.stderr.contains("--top-k"), merge.stderr)
    }
}
