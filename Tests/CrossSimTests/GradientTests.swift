import CCrossSimKernels
import CrossSim
import Foundation
import XCTest

/// The loss and its gradient in binary64, from docs/definitions.md and docs/gradient.md: raw rows
/// normalised in Float64 under cosine, the whole of S, softmaxes from max-shifted
/// log-sum-exps, dL/dS by the definitions, and the chain rule through the normalisation.
struct GradientReference {
    let n1: Int, n2: Int, dim: Int
    let similarity: Similarity
    let loss: GradientLoss
    let positiveOf: [Int]

    init(n1: Int, n2: Int, dim: Int, similarity: Similarity, loss: GradientLoss, positiveOf: [Int]? = nil) {
        (self.n1, self.n2, self.dim, self.similarity, self.loss) = (n1, n2, dim, similarity, loss)
        self.positiveOf = positiveOf ?? Array(0..<n1)
    }

    /// Rows as the similarity sees them, and their norms.
    func prepared(_ x: [Double], rows: Int) -> (rows: [Double], norms: [Double]) {
        var out = x, norms = [Double](repeating: 1, count: rows)
        guard similarity == .cosine else { return (out, norms) }
        for i in 0..<rows {
            norms[i] = (0..<dim).reduce(0.0) { $0 + x[i * dim + $1] * x[i * dim + $1] }.squareRoot()
            for d in 0..<dim { out[i * dim + d] = x[i * dim + d] / norms[i] }
        }
        return (out, norms)
    }

    /// The loss and dL/dS.
    func lossAndWeights(_ a: [Double], _ b: [Double]) -> (loss: Double, w: [Double]) {
        var s = [Double](repeating: 0, count: n1 * n2)
        for i in 0..<n1 {
            for j in 0..<n2 { s[i * n2 + j] = (0..<dim).reduce(0.0) { $0 + a[i * dim + $1] * b[j * dim + $1] } }
        }
        var isPositive = [Bool](repeating: false, count: n1 * n2)
        var count = [Int](repeating: 0, count: n1)
        for (j, i) in positiveOf.enumerated() {
            isPositive[i * n2 + j] = true
            count[i] += 1
        }
        var w = [Double](repeating: 0, count: n1 * n2)
        switch loss {
        case .siglip(let term):
            var total = 0.0
            for k in 0..<(n1 * n2) {
                let y = isPositive[k] ? 1.0 : -1.0, x = -y * (term.scale * s[k] + term.bias)
                total += x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
                w[k] = -y * term.scale / (1 + exp(-x)) / Double(n1)
            }
            return (total / Double(n1), w)
        case .infonce(let tau):
            func lse(_ values: [Double]) -> Double {
                let m = values.max()!
                return m + log(values.reduce(0.0) { $0 + exp($1 - m) })
            }
            let queries = Double(count.filter { $0 > 0 }.count)
            var l12 = 0.0, l21 = 0.0
            for i in 0..<n1 where count[i] > 0 {
                let z = (0..<n2).map { s[i * n2 + $0] / tau }
                let r = lse(z)
                l12 += r - (0..<n2).filter { isPositive[i * n2 + $0] }.reduce(0.0) { $0 + z[$1] } / Double(count[i])
                for j in 0..<n2 {
                    w[i * n2 + j] += (exp(z[j] - r) - (isPositive[i * n2 + j] ? 1 / Double(count[i]) : 0)) / (2 * queries * tau)
                }
            }
            for j in 0..<n2 {
                let z = (0..<n1).map { s[$0 * n2 + j] / tau }
                let c = lse(z)
                l21 += c - z[positiveOf[j]]
                for i in 0..<n1 { w[i * n2 + j] += (exp(z[i] - c) - (i == positiveOf[j] ? 1 : 0)) / (2 * Double(n2) * tau) }
            }
            return ((l12 / queries + l21 / Double(n2)) / 2, w)
        }
    }

    func loss(_ x1: [Double], _ x2: [Double]) -> Double {
        lossAndWeights(prepared(x1, rows: n1).rows, prepared(x2, rows: n2).rows).loss
    }

    /// The loss and the gradients with respect to the raw rows.
    func gradient(_ x1: [Double], _ x2: [Double]) -> (loss: Double, dx1: [Double], dx2: [Double]) {
        let (a, norms1) = prepared(x1, rows: n1), (b, norms2) = prepared(x2, rows: n2)
        let (loss, w) = lossAndWeights(a, b)
        var g1 = [Double](repeating: 0, count: n1 * dim), g2 = [Double](repeating: 0, count: n2 * dim)
        for i in 0..<n1 {
            for j in 0..<n2 where w[i * n2 + j] != 0 {
                for d in 0..<dim {
                    g1[i * dim + d] += w[i * n2 + j] * b[j * dim + d]
                    g2[j * dim + d] += w[i * n2 + j] * a[i * dim + d]
                }
            }
        }
        return (loss, through(g1, a, norms1, rows: n1), through(g2, b, norms2, rows: n2))
    }

    /// (g − (g·x̂)x̂)/‖x‖ under cosine.
    func through(_ g: [Double], _ unit: [Double], _ norms: [Double], rows: Int) -> [Double] {
        guard similarity == .cosine else { return g }
        var out = g
        for i in 0..<rows {
            let along = (0..<dim).reduce(0.0) { $0 + g[i * dim + $1] * unit[i * dim + $1] }
            for d in 0..<dim { out[i * dim + d] = (g[i * dim + d] - along * unit[i * dim + d]) / norms[i] }
        }
        return out
    }
}

/// ‖a − b‖ / ‖b‖.
func relativeFrobenius(_ a: [Float], _ b: [Double]) -> Double {
    let error = zip(a, b).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
    return (error / b.reduce(0.0) { $0 + $1 * $1 }).squareRoot()
}

/// docs/gradient.md: each gradient within 1e-5 (τ ≥ 0.05, SigLIP) or 1e-4 (τ < 0.05) relative
/// Frobenius error of the binary64 reference.
func gradientTolerance(_ loss: GradientLoss) -> Double {
    if case .infonce(let tau) = loss, tau < 0.05 { return 1e-4 }
    return 1e-5
}

final class GradientTests: XCTestCase {
    struct Case {
        var x1: TestMatrix
        var x2: TestMatrix
        var positiveOf: [Int]?
        var similarity: Similarity
        var loss: GradientLoss
        var tile = TileShape(rows: 16, cols: 32)
    }

    /// Pairs x2 = x1 + noise (one-to-one, or `captions` per x1 row with the last x1 rows left
    /// without a positive).
    static func pairs(n1: Int, captions: Int = 1, withoutPositive: Int = 0, dim: Int, sigma: Double, seed: UInt64,
                      scale: Double = 1) -> (TestMatrix, TestMatrix, [Int]?) {
        let x1 = TestMatrix.gaussian(rows: n1, dim: dim, seed: seed, scale: scale)
        let owners = (0..<(n1 - withoutPositive) * captions).map { $0 % (n1 - withoutPositive) }
        let x2 = TestMatrix.noisy(x1, owner: owners, sigma: sigma * scale, seed: seed + 1)
        return (x1, x2, captions == 1 && withoutPositive == 0 ? nil : owners)
    }

    func run(_ c: Case, threads: Int = 2) throws -> (loss: Double, report: Report, dx1: Embeddings, dx2: Embeddings) {
        var options = GradientOptions()
        options.similarity = c.similarity
        options.loss = c.loss
        options.tile = c.tile
        options.threads = threads
        let pairs = try c.positiveOf.map { try Pairs(positiveOf: $0, x1Rows: c.x1.rows) }
        let x1 = Embeddings(rows: c.x1.rows, dim: c.x1.dim, values: c.x1.values)
        let x2 = Embeddings(rows: c.x2.rows, dim: c.x2.dim, values: c.x2.values)
        return try Gradient(x1: x1, x2: x2, pairs: pairs, options: options).compute()
    }

    func reference(_ c: Case) -> GradientReference {
        GradientReference(n1: c.x1.rows, n2: c.x2.rows, dim: c.x1.dim, similarity: c.similarity, loss: c.loss,
                          positiveOf: c.positiveOf)
    }

    func assertMatchesReference(_ c: Case, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(c)
        let expected = reference(c).gradient(c.x1.values.map(Double.init), c.x2.values.map(Double.init))
        let tolerance = gradientTolerance(c.loss)
        assertClose(result.loss, expected.loss, relative: tolerance, "\(what): loss", file: file, line: line)
        for (name, actual, wanted) in [("dx1", result.dx1, expected.dx1), ("dx2", result.dx2, expected.dx2)] {
            let error = relativeFrobenius(actual.values, wanted)
            XCTAssertLessThanOrEqual(error, tolerance, "\(what): \(name)'s relative Frobenius error", file: file, line: line)
        }
    }

    func testInfoNCEMatchesTheReference() throws {
        let (x1, x2, _) = Self.pairs(n1: 150, dim: 24, sigma: 0.8, seed: 11)
        for similarity in Similarity.allCases {
            for tau in [0.05, 0.01, 1] {
                // Dot similarities of raw Gaussian rows reach ~50: scaled so that s/τ stays moderate.
                let scale = similarity == .dot ? 0.2 : 1.0
                let c = Case(x1: TestMatrix(rows: x1.rows, dim: x1.dim, values: x1.values.map { $0 * Float(scale) }),
                             x2: TestMatrix(rows: x2.rows, dim: x2.dim, values: x2.values.map { $0 * Float(scale) }),
                             similarity: similarity, loss: .infonce(tau: tau))
                try assertMatchesReference(c, "\(similarity) τ = \(tau)")
            }
        }
    }

    func testSigLIPMatchesTheReference() throws {
        let (x1, x2, _) = Self.pairs(n1: 140, dim: 20, sigma: 0.7, seed: 21)
        for similarity in Similarity.allCases {
            for term in [SigLIPTerm(scale: 10, bias: -10), SigLIPTerm(scale: 1, bias: 0), SigLIPTerm(scale: -3, bias: 2)] {
                try assertMatchesReference(Case(x1: x1, x2: x2, similarity: similarity, loss: .siglip(term)), "\(similarity) \(term)")
            }
        }
    }

    func testMultiplePositivesAndUnevenSetsMatchTheReference() throws {
        // 40 x1 rows, the last 7 without a positive; 3 captions for each of the others (99 x2 rows).
        let (x1, x2, owners) = Self.pairs(n1: 40, captions: 3, withoutPositive: 7, dim: 16, sigma: 0.9, seed: 31)
        // Shuffled, so that the positives of a row are not next to each other.
        var random = TestRandom(seed: 5)
        var order = Array(0..<x2.rows)
        for k in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(k, random.int(0..<(k + 1))) }
        let shuffled = TestMatrix(rows: x2.rows, dim: x2.dim, values: order.flatMap { x2.row($0) })
        let pairs = order.map { owners![$0] }
        for loss in [GradientLoss.infonce(tau: 0.07), .infonce(tau: 0.01), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
            for similarity in Similarity.allCases {
                try assertMatchesReference(Case(x1: x1, x2: shuffled, positiveOf: pairs, similarity: similarity, loss: loss),
                                           "\(similarity) \(loss), 40 × 99")
                // And the other way round: more x1 rows than x2 rows, each x2 row a positive of one.
                try assertMatchesReference(Case(x1: shuffled, x2: x1, positiveOf: Array(0..<x1.rows).map { $0 * 2 },
                                                similarity: similarity, loss: loss), "\(similarity) \(loss), 99 × 40")
            }
        }
    }

    func testEveryVectorLevelMatchesTheReference() throws {
        let (x1, x2, owners) = Self.pairs(n1: 50, captions: 2, withoutPositive: 3, dim: 20, sigma: 0.9, seed: 35)
        let current = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(current) }
        for level in reachableVectorLevels() {
            XCTAssertEqual(Int(cs_use_vector_level(Int32(level))), level)
            for loss in [GradientLoss.infonce(tau: 0.05), .infonce(tau: 0.01), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
                try assertMatchesReference(Case(x1: x1, x2: x2, positiveOf: owners, similarity: .cosine, loss: loss), "level \(level), \(loss)")
            }
        }
    }

    func testExactTiesMatchTheReference() throws {
        // Ten distinct rows near one another, each six times on both sides: a query's positive
        // has five exact duplicates among its negatives, and every row and column softmax ties.
        let centre = TestMatrix.gaussian(rows: 1, dim: 12, seed: 41)
        let base = TestMatrix.clustered(rows: 10, centres: centre, spread: 0.3, seed: 42)
        let repeated = TestMatrix(rows: 60, dim: 12, values: (0..<60).flatMap { base.row($0 % 10) })
        for loss in [GradientLoss.infonce(tau: 0.05), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
            for similarity in Similarity.allCases {
                try assertMatchesReference(Case(x1: repeated, x2: repeated, similarity: similarity, loss: loss),
                                           "duplicates, \(similarity) \(loss)")
            }
        }
    }

    func testACollapsedSetsGradientIsZeroOrTheReferences() throws {
        // Every row the same direction (with three lengths): S is constant under cosine. InfoNCE's
        // weights then sum to 0 over every row and column, so its gradient is 0 under both
        // similarities (dot: every row the same vector); SigLIP's only scales S, which the
        // normalisation removes, and under dot it is the reference's.
        let row = TestMatrix.gaussian(rows: 1, dim: 8, seed: 43)
        let lengths = TestMatrix(rows: 20, dim: 8, values: (0..<20).flatMap { k in row.values.map { $0 * Float(1 + k % 3) } })
        let same = TestMatrix(rows: 20, dim: 8, values: (0..<20).flatMap { _ in row.values })
        for (loss, similarity, set) in [(GradientLoss.infonce(tau: 0.05), Similarity.cosine, lengths), (.infonce(tau: 0.05), .dot, same),
                                        (.siglip(SigLIPTerm(scale: 10, bias: -10)), .cosine, lengths)] {
            let result = try run(Case(x1: set, x2: set, similarity: similarity, loss: loss))
            let largest = (result.dx1.values + result.dx2.values).map { abs($0) }.max()!
            XCTAssertLessThan(largest, 1e-5, "\(similarity) \(loss)")
        }
        try assertMatchesReference(Case(x1: same, x2: same, similarity: .dot, loss: .siglip(SigLIPTerm(scale: 1, bias: -10))),
                                   "collapsed, dot SigLIP")
    }

    func testTheReferenceAgreesWithFiniteDifferences() throws {
        // A directional derivative in binary64, (L(x + hv) − L(x − hv)) / 2h, against both the
        // reference's gradient and CrossSim's.
        let (x1, x2, owners) = Self.pairs(n1: 12, captions: 2, withoutPositive: 2, dim: 6, sigma: 0.6, seed: 51)
        var random = TestRandom(seed: 52)
        let v1 = (0..<x1.values.count).map { _ in random.gaussian() }, v2 = (0..<x2.values.count).map { _ in random.gaussian() }
        let a = x1.values.map(Double.init), b = x2.values.map(Double.init)
        for similarity in Similarity.allCases {
            for loss in [GradientLoss.infonce(tau: 0.1), .siglip(SigLIPTerm(scale: 5, bias: -2))] {
                let c = Case(x1: x1, x2: x2, positiveOf: owners, similarity: similarity, loss: loss)
                let model = reference(c)
                let h = 1e-5
                let plus = model.loss(zip(a, v1).map { $0 + h * $1 }, zip(b, v2).map { $0 + h * $1 })
                let minus = model.loss(zip(a, v1).map { $0 - h * $1 }, zip(b, v2).map { $0 - h * $1 })
                let numeric = (plus - minus) / (2 * h)
                let expected = model.gradient(a, b)
                func along(_ g1: [Double], _ g2: [Double]) -> Double {
                    zip(g1, v1).reduce(0.0) { $0 + $1.0 * $1.1 } + zip(g2, v2).reduce(0.0) { $0 + $1.0 * $1.1 }
                }
                assertClose(along(expected.dx1, expected.dx2), numeric, relative: 1e-7, "\(similarity) \(loss): reference")
                let result = try run(c)
                assertClose(along(result.dx1.values.map(Double.init), result.dx2.values.map(Double.init)), numeric,
                            relative: 1e-5, "\(similarity) \(loss): CrossSim")
            }
        }
    }

    func testRepeatsAreBitIdenticalAtAnyThreadCount() throws {
        let (x1, x2, _) = Self.pairs(n1: 300, dim: 16, sigma: 1, seed: 61)
        for loss in [GradientLoss.infonce(tau: 0.05), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
            let c = Case(x1: x1, x2: x2, similarity: .cosine, loss: loss, tile: TileShape(rows: 16, cols: 64))
            let one = try run(c, threads: 1)
            for threads in [2, 3, 7] {
                let other = try run(c, threads: threads)
                XCTAssertEqual(one.dx1.values, other.dx1.values, "\(loss), dx1 at \(threads) threads")
                XCTAssertEqual(one.dx2.values, other.dx2.values, "\(loss), dx2 at \(threads) threads")
            }
        }
    }

    func testTheLossIsTheEvaluationsLoss() throws {
        let (x1, x2, _) = Self.pairs(n1: 80, dim: 16, sigma: 1, seed: 71)
        let matrices = (Embeddings(rows: x1.rows, dim: x1.dim, values: x1.values), Embeddings(rows: x2.rows, dim: x2.dim, values: x2.values))
        for loss in [GradientLoss.infonce(tau: 0.05), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
            let result = try run(Case(x1: x1, x2: x2, similarity: .cosine, loss: loss, tile: .default))
            var options = GradientOptions()
            options.loss = loss
            let report = try Evaluation(x1: matrices.0, x2: matrices.1, options: options.evaluation).report()
            XCTAssertEqual(result.loss, try XCTUnwrap(loss.value(in: report)), "\(loss)")
        }
    }

    func testTheCallersMatricesAreLeftAsTheyWere() throws {
        let (x1, x2, _) = Self.pairs(n1: 30, dim: 8, sigma: 1, seed: 81)
        let a = Embeddings(rows: x1.rows, dim: x1.dim, values: x1.values), b = Embeddings(rows: x2.rows, dim: x2.dim, values: x2.values)
        _ = try Gradient(x1: a, x2: b).compute()
        XCTAssertEqual(a.values, x1.values)
        XCTAssertEqual(b.values, x2.values)
    }

    func testBadInputIsRefused() throws {
        let a = Embeddings(rows: 3, dim: 4, values: [Float](repeating: 1, count: 12))
        let zero = Embeddings(rows: 3, dim: 4, values: [Float](repeating: 0, count: 12))
        var options = GradientOptions()
        options.loss = .infonce(tau: 0)
        XCTAssertNotNil(inputError { _ = try Gradient(x1: a, x2: a, options: options) })
        XCTAssertNotNil(inputError { _ = try Gradient(x1: a, x2: zero) })
        XCTAssertNotNil(inputError { _ = try Gradient(x1: a, x2: Embeddings(rows: 2, dim: 4, values: [Float](repeating: 1, count: 8))) })
    }

    // MARK: crosssim grad

    /// Float32 values of a 2-D .npy the library wrote.
    func readGradient(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let (descr, shape, data) = try TestNPY.read(path)
        XCTAssertEqual(descr, "<f4")
        return (shape, data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    }

    func testGradWritesTheLibrarysGradientsAndReport() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2, owners) = Self.pairs(n1: 50, captions: 2, withoutPositive: 5, dim: 12, sigma: 1, seed: 91)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        try TestNPY.write(int64: owners!, to: dir + "/pairs.npy")
        for (flags, loss) in [(["--tau", "0.05"], GradientLoss.infonce(tau: 0.05)), (["--siglip", "10:-10"], .siglip(SigLIPTerm(scale: 10, bias: -10)))] {
            let out = dir + "/out/\(flags[0])"
            let run = try runCrossSim(["grad", dir + "/x1.npy", dir + "/x2.npy", "--pairs", dir + "/pairs.npy", "--out", out, "--quiet",
                                       "--tile", "16x32"] + flags)
            XCTAssertEqual(run.status, 0, run.stderr)
            let library = try self.run(Case(x1: x1, x2: x2, positiveOf: owners, similarity: .cosine, loss: loss))
            let (shape1, dx1) = try readGradient(out + "/x1.grad.npy"), (shape2, dx2) = try readGradient(out + "/x2.grad.npy")
            XCTAssertEqual(shape1, [50, 12])
            XCTAssertEqual(shape2, [90, 12])
            // The same computation; the command line may run other BLAS kernels than this process
            // (it picks the CPU's best), whose sums round differently.
            XCTAssertLessThanOrEqual(relativeFrobenius(dx1, library.dx1.values.map(Double.init)), 1e-6, "\(loss)")
            XCTAssertLessThanOrEqual(relativeFrobenius(dx2, library.dx2.values.map(Double.init)), 1e-6, "\(loss)")
            assertClose(try reportedLoss(out + "/report.json", loss), library.loss, relative: 1e-6, "\(loss)")
        }
    }

    /// The loss in a report.json.
    func reportedLoss(_ path: String, _ loss: GradientLoss) throws -> Double {
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        XCTAssertEqual(report["schema"] as? String, "crosssim.report/1")
        switch loss {
        case .infonce(let tau):
            let losses = try XCTUnwrap(report["infonce"] as? [[String: Any]])
            return try XCTUnwrap(losses.first { $0["tau"] as? Double == tau }?["symmetric"] as? Double)
        case .siglip:
            return try XCTUnwrap((report["siglip"] as? [[String: Any]])?.first?["loss"] as? Double)
        }
    }

    func testPartsMergeIntoTheWholeRunsGradients() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2, _) = Self.pairs(n1: 120, dim: 12, sigma: 1, seed: 101)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        let sets = [dir + "/x1.npy", dir + "/x2.npy"]
        for (flags, loss) in [(["--tau", "0.05"], GradientLoss.infonce(tau: 0.05)), (["--siglip", "10:-10"], .siglip(SigLIPTerm(scale: 10, bias: -10)))] {
            // Stage one: an evaluation in two parts, with more figures than the loss.
            var columns: [String] = []
            for i in 0..<2 {
                columns.append(dir + "/eval-\(i).state")
                let run = try runCrossSim(["eval"] + sets + ["--part", "\(i)/2", "--state", columns[i], "--quiet", "--tau", "0.1", "0.05"]
                                          + (flags[0] == "--siglip" ? flags : []))
                XCTAssertEqual(run.status, 0, run.stderr)
            }
            // Stage two: three gradient parts, merged out of order; again under a memory limit
            // that streams x2 past panels of the part's rows.
            var options = GradientOptions()
            options.tile = TileShape(rows: 16, cols: 32)
            options.threads = 3   // the most a part below takes
            let limit = StreamingEvaluation.fixedBytes(set1: try ShardSet.open(sets[0]), set2: try ShardSet.open(sets[1]),
                                                       options: options.evaluation) + 2 * x2.values.count * 4 + 2 * 16 * 32 * 4
            for (merged, limited) in [("merged", []), ("merged-limit", ["--memory-limit", "\(limit)", "--tile", "16x32"])] {
                var parts: [String] = []
                for i in 0..<3 {
                    parts.append(dir + "/\(merged)-\(i).part")
                    let run = try runCrossSim(["grad"] + sets + flags + ["--part", "\(i)/3", "--columns"] + columns
                                              + ["--state", parts[i], "--quiet", "--threads", "\(1 + i)"] + limited)
                    XCTAssertEqual(run.status, 0, run.stderr)
                }
                let merge = try runCrossSim(["merge", parts[2], parts[0], parts[1], "--out", dir + "/" + merged])
                XCTAssertEqual(merge.status, 0, merge.stderr)
            }
            let whole = try runCrossSim(["grad"] + sets + flags + ["--out", dir + "/whole", "--quiet"])
            XCTAssertEqual(whole.status, 0, whole.stderr)
            let expected = reference(Case(x1: x1, x2: x2, similarity: .cosine, loss: loss)).gradient(x1.values.map(Double.init), x2.values.map(Double.init))
            for (name, wanted) in [("x1", expected.dx1), ("x2", expected.dx2)] {
                for run in ["merged", "merged-limit", "whole"] {
                    let values = try readGradient(dir + "/\(run)/\(name).grad.npy").values
                    XCTAssertLessThanOrEqual(relativeFrobenius(values, wanted), gradientTolerance(loss), "\(loss) \(name), \(run)")
                }
            }
            for run in ["merged", "merged-limit"] {
                assertClose(try reportedLoss(dir + "/\(run)/report.json", loss), try reportedLoss(dir + "/whole/report.json", loss),
                            relative: 1e-5, "\(loss), \(run)")
            }
        }
    }

    func testAMemoryLimitStreamsBothSetsAndGivesTheSameGradients() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2, owners) = Self.pairs(n1: 60, captions: 2, withoutPositive: 4, dim: 12, sigma: 1, seed: 121)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        try TestNPY.write(int64: owners!, to: dir + "/pairs.npy")
        for loss in [GradientLoss.infonce(tau: 0.05), .siglip(SigLIPTerm(scale: 10, bias: -10))] {
            var options = GradientOptions()
            options.loss = loss
            options.tile = TileShape(rows: 16, cols: 32)
            options.threads = 2
            let set1 = try ShardSet.open(dir + "/x1.npy"), set2 = try ShardSet.open(dir + "/x2.npy")
            // What the evaluation needs, x2's gradient and the tiles' weights, and room for a few
            // panels of rows: x2 does not fit, so x1 comes in panels and x2 streams past each.
            let limit = StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options.evaluation)
                + 2 * x2.values.count * 4 + 2 * 16 * 32 * 4
            let request = GradientRequest(x1: dir + "/x1.npy", x2: dir + "/x2.npy", pairs: dir + "/pairs.npy", options: options)
            var limited = request
            limited.memoryLimit = limit
            for (run, name) in [(request, "memory"), (limited, "limit")] {
                // The progress bar's total is every tile of both passes.
                let progress = ProgressCounter()
                _ = try run.run(into: .directory(dir + "/" + name), control: RunControl(progress: progress))
                XCTAssertEqual(progress.completed, progress.expected, "\(loss), \(name): tiles done vs expected")
            }
            let expected = reference(Case(x1: x1, x2: x2, positiveOf: owners, similarity: .cosine, loss: loss))
                .gradient(x1.values.map(Double.init), x2.values.map(Double.init))
            for (name, wanted) in [("x1", expected.dx1), ("x2", expected.dx2)] {
                for run in ["memory", "limit"] {
                    let values = try readGradient(dir + "/\(run)/\(name).grad.npy").values
                    XCTAssertLessThanOrEqual(relativeFrobenius(values, wanted), gradientTolerance(loss), "\(loss) \(name), \(run)")
                }
            }
            assertClose(try reportedLoss(dir + "/limit/report.json", loss), try reportedLoss(dir + "/memory/report.json", loss),
                        relative: 1e-5, "\(loss)")
        }
    }

    func testGradRefusesBadInputWithExitCode2() throws {
        let dir = try temporaryDirectory(self)
        let (x1, x2, _) = Self.pairs(n1: 20, dim: 4, sigma: 1, seed: 111)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        let sets = [dir + "/x1.npy", dir + "/x2.npy"]
        try runCrossSim(["eval"] + sets + ["--state", dir + "/tau01.state", "--tau", "0.1", "--quiet"]).expect(status: 0)
        try runCrossSim(["grad"] + sets + ["--tau", "0.05", "--out", dir + "/g", "--quiet"]).expect(status: 0)
        let cases: [([String], String)] = [
            (["grad", dir + "/missing.npy", dir + "/x2.npy", "--tau", "0.05", "--out", dir + "/o"], "missing.npy"),
            (["grad"] + sets + ["--out", dir + "/o"], "--tau T"),
            (["grad"] + sets + ["--tau", "0.05", "--siglip", "1:0", "--out", dir + "/o"], "one of them"),
            (["grad"] + sets + ["--tau", "0", "--out", dir + "/o"], "τ must be > 0"),
            (["grad"] + sets + ["--tau", "0.05"], "--out DIR"),
            (["grad"] + sets + ["--tau", "0.05", "--out", dir + "/x1.npy"], "not a directory"),
            (["grad"] + sets + ["--tau", "0.05", "--part", "0/2", "--state", dir + "/p"], "--columns"),
            (["grad"] + sets + ["--tau", "0.05", "--part", "0/2", "--columns", dir + "/tau01.state", "--state", dir + "/p"],
             "does not hold InfoNCE at τ = 0.05"),
            (["grad"] + sets + ["--tau", "0.05", "--part", "0/2", "--columns", dir + "/x1.npy", "--state", dir + "/p"], "x1.npy"),
            (["merge", dir + "/g/x1.grad.npy"], "x1.grad.npy"),
            (["merge", dir + "/tau01.state", "--out", dir + "/o"], "--out is for gradient parts"),
        ]
        for (arguments, needle) in cases {
            let run = try runCrossSim(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(needle), "\(arguments): stderr \(run.stderr) does not name \(needle)")
        }
    }
}

extension ProgramRun {
    @discardableResult
    func expect(status: Int32, file: StaticString = #filePath, line: UInt = #line) -> ProgramRun {
        XCTAssertEqual(self.status, status, stderr, file: file, line: line)
        return self
    }
}

