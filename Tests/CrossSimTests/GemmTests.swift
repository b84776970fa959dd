import CCrossSimKernels
import CrossSim
import XCTest

/// CrossSim's own GEMM (cs_gemm_abt) at each vector level this CPU runs, against binary64 dot
/// products (cs_dot_f64, which KernelTests holds to a loop): every value within the error bound the tie rule allows for any summation order
/// (docs/definitions.md, Ranks), over shapes that leave partial micro-tiles, several depth
/// blocks and several column blocks; nothing written outside C or the workspace; and the same
/// bits for a value wherever it lies in the tile. Then whole evaluations with `--gemm own`
/// against the reference and against `--gemm blas` (docs/accuracy.md).
final class GemmTests: XCTestCase {
    func testBaselineGEMM() throws { try checkGEMM(level: 0) }
    func testAVX2GEMM() throws { try checkGEMM(level: 1) }
    func testAVX512GEMM() throws { try checkGEMM(level: 2) }

    func checkGEMM(level: Int) throws {
        let previous = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(previous) }
        guard cs_use_vector_level(Int32(level)) == level else {
            throw XCTSkip("vector level \(level) is beyond this CPU (it runs up to \(cs_use_vector_level(2)))")
        }
        // The deepest block this level takes, and a depth of three blocks.
        let deepest = Int(cs_gemm_blocks_for(1 << 20).kc)
        let deep = 2 * deepest + 7
        let blocks = cs_gemm_blocks_for(Int64(deep))
        XCTAssertLessThan(Int(blocks.kc), deep, "level \(level): depth \(deep) is one block")
        let mr = Int(blocks.mr), nr = Int(blocks.nr), mc = Int(blocks.mc)
        var seed: UInt64 = 300
        for (m, n, k) in [(1, 1, 1), (1, 1, 5), (mr, nr, 1), (mr - 1, nr + 1, 3), (mr + 1, nr - 1, 17), (3, 2, 64),
                          (2 * mr + 3, 3 * nr + 5, 33), (mr, nr, deepest + 1), (mr + 2, mc + nr + 5, deep)] {
            seed += 1
            checkProduct(m: m, n: n, k: k, seed: seed, "level \(level), \(m)×\(n)×\(k)")
        }
    }

    /// One product with a row stride wider than its columns, C's rows and the extra columns
    /// filled with NaN beforehand (the kernel must write every value without reading it), and
    /// a workspace of exactly the size asked for followed by a guard.
    func checkProduct(m: Int, n: Int, k: Int, seed: UInt64, _ at: String) {
        var random = TestRandom(seed: seed)
        let a = (0..<m * k).map { _ in Float(random.gaussian()) }
        let b = (0..<n * k).map { _ in Float(random.gaussian()) }
        let ldc = n + 3
        let c = product(a, b, m: m, n: n, k: k, ldc: ldc, at)
        let gamma = Double(cs_dot_error_bound(Int64(k)))
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let bNorms = (0..<n).map { j in cs_dot_f64(b.baseAddress! + j * k, b.baseAddress! + j * k, k).squareRoot() }
                for i in 0..<m {
                    let aRow = a.baseAddress! + i * k
                    let aNorm = cs_dot_f64(aRow, aRow, k).squareRoot()
                    for j in 0..<n {
                        let exact = cs_dot_f64(aRow, b.baseAddress! + j * k, k), got = Double(c[i * ldc + j])
                        XCTAssert(abs(got - exact) <= gamma * aNorm * bNorms[j], "\(at): c[\(i), \(j)] = \(got), exact \(exact)")
                    }
                    for j in n..<ldc { XCTAssert(c[i * ldc + j].isNaN, "\(at): c[\(i), \(j)] beyond the tile was written") }
                }
            }
        }
        for j in 0..<ldc { XCTAssert(c[m * ldc + j].isNaN, "\(at): the row after the tile was written") }

        // The same bits when either operand or both come packed by cs_gemm_pack, each into a
        // buffer of exactly the size asked for, at an odd address, followed by a guard.
        for (packA, packB) in [(true, false), (false, true), (true, true)] {
            let packed = product(a, b, m: m, n: n, k: k, ldc: ldc, packA: packA, packB: packB, at)
            if let i = (0..<(m * ldc)).first(where: { packed[$0].bitPattern != c[$0].bitPattern }) {
                XCTFail("\(at): c[\(i / ldc), \(i % ldc)] changes its bits with a packed \(packA ? "a" : "")\(packB ? "b" : "")")
            }
        }

        // The same values from operands that start one row of a and two rows of b later, at
        // addresses of any alignment: every value moves to another place in the micro-tiles
        // and keeps its bits.
        guard m > 1 && n > 2 else { return }
        let shifted = product(Array(a[k...]), Array(b[(2 * k)...]), m: m - 1, n: n - 2, k: k, ldc: ldc, at)
        for i in 0..<(m - 1) {
            for j in 0..<(n - 2) where shifted[i * ldc + j].bitPattern != c[(i + 1) * ldc + j + 2].bitPattern {
                XCTFail("\(at): c[\(i + 1), \(j + 2)] changes its bits when the tile starts elsewhere")
                return
            }
        }
    }

    /// cs_gemm_abt into m + 1 rows of `ldc` NaNs, with a and b packed beforehand if asked;
    /// checks that the guards after the workspace and the packed operands are intact (a call
    /// given both operands packed gets no workspace at all).
    func product(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ldc: Int, packA: Bool = false, packB: Bool = false,
                 _ at: String) -> [Float] {
        var c = [Float](repeating: .nan, count: (m + 1) * ldc)
        let guardValue: Float = -12345
        /// Room for `size` floats from the second float of the buffer on (an odd address), then a guard.
        func guarded(_ size: Int) -> [Float] { [0] + [Float](repeating: 0, count: size) + [Float](repeating: guardValue, count: 64) }
        func intact(_ buffer: [Float], _ size: Int, _ what: String) {
            XCTAssert(buffer[(1 + size)...].allSatisfy { $0 == guardValue }, "\(at): written past the \(what)")
        }
        let aSize = cs_gemm_packed_floats(Int64(m), Int64(k), CS_GEMM_ROWS)
        let bSize = cs_gemm_packed_floats(Int64(n), Int64(k), CS_GEMM_COLUMNS)
        var aPacked = guarded(aSize), bPacked = guarded(bSize)
        aPacked.withUnsafeMutableBufferPointer { aPacked in
            bPacked.withUnsafeMutableBufferPointer { bPacked in
                if packA { cs_gemm_pack(a, Int64(m), Int64(k), CS_GEMM_ROWS, aPacked.baseAddress! + 1) }
                if packB { cs_gemm_pack(b, Int64(n), Int64(k), CS_GEMM_COLUMNS, bPacked.baseAddress! + 1) }
                var packed = cs_gemm_packed(a: packA ? UnsafePointer(aPacked.baseAddress! + 1) : nil,
                                            b: packB ? UnsafePointer(bPacked.baseAddress! + 1) : nil)
                let size = packA && packB ? 0 : cs_gemm_workspace_floats(Int64(m), Int64(n), Int64(k))
                var workspace = guarded(size)
                workspace.withUnsafeMutableBufferPointer { workspace in
                    cs_gemm_abt(a, b, &c, Int64(m), Int64(n), Int64(k), Int64(ldc), workspace.baseAddress! + 1, &packed)
                }
                intact(workspace, size, "workspace")
            }
        }
        intact(aPacked, aSize, "packed a")
        intact(bPacked, bSize, "packed b")
        return c
    }

    // MARK: The whole evaluation

    /// At every level: `--gemm own` against the binary64 reference (which holds the BLAS runs in
    /// the other suites), with the ranks and lists of `--gemm blas` exactly, and the same bits on
    /// 1 and 2 threads.
    func testOwnGEMMAgreesWithTheBLASInTheWholeEvaluation() throws {
        let x1 = TestMatrix.gaussian(rows: 300, dim: 70, seed: 310)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<300), sigma: 2.5, seed: 311)
        let reference = ReferenceModel(x1: x1, x2: x2, similarity: .cosine)
        let previous = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(previous) }
        for level in reachableVectorLevels() {
            _ = cs_use_vector_level(Int32(level))
            var results: [GEMM: (report: Report, state: PartialState)] = [:]
            for gemm in GEMM.allCases {
                var options = DeterminismTests.options(tile: TileShape(rows: 100, cols: 37), threads: 2)
                options.gemm = gemm
                let evaluation = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), pairs: nil, options: options)
                let (report, state) = (try evaluation.report(), try evaluation.state())
                results[gemm] = (report, state)
                if gemm == .own {
                    reference.check(report, state: state, options: options)
                    XCTAssertTrue(report.engine?.backend.hasPrefix("crosssim gemm") == true, report.engine?.backend ?? "no engine")
                    options.threads = 1
                    let single = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), pairs: nil, options: options).report()
                    XCTAssertEqual(DeterminismTests.canonical(single), DeterminismTests.canonical(report),
                                   "level \(level): own GEMM, 1 thread against 2")
                }
            }
            let own = results[.own]!.state, blas = results[.blas]!.state
            XCTAssertEqual(own[RankCounts.self]!.rowBeaten, blas[RankCounts.self]!.rowBeaten, "level \(level): x1→x2 ranks")
            XCTAssertEqual(own[RankCounts.self]!.columnBeaten, blas[RankCounts.self]!.columnBeaten, "level \(level): x2→x1 ranks")
            XCTAssertEqual(own[NearestNeighbors.self]?.rows.indices, blas[NearestNeighbors.self]?.rows.indices, "level \(level): x1→x2 top-k")
            XCTAssertEqual(own[NearestNeighbors.self]?.columns.indices, blas[NearestNeighbors.self]?.columns.indices,
                           "level \(level): x2→x1 top-k")
        }
    }
}
