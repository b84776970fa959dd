import CrossSim
import Foundation
import XCTest

/// docs/accuracy.md: identical bits for identical inputs, tiles and threads; agreement within the
/// tolerances across tiles and threads.
final class DeterminismTests: XCTestCase {
    static let tiles = [TileShape(rows: 64, cols: 64), TileShape(rows: 100, cols: 37),
                        TileShape(rows: 256, cols: 512), TileShape(rows: 1024, cols: 1024)]
    static let threadCounts = [1, 2]

    static func options(tile: TileShape, threads: Int, topK: Int = 5) -> EvaluationOptions {
        var options = EvaluationOptions()
        options.temperatures = [0.05, 0.01]
        options.siglip = [SigLIPTerm(scale: 10, bias: -10)]
        options.recallAt = [1, 5, 10]
        options.topK = topK
        options.uniformity = true
        options.tile = tile
        options.threads = threads
        return options
    }

    /// N = 450 one-to-one (x2 = x1 + noise) and a many-to-one variant: partial tiles everywhere.
    static let x1 = TestMatrix.gaussian(rows: 450, dim: 32, seed: 50)
    static let x2 = TestMatrix.noisy(x1, owner: Array(0..<450), sigma: 2.5, seed: 51)

    /// The report as text without the engine block (seconds and RSS differ run to run): every
    /// number in it is written with enough digits to round-trip, so equal text is equal bits.
    static func canonical(_ report: Report) -> String {
        guard case .object(let fields) = report.json else { return "" }
        return JSONValue.object(fields.filter { !["engine", "created", "machine"].contains($0.0) }).rendered()
    }

    func run(_ x1: TestMatrix, _ x2: TestMatrix, owners: [Int]? = nil, options: EvaluationOptions) throws -> (Report, PartialState) {
        let pairs = try owners.map { try Pairs(positiveOf: $0, x1Rows: x1.rows) }
        let evaluation = try Evaluation(x1: x1.embeddings(options.similarity), x2: x2.embeddings(options.similarity),
                                        pairs: pairs, options: options)
        return (try evaluation.report(), try evaluation.state())
    }

    func testRepeatedRunsAreBitIdentical() throws {
        for (tile, threads) in [(TileShape(rows: 100, cols: 37), 2), (TileShape(rows: 64, cols: 64), 1)] {
            let options = Self.options(tile: tile, threads: threads)
            let (r1, s1) = try run(Self.x1, Self.x2, options: options)
            let (r2, s2) = try run(Self.x1, Self.x2, options: options)
            XCTAssertEqual(Self.canonical(r1), Self.canonical(r2), "tile \(tile), \(threads) threads")
            XCTAssertTrue(s1 == s2, "states differ: tile \(tile), \(threads) threads")
            XCTAssertEqual(r1.infonce[1].x1ToX2.bitPattern, r2.infonce[1].x1ToX2.bitPattern)
            XCTAssertEqual(r1.siglip[0].loss.bitPattern, r2.siglip[0].loss.bitPattern)
            XCTAssertEqual(r1.diagnostics.uniformityX2?.bitPattern, r2.diagnostics.uniformityX2?.bitPattern)
        }
    }

    /// The tile plan does not depend on the thread count: 3000 rows with 256×512 tiles on 1,
    /// 2, 13 and 64 threads give the same bits (the row blocks used to shrink to give every
    /// worker one, which changed the order of the column sums).
    func testThreadCountDoesNotChangeTheBits() throws {
        let x1 = TestMatrix.gaussian(rows: 3000, dim: 32, seed: 52)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<3000), sigma: 1, seed: 53)
        var first: String?
        for threads in [1, 2, 13, 64] {
            var options = Self.options(tile: TileShape(rows: 256, cols: 512), threads: threads)
            options.uniformity = false
            let (report, _) = try run(x1, x2, options: options)
            let text = Self.canonical(report)
            if let first { XCTAssertEqual(text, first, "\(threads) threads") } else { first = text }
        }
    }

    /// Row blocks go to whichever worker is free, so with more threads than cores and small
    /// tiles (29 row blocks) the assignment and the order blocks finish in change from run to
    /// run; the sums are folded in block order, so the bits do not.
    func testDynamicallyScheduledRunsAreBitIdentical() throws {
        let options = Self.options(tile: TileShape(rows: 16, cols: 24), threads: 4)
        let (first, firstState) = try run(Self.x1, Self.x2, options: options)
        for attempt in 1...12 {
            let (report, state) = try run(Self.x1, Self.x2, options: options)
            XCTAssertEqual(Self.canonical(report), Self.canonical(first), "run \(attempt)")
            XCTAssertTrue(state == firstState, "states differ in run \(attempt)")
        }
    }

    /// Every tile shape and thread count agrees with the first within docs/accuracy.md, ranks and top-k
    /// lists exactly; the first is checked against the reference.
    func testTilesAndThreadsAgree() throws {
        var baseline: (Report, PartialState)?
        for tile in Self.tiles {
            for threads in Self.threadCounts {
                let options = Self.options(tile: tile, threads: threads)
                let (report, state) = try run(Self.x1, Self.x2, options: options)
                XCTAssertEqual(report.engine?.tile, tile)
                XCTAssertEqual(report.engine?.threads, threads)
                guard let base = baseline else {
                    let reference = ReferenceModel(x1: Self.x1, x2: Self.x2, similarity: .cosine)
                    reference.check(report, state: state, options: options)
                    baseline = (report, state)
                    continue
                }
                assertAgree(report, base.0, state, base.1, options: options, "tile \(tile), \(threads) threads")
            }
        }
    }

    /// Many-to-one pairs with rows without positives, over the same grid.
    func testTilesAndThreadsAgreeWithSeveralPositives() throws {
        var random = TestRandom(seed: 52)
        let n1 = 310
        let owners = (0..<517).map { j in j < 300 ? j : random.int(0..<300) }   // rows 300..<310: none
        let x1 = TestMatrix.gaussian(rows: n1, dim: 24, seed: 53)
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: 2.0, seed: 54)
        var baseline: (Report, PartialState)?
        for tile in Self.tiles {
            for threads in Self.threadCounts {
                var options = Self.options(tile: tile, threads: threads)
                options.similarity = .dot
                options.uniformity = false
                let (report, state) = try run(x1, x2, owners: owners, options: options)
                XCTAssertEqual(report.inputs.x1WithoutPositive, 10)
                guard let base = baseline else {
                    ReferenceModel(x1: x1, x2: x2, positiveOf: owners, similarity: .dot).check(report, state: state, options: options)
                    baseline = (report, state)
                    continue
                }
                assertAgree(report, base.0, state, base.1, options: options, "tile \(tile), \(threads) threads")
            }
        }
    }

    /// N = 1 (no negatives, a loss of exactly 0, no uniformity) and N = 9 (one partial tile)
    /// on every tile shape and thread count, against the reference.
    func testTinySetsOnEveryTileAndThreadCount() throws {
        for n in [1, 9] {
            let x1 = TestMatrix.gaussian(rows: n, dim: 5, seed: 60 + UInt64(n))
            let x2 = TestMatrix.noisy(x1, owner: Array(0..<n), sigma: 1.5, seed: 70 + UInt64(n))
            let reference = ReferenceModel(x1: x1, x2: x2, similarity: .cosine)
            for tile in Self.tiles + [TileShape(rows: 1, cols: 1), TileShape(rows: 3, cols: 2)] {
                for threads in Self.threadCounts {
                    let options = Self.options(tile: tile, threads: threads, topK: 1)
                    let (report, state) = try run(x1, x2, options: options)
                    // N = 1: InfoNCE is exactly 0, where only an absolute bound makes sense:
                    // the Float32 error of one similarity divided by τ.
                    reference.check(report, state: state, options: options, lossFloor: n == 1 ? 1e-5 : 0)
                    if n == 1 {
                        XCTAssertNil(report.diagnostics.negativeMean, "no negatives with one pair")
                        XCTAssertNil(report.diagnostics.uniformityX1, "uniformity needs two rows")
                        XCTAssertEqual(report.x1ToX2.recall(at: 1), 1)
                        XCTAssertEqual(report.diagnostics.chanceX1ToX2, 0)
                    }
                }
            }
        }
    }

    /// The agreement docs/accuracy.md asks of runs that differ only in tile and threads.
    func assertAgree(_ a: Report, _ b: Report, _ sa: PartialState, _ sb: PartialState, options: EvaluationOptions,
                     _ at: String, file: StaticString = #filePath, line: UInt = #line) {
        for (x, y) in zip(a.infonce, b.infonce) {
            let tol = lossTolerance(tau: x.tau)
            assertClose(x.x1ToX2, y.x1ToX2, relative: tol, "\(at): InfoNCE x1→x2 τ=\(x.tau)", file: file, line: line)
            assertClose(x.x2ToX1, y.x2ToX1, relative: tol, "\(at): InfoNCE x2→x1 τ=\(x.tau)", file: file, line: line)
        }
        for (x, y) in zip(a.siglip, b.siglip) {
            assertClose(x.loss, y.loss, relative: 1e-5, "\(at): SigLIP", file: file, line: line)
        }
        let typical = max(abs(b.diagnostics.positiveMean), b.diagnostics.negativeStd ?? 0)
        let d = a.diagnostics, e = b.diagnostics
        for (name, x, y) in [("positive_mean", d.positiveMean, e.positiveMean), ("positive_std", d.positiveStd, e.positiveStd),
                             ("negative_mean", d.negativeMean!, e.negativeMean!), ("negative_std", d.negativeStd!, e.negativeStd!),
                             ("alignment", d.alignment, e.alignment)] {
            // Near-zero means: an absolute floor of 1e-6 of the similarities' scale.
            assertClose(x, y, relative: 1e-6, absolute: 1e-6 * typical, "\(at): \(name)", file: file, line: line)
        }
        assertClose(d.uniformityX1, e.uniformityX1, relative: 1e-6, "\(at): uniformity x1", file: file, line: line)
        assertClose(d.uniformityX2, e.uniformityX2, relative: 1e-6, "\(at): uniformity x2", file: file, line: line)
        // Ranks and lists: exact.
        XCTAssertEqual(sa[RankCounts.self]!.rowBeaten, sb[RankCounts.self]!.rowBeaten, "\(at): x1→x2 ranks", file: file, line: line)
        XCTAssertEqual(sa[RankCounts.self]!.columnBeaten, sb[RankCounts.self]!.columnBeaten, "\(at): x2→x1 ranks", file: file, line: line)
        XCTAssertEqual(sa[NearestNeighbors.self]?.rows.indices, sb[NearestNeighbors.self]?.rows.indices, "\(at): x1→x2 top-k", file: file, line: line)
        XCTAssertEqual(sa[NearestNeighbors.self]?.columns.indices, sb[NearestNeighbors.self]?.columns.indices, "\(at): x2→x1 top-k", file: file, line: line)
        for (x, y) in [(a.x1ToX2, b.x1ToX2), (a.x2ToX1, b.x2ToX1)] {
            XCTAssertEqual(x.recall.map(\.value), y.recall.map(\.value), "\(at): recall", file: file, line: line)
            XCTAssertEqual(x.meanRank, y.meanRank, "\(at): mean rank", file: file, line: line)
            XCTAssertEqual(x.medianRank, y.medianRank, "\(at): median rank", file: file, line: line)
            XCTAssertEqual(x.mrr, y.mrr, accuracy: 1e-15, "\(at): MRR", file: file, line: line)
            XCTAssertEqual(x.ndcg?.map(\.value) ?? [], y.ndcg?.map(\.value) ?? [], accuracy: 1e-15, "\(at): nDCG", file: file, line: line)
        }
    }
}

/// The kernels of every vector level this CPU runs (CROSSSIM_VECTOR_LEVEL keeps a process to
/// one) give the same report within docs/accuracy.md, and the same ranks and lists.
final class KernelLevelTests: XCTestCase {
    func testEveryVectorLevelGivesTheSameReport() throws {
        let levels = reachableVectorLevels()
        guard levels.count > 1 else { throw XCTSkip("this CPU runs only the baseline kernels: nothing to compare") }
        let dir = try temporaryDirectory(self) + "/data"
        XCTAssertEqual(try runCrossSim(["synth", dir, "--n", "300", "--dim", "40", "--captions", "2", "--noise", "2"]).status, 0)
        var reports: [Any] = []
        for level in levels {
            let out = dir + "/report-\(level).json"
            let run = try runCrossSim(["eval", dir + "/x1", dir + "/x2", "--pairs", dir + "/pairs.npy", "--quiet",
                                       "--tau", "0.05", "0.01", "--siglip", "10:-10", "--uniformity", "--top-k", "4",
                                       "--tile", "100x37", "--json", out],
                                      environment: ["CROSSSIM_VECTOR_LEVEL": "\(level)"])
            XCTAssertEqual(run.status, 0, run.stderr)
            reports.append(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))))
        }
        for report in reports.dropFirst() { assertSameResults(reports[0], report) }
    }
}
