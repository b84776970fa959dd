import CrossSim
import Foundation
import XCTest

/// Every field of the report against the Float64 reference (docs/definitions.md, docs/accuracy.md).
final class EvaluationTests: XCTestCase {
    /// τ = 1 and 0.05 (loss tolerance 1e-5), 0.03 (cosine: the one-exp fixed-shift path,
    /// tolerance 1e-4), 0.02 and 0.01 (the general two-exp path). Dot always takes the general path.
    static let temperatures = [1, 0.05, 0.03, 0.02, 0.01]

    func fullOptions(_ similarity: Similarity, topK: Int? = 5) -> EvaluationOptions {
        var options = EvaluationOptions()
        options.similarity = similarity
        options.temperatures = Self.temperatures
        options.siglip = [SigLIPTerm(scale: 10, bias: -10), SigLIPTerm(scale: 1, bias: 0)]
        options.recallAt = [1, 3, 5, 10]
        options.topK = topK
        options.uniformity = true
        return options
    }

    /// Runs the engine on the matrices and checks report and state against the reference.
    @discardableResult
    func evaluate(_ x1: TestMatrix, _ x2: TestMatrix, owners: [Int]? = nil, options: EvaluationOptions,
                  file: StaticString = #filePath, line: UInt = #line) throws -> (Report, ReferenceModel) {
        let pairs = try owners.map { try Pairs(positiveOf: $0, x1Rows: x1.rows) }
        let evaluation = try Evaluation(x1: x1.embeddings(options.similarity), x2: x2.embeddings(options.similarity),
                                        pairs: pairs, options: options)
        let report = try evaluation.report()
        let state = try evaluation.state()
        let reference = ReferenceModel(x1: x1, x2: x2, positiveOf: owners, similarity: options.similarity)
        reference.check(report, state: state, options: options, file: file, line: line)
        return (report, reference)
    }

    // MARK: One-to-one

    func testGaussianCosineOneToOne() throws {
        let x1 = TestMatrix.gaussian(rows: 40, dim: 16, seed: 1)
        let x2 = TestMatrix.gaussian(rows: 40, dim: 16, seed: 2)
        let (report, _) = try evaluate(x1, x2, options: fullOptions(.cosine))
        // Random pairs: near chance, and k = 10 > K = 5 has no precision/ndcg/map.
        XCTAssertEqual(report.x1ToX2.precision?.map(\.k), [1, 3, 5])
        XCTAssertEqual(report.x2ToX1.ndcg?.map(\.k), [1, 3, 5])
        XCTAssertEqual(report.x2ToX1.map?.map(\.k), [1, 3, 5])
        XCTAssertEqual(report.x1ToX2.recall.map(\.k), [1, 3, 5, 10])
        XCTAssertEqual(report.infonce[0].x1ToX2, log(40), accuracy: 0.3)
    }

    func testStructuredCosineOneToOneSmallTilesTwoThreads() throws {
        // x2 = x1 + noise, noisy enough that retrieval is far from perfect: every loss is O(0.1)
        // or more, where docs/accuracy.md's relative bounds are meaningful at every τ (see
        // testWellSeparatedPairsKeepRelativeAccuracy for losses near zero).
        let x1 = TestMatrix.gaussian(rows: 45, dim: 24, seed: 3)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<45), sigma: 2.0, seed: 4)
        var options = fullOptions(.cosine)
        options.tile = TileShape(rows: 16, cols: 8)
        options.threads = 2
        let (report, _) = try evaluate(x1, x2, options: options)
        XCTAssertGreaterThan(report.x1ToX2.recall(at: 1)!, 0.3, "structure: well above chance (1/45)")
        XCTAssertLessThan(report.infonce[1].symmetric, log(45) / 2)
    }

    /// x2 = x1 + little noise: every positive beats every negative by a wide margin, so the
    /// losses at small τ are tiny (1e-3 … 1e-7). InfoNCE is LSE_j z_ij − z_ip ≥ 0 exactly, and
    /// docs/accuracy.md asks for a relative error, which Float32 similarities allow: each negative's
    /// term e^{(s_c − s*)/τ} is known to ~1e-7/τ relative when s_c and s* come from the same
    /// tile. The loss must never be negative and must keep its relative accuracy.
    func testWellSeparatedPairsKeepRelativeAccuracy() throws {
        let x1 = TestMatrix.gaussian(rows: 45, dim: 24, seed: 3)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<45), sigma: 0.7, seed: 4)
        var options = EvaluationOptions()
        options.temperatures = [0.05, 0.02, 0.01]
        let report = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), options: options).report()
        for l in report.infonce {
            XCTAssertGreaterThanOrEqual(l.x1ToX2, 0, "InfoNCE x1→x2 at τ = \(l.tau) is negative")
            XCTAssertGreaterThanOrEqual(l.x2ToX1, 0, "InfoNCE x2→x1 at τ = \(l.tau) is negative")
        }
        ReferenceModel(x1: x1, x2: x2, similarity: .cosine).check(report, options: options)
    }

    func testClusteredCosine() throws {
        // Six clusters: many strong negatives inside each cluster, a negative mean far from 0.
        let centres = TestMatrix.gaussian(rows: 6, dim: 12, seed: 5)
        let x1 = TestMatrix.clustered(rows: 48, centres: centres, spread: 0.5, seed: 6)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<48), sigma: 0.4, seed: 7)
        var options = fullOptions(.cosine)
        options.tile = TileShape(rows: 13, cols: 20)
        let (report, _) = try evaluate(x1, x2, options: options)
        XCTAssertGreaterThan(report.diagnostics.negativeMean!, 0.02)
        XCTAssertGreaterThan(report.diagnostics.negativeStd!, 0.3, "clusters: strong negatives")
    }

    func testGaussianDotOneToOne() throws {
        let x1 = TestMatrix.gaussian(rows: 37, dim: 16, seed: 8)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<37), sigma: 1.5, seed: 9)
        try evaluate(x1, x2, options: fullOptions(.dot))
    }

    func testClusteredDotSmallTiles() throws {
        let centres = TestMatrix.gaussian(rows: 4, dim: 10, seed: 10, scale: 0.5)
        let x1 = TestMatrix.clustered(rows: 33, centres: centres, spread: 0.4, seed: 11)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<33), sigma: 0.3, seed: 12)
        var options = fullOptions(.dot)
        options.tile = TileShape(rows: 7, cols: 9)
        options.threads = 2
        try evaluate(x1, x2, options: options)
    }

    /// Dot similarity on embeddings that share a large common offset (raw model outputs often
    /// do): every similarity is ≈ ‖c‖² while what matters — distances, spreads — is small.
    /// (Uniformity on such data: testUniformityIsTranslationInvariant.)
    func testDotWithALargeCommonOffset() throws {
        let centre = TestMatrix.gaussian(rows: 1, dim: 16, seed: 31, scale: 5)
        let x1 = TestMatrix.clustered(rows: 40, centres: centre, spread: 0.5, seed: 32)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<40), sigma: 0.4, seed: 33)
        var options = fullOptions(.dot)
        options.temperatures = [1, 0.05]
        options.siglip = [SigLIPTerm(scale: 1, bias: 0)]
        options.uniformity = false
        try evaluate(x1, x2, options: options)
    }

    /// Uniformity depends only on the distances within a set: moving the whole set by a
    /// constant vector must not change it (under dot similarity, where rows are used as they
    /// are). Held to the 1e-6 relative of means: it is the log of a mean.
    func testUniformityIsTranslationInvariant() throws {
        let x1 = TestMatrix.gaussian(rows: 40, dim: 16, seed: 34, scale: 0.5)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<40), sigma: 0.3, seed: 35)
        let offset = TestMatrix.gaussian(rows: 1, dim: 16, seed: 36, scale: 5).values
        func shifted(_ m: TestMatrix) -> TestMatrix {
            TestMatrix(rows: m.rows, dim: m.dim, values: m.values.enumerated().map { $0.element + offset[$0.offset % m.dim] })
        }
        var options = EvaluationOptions()
        options.similarity = .dot
        options.uniformity = true
        let near = try Evaluation(x1: x1.embeddings(.dot), x2: x2.embeddings(.dot), options: options).report()
        let far = try Evaluation(x1: shifted(x1).embeddings(.dot), x2: shifted(x2).embeddings(.dot), options: options).report()
        let reference = ReferenceModel(x1: shifted(x1), x2: shifted(x2), similarity: .dot)
        assertClose(near.diagnostics.uniformityX1, ReferenceModel(x1: x1, x2: x2, similarity: .dot).uniformityX1, relative: 1e-6, "x1 near 0")
        assertClose(far.diagnostics.uniformityX1, reference.uniformityX1, relative: 1e-6, "x1 moved by ‖c‖ ≈ 20")
        assertClose(far.diagnostics.uniformityX2, reference.uniformityX2, relative: 1e-6, "x2 moved by ‖c‖ ≈ 20")
        assertClose(far.diagnostics.uniformityX2, near.diagnostics.uniformityX2, relative: 1e-6, "x2: moved vs not")
    }

    // MARK: Multi-positive pairs, N1 ≠ N2

    /// 37 x1 rows, 45 x2 rows: rows 5, 17 and 30 have no positive; others one to three.
    static func multiPositiveOwners() -> [Int] {
        var random = TestRandom(seed: 99)
        let without: Set = [5, 17, 30]
        var owners = (0..<37).filter { !without.contains($0) }       // 34: every other row once
        while owners.count < 45 {
            let i = random.int(0..<37)
            if !without.contains(i) && owners.filter({ $0 == i }).count < 3 { owners.append(i) }
        }
        // Shuffle so that positives of a row are not adjacent columns.
        for k in stride(from: owners.count - 1, to: 0, by: -1) { owners.swapAt(k, random.int(0..<(k + 1))) }
        return owners
    }

    func testMultiPositiveCosine() throws {
        let owners = Self.multiPositiveOwners()
        let x1 = TestMatrix.gaussian(rows: 37, dim: 20, seed: 13)
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: 2.0, seed: 14)
        var options = fullOptions(.cosine)
        options.tile = TileShape(rows: 8, cols: 16)
        options.threads = 2
        let (report, _) = try evaluate(x1, x2, owners: owners, options: options)
        XCTAssertEqual(report.inputs.x1WithoutPositive, 3)
        XCTAssertEqual(report.x1ToX2.queries, 34, "x1 rows without a positive are not queries")
        XCTAssertEqual(report.x2ToX1.queries, 45)
        XCTAssertEqual(report.diagnostics.chanceX1ToX2, log(45), accuracy: 1e-12)
        XCTAssertEqual(report.diagnostics.chanceX2ToX1, log(37), accuracy: 1e-12)
    }

    func testMultiPositiveDot() throws {
        let owners = Self.multiPositiveOwners()
        let x1 = TestMatrix.gaussian(rows: 37, dim: 12, seed: 15)
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: 1.0, seed: 16)
        let (report, _) = try evaluate(x1, x2, owners: owners, options: fullOptions(.dot))
        XCTAssertEqual(report.inputs.x1WithoutPositive, 3)
    }

    func testMultiPositiveWithoutTopK() throws {
        let owners = Self.multiPositiveOwners()
        let x1 = TestMatrix.gaussian(rows: 37, dim: 20, seed: 17)
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: 1.0, seed: 18)
        var options = fullOptions(.cosine, topK: nil)
        options.uniformity = false
        options.siglip = []
        let (report, _) = try evaluate(x1, x2, owners: owners, options: options)
        XCTAssertNil(report.x1ToX2.precision)
        XCTAssertNil(report.diagnostics.uniformityX1)
        XCTAssertTrue(report.siglip.isEmpty)
    }

    // MARK: The two log-sum-exp paths

    /// Cosine τ = 0.025 is the smallest τ of the one-exp path and τ = 0.0249 the largest of the
    /// two-exp path: both agree with the reference and with each other.
    func testFixedShiftAndOnlinePathsAgreeAtTheirBoundary() throws {
        let x1 = TestMatrix.gaussian(rows: 40, dim: 16, seed: 19)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<40), sigma: 1.2, seed: 20)
        var options = EvaluationOptions()
        options.temperatures = [0.025, 0.0249]
        let (report, _) = try evaluate(x1, x2, options: options)
        // L(τ) is smooth: the two values differ by about |dL/dτ|·1e-4, far below 1e-2 relative.
        assertClose(report.infonce[0].symmetric, report.infonce[1].symmetric, relative: 1e-2, "paths")
    }

    // MARK: Inputs read from files

    /// The whole path a user takes: raw Float32 .npy files and a pairs file, read, normalised
    /// by the reader, evaluated.
    func testRequestFromFilesMatchesReference() throws {
        let dir = try temporaryDirectory(self)
        let owners = Self.multiPositiveOwners()
        let x1 = TestMatrix.gaussian(rows: 37, dim: 20, seed: 21, scale: 3)
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: 6.0, seed: 22)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        try TestNPY.write(int64: owners, to: dir + "/pairs.npy")
        let options = fullOptions(.cosine)
        let report = try EvaluationRequest(x1: dir + "/x1.npy", x2: dir + "/x2.npy", pairs: dir + "/pairs.npy",
                                           options: options).report()
        ReferenceModel(x1: x1, x2: x2, positiveOf: owners, similarity: .cosine).check(report, options: options)
        XCTAssertEqual(report.inputs.pairsPath, dir + "/pairs.npy")
        XCTAssertEqual(report.inputs.x1.dtype, "<f4")
        XCTAssertEqual(report.inputs.x1.shards, 1)
    }

    // MARK: In-memory API contract

    /// `Evaluation` under cosine must compare directions: rows handed over in memory that are not
    /// unit length must give the same report as the same rows normalised (docs/inputs.md: under
    /// cosine every row is L2-normalised on read).
    func testCosineInMemoryRowsAreNormalised() throws {
        let x1 = TestMatrix.gaussian(rows: 30, dim: 8, seed: 23, scale: 2.5)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<30), sigma: 2.0, seed: 24)
        var options = EvaluationOptions()
        options.temperatures = [0.05, 0.01]
        let raw = try Evaluation(x1: Embeddings(rows: 30, dim: 8, values: x1.values),
                                 x2: Embeddings(rows: 30, dim: 8, values: x2.values), options: options).report()
        ReferenceModel(x1: x1, x2: x2, similarity: .cosine).check(raw, options: options)
    }

    /// Pairs built in memory are not the identity: the report must not say "identity".
    func testInMemoryPairsAreNotReportedAsIdentity() throws {
        let pairs = try Pairs(positiveOf: [0, 0, 1, 2], x1Rows: 3)
        XCTAssertFalse(pairs.isIdentity, "many-to-one pairs built in memory are not the identity")
        let x1 = TestMatrix.gaussian(rows: 3, dim: 4, seed: 25)
        let x2 = TestMatrix.noisy(x1, owner: [0, 0, 1, 2], sigma: 0.1, seed: 26)
        let report = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), pairs: pairs).report()
        XCTAssertNotEqual(report.json["inputs"]?["pairs"], .string("identity"))
    }

    // MARK: Options that are bad input

    func testNonPositiveTemperatureIsRejected() throws {
        let x = TestMatrix.gaussian(rows: 4, dim: 3, seed: 27).embeddings(.cosine)
        for tau in [0, -0.05, .nan] {
            var options = EvaluationOptions()
            options.temperatures = [0.05, tau]
            let error = inputError { _ = try Evaluation(x1: x, x2: x, options: options) }
            XCTAssertTrue(error?.message.contains("τ") == true || error?.message.contains("temperature") == true,
                          String(describing: error))
        }
    }

    func testUnequalRowsWithoutPairsAreRejected() throws {
        let a = TestMatrix.gaussian(rows: 4, dim: 3, seed: 28).embeddings(.cosine)
        let b = TestMatrix.gaussian(rows: 5, dim: 3, seed: 29).embeddings(.cosine)
        let error = inputError { _ = try Evaluation(x1: a, x2: b) }
        XCTAssertTrue(error?.message.contains("N1") == true || error?.message.contains("pairs") == true, String(describing: error))
    }

    func testTopKBeyondCandidatesIsRejected() throws {
        let x = TestMatrix.gaussian(rows: 4, dim: 3, seed: 30).embeddings(.cosine)
        var options = EvaluationOptions()
        options.topK = 5
        XCTAssertNotNil(inputError { _ = try Evaluation(x1: x, x2: x, options: options) })
    }

    func testThreadsOutsideTheLimitAreRejected() throws {
        let x = TestMatrix.gaussian(rows: 4, dim: 3, seed: 31).embeddings(.cosine)
        var options = EvaluationOptions()
        for threads in [0, -1, 4097, 1_000_000] {
            options.threads = threads
            let error = inputError { _ = try Evaluation(x1: x, x2: x, options: options) }
            XCTAssertTrue(error?.message.contains("4096") == true, "\(threads): \(String(describing: error))")
        }
        options.threads = 4096
        XCTAssertNoThrow(try options.validate())
    }

    /// A report made through the library from loaded sets names them as the command line does:
    /// path, shard count and dtype, not "x1", one shard and <f4.
    func testLoadedSetsAreNamedInTheReport() throws {
        let path = Fixtures.path("zst/M_le_f2.npy.zst")
        let set = try ShardSet.open(path)
        let x = try Embeddings.load(set, similarity: .cosine)
        let report = try Evaluation(x1: x, x2: x).report()
        XCTAssertEqual(report.inputs.x1.path, set.path)
        XCTAssertEqual(report.inputs.x2.dtype, set.dtype)
        XCTAssertEqual(report.inputs.x1.shards, set.shards.count)
        let memory = try Evaluation(x1: Embeddings(rows: 5, dim: 3, values: Fixtures.m), x2: x).report()
        XCTAssertEqual(memory.inputs.x1.path, "x1")
    }
}
