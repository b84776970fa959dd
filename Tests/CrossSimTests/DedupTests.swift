@testable import CrossSim
import Foundation
import XCTest

/// `crosssim dedup` (docs/dedup.md) against a numpy brute force, on sets with planted
/// duplicates and pairs exactly at the threshold; parts and merge; bad input.
final class DedupTests: XCTestCase {
    /// 300 Gaussian rows of D = 24 with planted near-duplicates: rows 10…14 copy row 3 (a
    /// cluster of six), row 200 is row 100 scaled by 5 (the same under cosine), row 250 is row
    /// 20 plus a little noise, and row 299 copies row 0 (a pair across the whole triangle).
    static func plantedSet() -> TestMatrix {
        var x = TestMatrix.gaussian(rows: 300, dim: 24, seed: 5)
        func copy(_ from: Int, to: Int, _ transform: (Float) -> Float = { $0 }) {
            x.values.replaceSubrange(to * 24..<(to + 1) * 24, with: x.row(from).map(transform))
        }
        for i in 10...14 { copy(3, to: i) }
        copy(100, to: 200) { $0 * 5 }
        var random = TestRandom(seed: 9)
        copy(20, to: 250) { $0 + Float(0.01 * random.gaussian()) }
        copy(0, to: 299)
        return x
    }

    /// Rows whose dot products are exact in binary64 but not in Float32: row 0 with itself is
    /// 1 + 2⁻²⁵ (1 in Float32), row 0 with row 1 exactly 1 (also 1 in Float32), and row 2 with row 3
    /// exactly 1 + 2⁻²⁵. At T = 1 + 2⁻²⁵ only the pairs at or above it may be found; at T = 1 the
    /// pair at exactly 1 is found too.
    static func exactTieSet() -> TestMatrix {
        let e = Float(1) / 8192   // 2⁻¹³: e² = 2⁻²⁶
        let rows: [[Float]] = [
            [1, e, e, 0], [1, 0, 0, 0], [1, e, 0, e], [1, e, 0, e], [0, 0, 0, 0.5], [0.5, 0, 0, 0],
        ]
        return TestMatrix(rows: rows.count, dim: 4, values: rows.flatMap { $0 })
    }

    func dedup(_ arguments: [String]) throws -> ProgramRun {
        let run = try runCrossSim(["dedup"] + arguments + ["--quiet"])
        XCTAssertEqual(run.status, 0, "\(arguments): \(run.stderr)")
        return run
    }

    /// numpy's brute force of every output: the rows as the reader makes them (under cosine,
    /// normalised in binary64 and rounded once to float32), S in binary64, pairs i < j (or all
    /// against OTHER) with S ≥ T in (row, column) order, clusters by union-find named by their
    /// smallest row, keep, and the best match of each row.
    static let bruteForce = """
    import sys
    import numpy as np
    d, similarity, T = sys.argv[1], sys.argv[2], float(sys.argv[3])
    against = len(sys.argv) > 4

    def rows(name):
        x = np.load(d + "/" + name).astype(np.float64)
        if similarity == "cosine":
            x = (x * (1 / np.sqrt((x * x).sum(axis=1)))[:, None]).astype(np.float32).astype(np.float64)
        return x

    x = rows("x.npy")
    y = rows("y.npy") if against else x
    S = x @ y.T
    wanted = S >= T
    if not against:
        wanted &= np.triu(np.ones_like(wanted), 1).astype(bool)
    pairs = np.argwhere(wanted)
    out = d + "/out/"
    got = np.load(out + "pairs.npy")
    assert got.dtype == np.int64 and got.shape == pairs.reshape(-1, 2).shape, (got.shape, pairs.shape)
    assert (got == pairs).all(), (got, pairs)
    sims = np.load(out + "similarity.npy")
    assert sims.dtype == np.float32
    assert np.array_equal(sims, S[pairs[:, 0], pairs[:, 1]].astype(np.float32)), (sims, S[pairs[:, 0], pairs[:, 1]])
    keep = np.load(out + "keep.npy")
    assert keep.dtype == np.bool_ and keep.shape == (len(x),)
    if against:
        matched = np.full(len(x), -1, np.int64)
        for i, j in pairs:
            if matched[i] < 0 or np.float32(S[i, j]) > np.float32(S[i, matched[i]]):
                matched[i] = j
        assert (np.load(out + "matched.npy") == matched).all()
        assert (keep == (matched < 0)).all()
    else:
        parent = list(range(len(x)))
        def find(a):
            while parent[a] != a:
                a = parent[a]
            return a
        for i, j in pairs:
            a, b = find(i), find(j)
            parent[max(a, b)] = min(a, b)
        cluster = np.array([find(i) for i in range(len(x))])
        assert (np.load(out + "cluster.npy") == cluster).all()
        assert (keep == (cluster == np.arange(len(x)))).all()
    print(len(pairs))
    """

    func assertMatchesNumpy(_ dir: String, similarity: String, threshold: String, against: Bool = false,
                            file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        guard (try? runProgram("/usr/bin/env", ["python3", "-c", "import numpy"]))?.status == 0 else {
            throw XCTSkip("needs python3 with numpy")
        }
        let run = try runProgram("/usr/bin/env", ["python3", "-c", Self.bruteForce, dir, similarity, threshold] + (against ? ["against"] : []))
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        return Int(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testPlantedDuplicatesMatchANumpyBruteForce() throws {
        let dir = try temporaryDirectory(self)
        try Self.plantedSet().writeNPY(to: dir + "/x.npy")
        let run = try dedup([dir + "/x.npy", "--threshold", "0.99", "--out", dir + "/out"])
        let pairs = try assertMatchesNumpy(dir, similarity: "cosine", threshold: "0.99")
        // The six copies of row 3 (15 pairs), 100–200, 20–250, 0–299.
        XCTAssertEqual(pairs, 18)
        XCTAssertTrue(run.stdout.hasPrefix("18 pairs; 4 clusters of more than one row; keep.npy drops 8 of 300 rows, keeps 292"), run.stdout)
        let cluster = try TestNPY.read(dir + "/out/cluster.npy").data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        XCTAssertEqual(Array(cluster[10...14]), Array(repeating: 3, count: 5))
        XCTAssertEqual([cluster[200], cluster[250], cluster[299]], [100, 20, 0])
        // Every tile shape and thread count gives the same bytes: tiles below the diagonal are
        // skipped, tiles across it masked.
        for (tile, threads) in [("64x64", "1"), ("64x128", "3"), ("128x64", "2")] {
            _ = try dedup([dir + "/x.npy", "--threshold", "0.99", "--out", dir + "/t", "--tile", tile, "--threads", threads])
            for name in ["pairs.npy", "similarity.npy", "cluster.npy", "keep.npy"] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/t/" + name)),
                               try Data(contentsOf: URL(fileURLWithPath: dir + "/out/" + name)), "\(name) with --tile \(tile)")
            }
        }
    }

    func testPairsExactlyAtTheThresholdAreDecidedExactly() throws {
        let dir = try temporaryDirectory(self)
        try Self.exactTieSet().writeNPY(to: dir + "/x.npy")
        // 1 + 2⁻²⁵ and 1, exactly, in binary64's shortest decimal.
        let above = String(1 + pow(2.0, -25)), one = "1.0"
        _ = try dedup([dir + "/x.npy", "--threshold", above, "--similarity", "dot", "--out", dir + "/out"])
        XCTAssertEqual(try assertMatchesNumpy(dir, similarity: "dot", threshold: above), 1, "only rows 2 and 3 reach 1 + 2⁻²⁵")
        let pairs = try TestNPY.read(dir + "/out/pairs.npy").data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        XCTAssertEqual(pairs, [2, 3])
        _ = try dedup([dir + "/x.npy", "--threshold", one, "--similarity", "dot", "--out", dir + "/out"])
        // Rows 0–3 all reach 1 with each other; row 5 (0.5, 0, 0, 0) reaches only 0.5.
        XCTAssertEqual(try assertMatchesNumpy(dir, similarity: "dot", threshold: one), 6)
    }

    func testLeakageAuditMatchesANumpyBruteForce() throws {
        let dir = try temporaryDirectory(self)
        let x = Self.plantedSet()
        // OTHER: 150 fresh rows, with copies of x rows 7 and 42 (twice: the lower index wins the
        // tie) and a scaled copy of x row 3 (which duplicates rows 10…14 of x as well).
        var y = TestMatrix.gaussian(rows: 150, dim: 24, seed: 6)
        for (from, to) in [(7, 30), (42, 31), (42, 90), (3, 149)] {
            y.values.replaceSubrange(to * 24..<(to + 1) * 24, with: x.row(from).map { $0 * 2 })
        }
        try x.writeNPY(to: dir + "/x.npy")
        try y.writeNPY(to: dir + "/y.npy")
        let run = try dedup([dir + "/x.npy", "--against", dir + "/y.npy", "--threshold", "0.99", "--out", dir + "/out"])
        XCTAssertEqual(try assertMatchesNumpy(dir, similarity: "cosine", threshold: "0.99", against: true), 9)
        XCTAssertTrue(run.stdout.hasPrefix("9 pairs; 8 of 300 rows match a row of OTHER; keep.npy drops 8 of 300 rows, keeps 292"), run.stdout)
        let matched = try TestNPY.read(dir + "/out/matched.npy").data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        XCTAssertEqual(matched[42], 31, "two equal copies: the lower OTHER row")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/cluster.npy"))
    }

    /// Parts cut the triangle into equal shares; their merge writes the whole run's bytes.
    func testPartsMergeIntoTheWholeRunsFiles() throws {
        let dir = try temporaryDirectory(self)
        try Self.plantedSet().writeNPY(to: dir + "/x.npy")
        try Self.plantedSet().writeNPY(to: dir + "/y.npy")
        for against in [[], ["--against", dir + "/y.npy"]] {
            _ = try dedup([dir + "/x.npy", "--threshold", "0.99", "--out", dir + "/whole"] + against)
            for part in 0..<4 {
                _ = try dedup([dir + "/x.npy", "--threshold", "0.99", "--part", "\(part)/4", "--out", dir + "/part\(part)"] + against)
            }
            let merge = try dedup(["--merge", dir + "/part3", dir + "/part1", dir + "/part0", dir + "/part2", "--out", dir + "/merged"])
            XCTAssertTrue(merge.stdout.contains("pairs;"), merge.stdout)
            for name in ["pairs.npy", "similarity.npy", against.isEmpty ? "cluster.npy" : "matched.npy", "keep.npy"] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/merged/" + name)),
                               try Data(contentsOf: URL(fileURLWithPath: dir + "/whole/" + name)), "\(against): \(name)")
            }
            try? FileManager.default.removeItem(atPath: dir + "/merged")
        }
        // Within a set the parts hold equal shares of the N(N−1)/2 cells: later parts more rows.
        let cuts = (0..<4).map { try! DedupRequest.rows(of: PartIndex(index: $0, count: 4), total: 300, triangle: true) }
        XCTAssertEqual(cuts.map(\.lowerBound), [0, 41, 88, 150])
        XCTAssertEqual(cuts.last?.upperBound, 300)
    }

    /// Under a memory limit that holds about a third of the set, the rows go in panels and the
    /// columns stream past them: every file is the in-memory run's, within the set, against
    /// OTHER and for a part; a limit below the run's own buffers is refused.
    func testMemoryLimitStreamsTheColumnsAndWritesTheSameFiles() throws {
        let dir = try temporaryDirectory(self)
        try Self.plantedSet().writeNPY(to: dir + "/x.npy")
        try TestMatrix.gaussian(rows: 150, dim: 24, seed: 6).writeNPY(to: dir + "/y.npy")
        let plan = TilePlan(tile: TileShape(rows: 16, cols: 32), threads: 2)
        let limit = DedupPass.fixedBytes(plan: plan, dim: 24) + 100 * 24 * 4
        let common = ["--threshold", "0.99", "--tile", "16x32", "--threads", "2"]
        for (name, extra) in [("within", []), ("against", ["--against", dir + "/y.npy"]), ("part", ["--part", "1/3"])] {
            _ = try dedup([dir + "/x.npy", "--out", dir + "/\(name)-memory"] + common + extra)
            _ = try dedup([dir + "/x.npy", "--out", dir + "/\(name)-limit", "--memory-limit", "\(limit)"] + common + extra)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/\(name)-memory").sorted()
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/\(name)-limit").sorted(), files, name)
            for file in files {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/\(name)-limit/" + file)),
                               try Data(contentsOf: URL(fileURLWithPath: dir + "/\(name)-memory/" + file)), "\(name): \(file)")
            }
        }
        try FileManager.default.moveItem(atPath: dir + "/within-limit", toPath: dir + "/out")
        XCTAssertEqual(try assertMatchesNumpy(dir, similarity: "cosine", threshold: "0.99"), 18)
        let small = try runCrossSim(["dedup", dir + "/x.npy", "--out", dir + "/small", "--memory-limit", "1M"] + common)
        XCTAssertEqual(small.status, 2, small.stderr)
        XCTAssertTrue(small.stderr.contains("--memory-limit 1 MiB is too small"), small.stderr)
    }

    func testMergeRefusesIncompleteOrForeignParts() throws {
        let dir = try temporaryDirectory(self)
        try Self.plantedSet().writeNPY(to: dir + "/x.npy")
        for part in 0..<2 {
            _ = try dedup([dir + "/x.npy", "--threshold", "0.99", "--part", "\(part)/2", "--out", dir + "/p\(part)"])
        }
        _ = try dedup([dir + "/x.npy", "--threshold", "0.9", "--part", "1/2", "--out", dir + "/other-threshold"])
        try FileManager.default.copyItem(atPath: dir + "/p1", toPath: dir + "/corrupt")
        var pairs = try Data(contentsOf: URL(fileURLWithPath: dir + "/corrupt/pairs.npy"))
        pairs[pairs.count - 16] = 0xFF   // a row index far out of the part's rows
        try pairs.write(to: URL(fileURLWithPath: dir + "/corrupt/pairs.npy"))
        let cases: [([String], String)] = [
            ([dir + "/p0"], "missing parts"),
            ([dir + "/p0", dir + "/p0", dir + "/p1"], "twice"),
            ([dir + "/p0", dir + "/other-threshold"], "other options"),
            ([dir + "/p0", dir + "/corrupt"], "out of the part's rows"),
            ([dir + "/p0", dir + "/x.npy"], "part.json"),
        ]
        for (parts, message) in cases {
            let run = try runCrossSim(["dedup", "--merge"] + parts + ["--out", dir + "/merged"])
            XCTAssertEqual(run.status, 2, "\(parts): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(parts): \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/merged/pairs.npy"))
        }
    }

    /// Every pair of 2000 equal rows (1,999,000 pairs): row blocks hold more pairs than a slot
    /// keeps in memory, so they spill as sorted runs and are merged back in order.
    func testEveryPairOfACollapsedSetStreamsThroughTheSpillInOrder() throws {
        let dir = try temporaryDirectory(self)
        let n = 2000
        try TestMatrix(rows: n, dim: 4, values: Array(repeating: [1, 2, 3, 4], count: n).flatMap { $0 }).writeNPY(to: dir + "/x.npy")
        let run = try dedup([dir + "/x.npy", "--threshold", "0.5", "--out", dir + "/out"])
        XCTAssertTrue(run.stdout.hasPrefix("1999000 pairs; 1 cluster of more than one row; keep.npy drops 1999 of 2000 rows"), run.stdout)
        let file = try TestNPY.read(dir + "/out/pairs.npy")
        XCTAssertEqual(file.shape, [n * (n - 1) / 2, 2])
        file.data.withUnsafeBytes { raw in
            let pairs = raw.bindMemory(to: Int64.self)
            var k = 0
            for i in 0..<n {
                for j in (i + 1)..<n {
                    guard pairs[2 * k] == i, pairs[2 * k + 1] == j else {
                        return XCTFail("pair \(k) is (\(pairs[2 * k]), \(pairs[2 * k + 1])), expected (\(i), \(j))")
                    }
                    k += 1
                }
            }
        }
        let keep = try TestNPY.read(dir + "/out/keep.npy").data
        XCTAssertEqual(Array(keep), [1] + Array(repeating: 0, count: n - 1))
    }

    func testMaxPairsAndBadInputExitWith2WritingNothing() throws {
        let dir = try temporaryDirectory(self)
        try Self.plantedSet().writeNPY(to: dir + "/x.npy")
        try TestMatrix.gaussian(rows: 10, dim: 8, seed: 1).writeNPY(to: dir + "/d8.npy")
        let cases: [([String], String)] = [
            ([dir + "/x.npy", "--threshold", "0.99", "--max-pairs", "17"], "more than --max-pairs 17"),
            ([dir + "/x.npy", "--threshold", "nan"], "--threshold"),
            ([dir + "/x.npy"], "--threshold"),
            ([dir + "/missing.npy", "--threshold", "0.9"], "missing.npy"),
            ([dir + "/x.npy", "--against", dir + "/d8.npy", "--threshold", "0.9"], "dimension mismatch"),
            ([dir + "/x.npy", "--threshold", "0.9", "--merge", dir], "--merge takes only"),
        ]
        for (arguments, message) in cases {
            let run = try runCrossSim(["dedup"] + arguments + ["--out", dir + "/out", "--quiet"])
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/out")) ?? []
            XCTAssertEqual(left, [], "\(arguments): nothing written, no spill left")
        }
        // Exactly at the limit is fine.
        _ = try dedup([dir + "/x.npy", "--threshold", "0.99", "--max-pairs", "18", "--out", dir + "/out"])
    }
}
