import CCrossSimKernels
@testable import CrossSim
import XCTest

/// The own GEMM's fused epilogue (cs_gemm_abt_fused) at every vector level this CPU runs: on
/// one tile against the unfused pass (cs_gemm_abt, then cs_count_ranks, cs_lse_fixed_shift,
/// cs_lse_online, cs_softplus_sum and cs_topk)
/// and against ranks counted cell by cell on exact similarities (docs/definitions.md, Ranks),
/// over shapes that leave partial micro-tiles, depths of 1 to several depth blocks, exact ties
/// and duplicates (the near-tie path), rows with several positives and rows with none. Then
/// whole evaluations: `--gemm own` (fused alone, and fused beside passes that need the tile)
/// against `--gemm blas`, and bit-identical at 1, 2 and 3 threads.
final class FusedEpilogueTests: XCTestCase {
    func testFusedEpilogueMatchesTheUnfusedPass() throws {
        let previous = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(previous) }
        for level in reachableVectorLevels() {
            _ = cs_use_vector_level(Int32(level))
            let blocks = cs_gemm_blocks_for(1 << 20)
            let (mr, nr) = (Int(blocks.mr), Int(blocks.nr))
            let deep = Int(blocks.kc) + 5
            var seed: UInt64 = 900
            for (m, n, d) in [(1, 1, 1), (1, nr + 3, 3), (mr, nr, 1), (mr - 1, nr + 1, 32), (mr + 1, 2 * nr - 1, 768),
                              (2 * mr + 3, 3 * nr + 5, 3), (3 * mr, 2 * nr, 32), (mr + 2, nr + 7, deep),
                              (4 * mr, 3 * nr, 32)] {  // the last holds whole micro-tiles without a positive
                for similarity in [Similarity.cosine, .dot] {
                    seed += 1
                    checkTile(m: m, n: n, d: d, similarity: similarity, seed: seed,
                              "level \(level), \(m)×\(n)×\(d), \(similarity)")
                }
            }
            // Dot similarities beyond 2⁶⁰, whose squares are summed in binary64.
            checkTile(m: mr + 1, n: nr + 5, d: 40, similarity: .dot, seed: 999, scale: 1e10,
                      "level \(level), dot similarities near 1e21")
        }
    }

    /// A tile at global offset (row0, col0) of x1 = m Gaussian rows times `scale` (row 1 a copy
    /// of row 0) and x2 = n rows near x1's, every third an exact copy of its x1 row and every
    /// fifth a copy of the one before; column j's positive is x1 row j mod (m − 1) (so row
    /// m − 1 has none and most have several), every seventh column's is a row outside the tile.
    func checkTile(m: Int, n: Int, d: Int, similarity: Similarity, seed: UInt64, scale: Double = 1, _ at: String) {
        let (row0, col0) = (3, 5)
        var x1 = TestMatrix.gaussian(rows: m, dim: d, seed: seed, scale: scale)
        if m > 1 { x1.values.replaceSubrange(d..<2 * d, with: x1.row(0)) }
        let x1Rows = x1.embeddings(similarity)
        let a = (0..<m * d).map { x1Rows.values[$0] }
        let owner = (0..<n).map { j in j % 7 == 6 ? m + 1 : j % max(1, m - 1) }
        var x2 = TestMatrix.noisy(TestMatrix(rows: m, dim: d, values: a), owner: owner.map { min($0, m - 1) }, sigma: 0.3, seed: seed + 1)
        for j in 0..<n {
            if j % 3 == 0 { x2.values.replaceSubrange(j * d..<(j + 1) * d, with: a[min(owner[j], m - 1) * d..<(min(owner[j], m - 1) + 1) * d]) }
            if j % 5 == 4 { x2.values.replaceSubrange(j * d..<(j + 1) * d, with: x2.values[(j - 1) * d..<j * d]) }
        }
        let b = x2.embeddings(similarity).values
        let positiveOf = owner.map { Int32(row0 + $0) }

        // Exact similarities and the tie rule's thresholds, as Positives makes them.
        let exact = (0..<m).map { i in (0..<n).map { j in cs_dot_f64(Array(a[i * d..<(i + 1) * d]), Array(b[j * d..<(j + 1) * d]), d) } }
        var rowExact = [Double](repeating: .infinity, count: m), rowIndex = [Int32](repeating: -1, count: m)
        var columnExact = [Double](repeating: 0, count: n)
        for j in 0..<n {
            let i = Int(positiveOf[j]) - row0
            guard i < m else { continue }
            columnExact[j] = exact[i][j]
            if rowIndex[i] < 0 || exact[i][j] > rowExact[i] { (rowExact[i], rowIndex[i]) = (exact[i][j], Int32(col0 + j)) }
        }
        let rows = ReducerRun.Thresholds(exact: rowExact, index: rowIndex)
        let columns = ReducerRun.Thresholds(exact: columnExact, index: positiveOf)
        func beats(_ s: Double, _ index: Int, _ threshold: Double, _ thresholdIndex: Int32) -> Bool {
            s > threshold || (s == threshold && index < Int(thresholdIndex))
        }
        let expectedRows = (0..<m).map { i in (0..<n).filter { j in Int(positiveOf[j]) != row0 + i && beats(exact[i][j], col0 + j, rowExact[i], rowIndex[i]) }.count }
        let expectedColumns = (0..<n).map { j in (0..<m).filter { i in Int(positiveOf[j]) != row0 + i && beats(exact[i][j], row0 + i, columnExact[j], positiveOf[j]) }.count }
        // Best-k lists of every cell, best first by the tie rule, padded with (−∞, Int32.max).
        let k = 3
        func best(_ cells: [(score: Double, index: Int)]) -> [(score: Double, index: Int32)] {
            let sorted = cells.sorted { beats($0.score, $0.index, $1.score, Int32($1.index)) }.prefix(k).map { ($0.score, Int32($0.index)) }
            return sorted + Array(repeating: (-Double.infinity, Int32.max), count: k - sorted.count)
        }
        let expectedRowLists = (0..<m).flatMap { i in best((0..<n).map { (exact[i][$0], col0 + $0) }) }
        let expectedColumnLists = (0..<n).flatMap { j in best((0..<m).map { (exact[$0][j], row0 + $0) }) }

        let ldc = n + 3
        let aNorms = (0..<m).map { i in Float(cs_dot_f64(Array(a[i * d..<(i + 1) * d]), Array(a[i * d..<(i + 1) * d]), d).squareRoot()) }
        let bNorms = (0..<n).map { j in Float(cs_dot_f64(Array(b[j * d..<(j + 1) * d]), Array(b[j * d..<(j + 1) * d]), d).squareRoot()) }
        // Norms are upper bounds in the engine; one ulp up keeps them so here.
        let (aBounds, bBounds) = (aNorms.map { $0.nextUp }, bNorms.map { $0.nextUp })
        let workspace = [Float](repeating: 0, count: cs_gemm_workspace_floats(Int64(m), Int64(n), Int64(d)))
        // Two temperatures, both fused (each its own pass over the micro-tile), and one of the
        // online fold: τ = 0.01 under cosine (its terms span e^±200), τ = 2 for dot similarities.
        let scales: [Float] = [20, 12.5]
        let onlineScale = similarity == .cosine ? 100.0 : 0.5
        let unfusedOnline = OnlineSumsForTest(rows: m, cols: n)
        let (softplusScale, softplusBias): (Float, Float) = (10, -10)
        var unfusedSoftplus = 0.0
        // The unfused pass.
        var unfusedC = [Float](repeating: .nan, count: m * ldc)
        var unfusedRows = [Int32](repeating: 0, count: m), unfusedColumns = [Int32](repeating: 0, count: n)
        var unfusedMoments = [0.0, 0.0]
        var unfusedRowSums = scales.map { _ in [Double](repeating: 0, count: m) }
        var unfusedColumnSums = scales.map { _ in [Double](repeating: 0, count: n) }
        var columnPart = [Float](repeating: 0, count: n)
        var workspaceCopy = workspace
        cs_gemm_abt(a, b, &unfusedC, Int64(m), Int64(n), Int64(d), Int64(ldc), &workspaceCopy, nil)
        func tile(_ data: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                  _ aNorms: UnsafePointer<Float>, _ bNorms: UnsafePointer<Float>) -> cs_tile {
            cs_tile(data: data, rows: Int64(m), cols: Int64(n), ld: Int64(ldc), row0: Int64(row0), col0: Int64(col0),
                    a: a, b: b, dim: Int64(d), a_norms: aNorms, b_norms: bNorms, gamma: cs_dot_error_bound(Int64(d)), b_class: nil)
        }
        let lse = similarity == .cosine
        unfusedC.withUnsafeBufferPointer { c in
            let t = tile(c.baseAddress!, a, b, aBounds, bBounds)
            cs_count_ranks(t, rows.at(0), columns.at(0), &unfusedRows, &unfusedColumns, &unfusedMoments)
            for (k, scale) in scales.enumerated() where lse {
                cs_lse_fixed_shift(t, positiveOf, scale, &unfusedRowSums[k], &unfusedColumnSums[k], &columnPart)
            }
            unfusedSoftplus = cs_softplus_sum(t, positiveOf, softplusScale, softplusBias)
            cs_lse_online(t, positiveOf, onlineScale, unfusedOnline.rowMax.base, unfusedOnline.rowSum.base,
                          unfusedOnline.columnMax.base, unfusedOnline.columnSum.base, unfusedOnline.columnTop.base,
                          unfusedOnline.columnPart.base, &columnPart)
        }
        let unfusedLists = TopKListsForTest(k: k, rows: m, cols: n), unfusedTop = unfusedLists.lists
        unfusedC.withUnsafeBufferPointer { c in
            cs_topk(tile(c.baseAddress!, a, b, aBounds, bBounds), nil, nil, nil, Int64(k), unfusedTop.row_scores,
                    unfusedTop.row_indices, unfusedTop.col_scores, unfusedTop.col_indices, unfusedTop.col_floor, unfusedTop.col_gate)
        }
        XCTAssertEqual(unfusedLists.rowIndices.array, expectedRowLists.map(\.index), "\(at): unfused row lists")
        XCTAssertEqual(unfusedLists.columnIndices.array, expectedColumnLists.map(\.index), "\(at): unfused column lists")
        XCTAssertEqual(unfusedRows.map(Int.init), expectedRows, "\(at): unfused row ranks")
        XCTAssertEqual(unfusedColumns.map(Int.init), expectedColumns, "\(at): unfused column ranks")

        for store in [true, false] {
            var c = [Float](repeating: .nan, count: m * ldc)
            var fusedRows = [Int32](repeating: 0, count: m), fusedColumns = [Int32](repeating: 0, count: n)
            var moments = [0.0, 0.0]
            let rowSums = scales.map { _ in UnsafeMutableBufferPointer<Double>.allocate(capacity: m) }
            let columnSums = scales.map { _ in UnsafeMutableBufferPointer<Double>.allocate(capacity: n) }
            defer { (rowSums + columnSums).forEach { $0.deallocate() } }
            (rowSums + columnSums).forEach { $0.initialize(repeating: 0) }
            let sumPointers = (rowSums + columnSums).map { UnsafeMutablePointer<Double>?($0.baseAddress!) }
            var softplus = 0.0
            let lists = TopKListsForTest(k: k, rows: m, cols: n)
            let online = OnlineSumsForTest(rows: m, cols: n)
            var scratch = workspace
            c.withUnsafeMutableBufferPointer { c in
                var epilogue = cs_fused_epilogue()
                positiveOf.withUnsafeBufferPointer { positiveOf in
                    fusedRows.withUnsafeMutableBufferPointer { fusedRows in
                        fusedColumns.withUnsafeMutableBufferPointer { fusedColumns in
                            moments.withUnsafeMutableBufferPointer { moments in
                                scales.withUnsafeBufferPointer { scales in
                                    sumPointers.withUnsafeBufferPointer { sums in
                                        epilogue.positive_of_col = positiveOf.baseAddress
                                        epilogue.rows = rows.at(0)
                                        epilogue.cols = columns.at(0)
                                        epilogue.row_beaten = fusedRows.baseAddress
                                        epilogue.col_beaten = fusedColumns.baseAddress
                                        epilogue.moments = moments.baseAddress
                                        if lse {
                                            epilogue.lse_count = Int64(scales.count)
                                            epilogue.scales = scales.baseAddress
                                            epilogue.row_sums = sums.baseAddress
                                            epilogue.col_sums = sums.baseAddress! + scales.count
                                        }
                                        epilogue.online = online.lists(scale: onlineScale)
                                        epilogue.softplus_scale = softplusScale
                                        epilogue.softplus_bias = softplusBias
                                        epilogue.top = lists.lists
                                        withUnsafeMutablePointer(to: &softplus) { softplus in
                                            epilogue.softplus_sum = softplus
                                            cs_gemm_abt_fused(tile(c.baseAddress!, a, b, aBounds, bBounds), c.baseAddress!, store ? 1 : 0,
                                                              &scratch, nil, &epilogue)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let what = "\(at), tile \(store ? "stored" : "not stored")"
            XCTAssertEqual(fusedRows.map(Int.init), expectedRows, "\(what): row ranks")
            XCTAssertEqual(fusedColumns.map(Int.init), expectedColumns, "\(what): column ranks")
            // Σ s and Σ s² may gather in Float32 over a micro-tile's rows: each within
            // GEMM_MR·2⁻²⁴ of Σ |s| and Σ s² (docs/accuracy.md: 1e-6 for moments).
            let magnitude = (0..<m).reduce(0.0) { sum, i in (0..<n).reduce(sum) { $0 + abs(Double(unfusedC[i * ldc + $1])) } }
            XCTAssertEqual(moments[0], unfusedMoments[0], accuracy: 1e-6 * magnitude, "\(what): negatives' Σ s")
            XCTAssertEqual(moments[1], unfusedMoments[1], accuracy: 1e-6 * unfusedMoments[1], "\(what): negatives' Σ s²")
            for k in scales.indices where lse {
                for (x, y) in zip(Array(rowSums[k]) + Array(columnSums[k]), unfusedRowSums[k] + unfusedColumnSums[k]) {
                    XCTAssertEqual(x, y, accuracy: 2e-6 * y, "\(what): log-sum-exp sums at scale \(scales[k])")
                }
            }
            // Shifted by other maxima (running ones, raised only past a slack), the same terms.
            for (x, y) in zip(online.values, unfusedOnline.values) {
                XCTAssertEqual(x, y, accuracy: 2e-6 * max(1, abs(y)), "\(what): online log-sum-exps at scale \(onlineScale)")
            }
            // The same terms (VF_SOFTPLUS of the same values), summed in Float32 over at most a
            // micro-tile's vectors (24) or BLOCK chunks (8) per lane before they are widened.
            XCTAssertEqual(softplus, unfusedSoftplus, accuracy: 4e-6 * unfusedSoftplus, "\(what): SigLIP's softplus sum")
            XCTAssertEqual(lists.rowIndices.array, expectedRowLists.map(\.index), "\(what): row lists")
            XCTAssertEqual(lists.columnIndices.array, expectedColumnLists.map(\.index), "\(what): column lists")
            XCTAssertEqual(lists.rowScores.array, expectedRowLists.map(\.score), "\(what): row lists' scores")
            XCTAssertEqual(lists.columnScores.array, expectedColumnLists.map(\.score), "\(what): column lists' scores")
            for i in 0..<m {
                for j in 0..<ldc {
                    let (got, want) = (c[i * ldc + j], unfusedC[i * ldc + j])
                    if store && j < n {
                        XCTAssertEqual(got.bitPattern, want.bitPattern, "\(what): c[\(i), \(j)] is not cs_gemm_abt's")
                    } else if j >= n || d <= Int(cs_gemm_blocks_for(Int64(d)).kc) {
                        // Nothing beyond the tile is written, nor the tile itself when it fits one depth block.
                        XCTAssert(got.isNaN, "\(what): c[\(i), \(j)] written")
                    }
                }
            }
        }
    }

    // MARK: The whole evaluation

    /// Options whose passes the micro-kernel does whole (one τ with ranks, then with one SigLIP
    /// term or top-k, then two τ), and options with passes that need the tile: a τ of the online
    /// fold, a second SigLIP term, top-k and uniformity; a fifth τ beyond CS_FUSED_LSE_MAX.
    static let fusionModes: [(String, EvaluationOptions)] = {
        var siglip = EvaluationOptions()
        siglip.siglip = [SigLIPTerm(scale: 10, bias: -10)]
        var wide = DeterminismTests.options(tile: TileShape(rows: 100, cols: 37), threads: 2)
        wide.siglip.append(SigLIPTerm(scale: 4, bias: -2))
        var topK = EvaluationOptions()
        topK.topK = 5
        var twoTemperatures = EvaluationOptions()
        twoTemperatures.temperatures = [0.05, 0.1]
        var fiveTemperatures = EvaluationOptions()
        fiveTemperatures.temperatures = [0.05, 0.07, 0.1, 0.2, 0.5]
        var onlineTemperatures = EvaluationOptions()
        onlineTemperatures.temperatures = [0.01, 0.07, 0.005]
        return [("fused alone", EvaluationOptions()), ("fused alone with SigLIP", siglip), ("fused alone with top-k", topK),
                ("fused alone at two τ", twoTemperatures), ("with passes that need the tile", wide),
                ("four τ fused, a fifth on the tile", fiveTemperatures),
                ("a τ of the online fold fused, a second on the tile", onlineTemperatures)]
    }()

    /// `--gemm own` with the epilogue fused alone, and beside passes that need the tile
    /// (`fusionModes`): ranks and top-k lists exactly `--gemm blas`'s,
    /// the report against the binary64 reference, the same bits on 1, 2 and 3 threads, at every
    /// level. Many-to-one pairs with duplicated x2 rows give rows with several positives, rows
    /// with none, and exact ties.
    func testFusedEvaluationAgreesWithTheBLAS() throws {
        let x1 = TestMatrix.gaussian(rows: 230, dim: 24, seed: 920)
        let owners = (0..<260).map { j in (j * 7) % 200 }
        var x2 = TestMatrix.noisy(x1, owner: owners, sigma: 1.5, seed: 921)
        // Exact duplicates: column 3j + 1 repeats column 3j.
        for j in stride(from: 0, to: 258, by: 3) { x2.values.replaceSubrange((j + 1) * 24..<(j + 2) * 24, with: x2.row(j)) }
        let pairs = try Pairs(positiveOf: owners, x1Rows: x1.rows)
        let previous = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(previous) }
        for level in reachableVectorLevels() {
            _ = cs_use_vector_level(Int32(level))
            for similarity in [Similarity.cosine, .dot] {
                for (mode, base) in Self.fusionModes {
                    var options = base
                    options.similarity = similarity
                    options.tile = TileShape(rows: 100, cols: 37)
                    let at = "level \(level), \(similarity), \(mode)"
                    var states: [GEMM: PartialState] = [:]
                    var reports: [Int: String] = [:]
                    for gemm in GEMM.allCases {
                        options.gemm = gemm
                        for threads in gemm == .own ? [1, 2, 3] : [2] {
                            options.threads = threads
                            let evaluation = try Evaluation(x1: x1.embeddings(similarity), x2: x2.embeddings(similarity), pairs: pairs, options: options)
                            states[gemm] = try evaluation.state()
                            if gemm == .own { reports[threads] = DeterminismTests.canonical(try evaluation.report()) }
                        }
                    }
                    XCTAssertEqual(reports[1], reports[2], "\(at): own GEMM, 1 thread against 2")
                    XCTAssertEqual(reports[3], reports[2], "\(at): own GEMM, 3 threads against 2")
                    let own = states[.own]!, blas = states[.blas]!
                    XCTAssertEqual(own[RankCounts.self]!.rowBeaten, blas[RankCounts.self]!.rowBeaten, "\(at): x1→x2 ranks")
                    XCTAssertEqual(own[RankCounts.self]!.columnBeaten, blas[RankCounts.self]!.columnBeaten, "\(at): x2→x1 ranks")
                    XCTAssertEqual(own[NearestNeighbors.self]?.rows.indices, blas[NearestNeighbors.self]?.rows.indices, "\(at): x1→x2 top-k")
                    XCTAssertEqual(own[NearestNeighbors.self]?.columns.indices, blas[NearestNeighbors.self]?.columns.indices, "\(at): x2→x1 top-k")
                    XCTAssertEqual(own[NearestNeighbors.self]?.rows.scores, blas[NearestNeighbors.self]?.rows.scores, "\(at): top-k scores")
                    let (ownMoments, blasMoments) = (own[RankCounts.self]!, blas[RankCounts.self]!)
                    XCTAssertEqual(ownMoments.squaredSimilaritySum, blasMoments.squaredSimilaritySum,
                                   accuracy: 1e-6 * blasMoments.squaredSimilaritySum, "\(at): Σ s²")
                    let (ownLSE, blasLSE) = (own[NegativeLogSumExps.self]!, blas[NegativeLogSumExps.self]!)
                    for t in ownLSE.rows.indices {
                        for (x, y) in zip(ownLSE.rows[t] + ownLSE.columns[t], blasLSE.rows[t] + blasLSE.columns[t]) {
                            XCTAssertEqual(x.value, y.value, accuracy: 1e-5 * max(1, abs(y.value)), "\(at): τ number \(t)'s log-sum-exps")
                        }
                    }
                    XCTAssertEqual(own[SoftplusSums.self]?.negatives.count, blas[SoftplusSums.self]?.negatives.count, "\(at): SigLIP terms")
                    for (x, y) in zip(own[SoftplusSums.self]?.negatives ?? [], blas[SoftplusSums.self]?.negatives ?? []) {
                        XCTAssertEqual(x, y, accuracy: 1e-5 * y, "\(at): SigLIP's softplus sums")
                    }
                }
            }
        }
    }
}

/// Running (max, sum) pairs of a tile's rows and columns with their scratch, as cs_lse_online
/// and the fused epilogue fill them.
struct OnlineSumsForTest {
    let rowMax: Buffer<Double>, rowSum: Buffer<Double>, columnMax: Buffer<Double>, columnSum: Buffer<Double>
    let columnTop: Buffer<Float>, columnPart: Buffer<Double>

    init(rows: Int, cols: Int) {
        (rowMax, rowSum) = (Buffer(repeating: -.infinity, count: rows), Buffer(repeating: 0, count: rows))
        (columnMax, columnSum) = (Buffer(repeating: -.infinity, count: cols), Buffer(repeating: 0, count: cols))
        (columnTop, columnPart) = (Buffer(repeating: 0, count: cols), Buffer(repeating: 0, count: cols))
    }

    func lists(scale: Double) -> cs_online_lse {
        cs_online_lse(scale: scale, row_max: rowMax.base, row_sum: rowSum.base, col_max: columnMax.base, col_sum: columnSum.base,
                      col_top: columnTop.base, col_part: columnPart.base)
    }

    /// Each row's, then each column's log Σ e^{scale·s} (−∞ where no negative was seen).
    var values: [Double] {
        zip(rowMax.array + columnMax.array, rowSum.array + columnSum.array).map { LogSumExp(max: $0, sum: $1).value }
    }
}

/// Best-k lists of a tile both ways, as cs_topk and the fused epilogue fill them.
struct TopKListsForTest {
    let k: Int
    let rowScores: Buffer<Double>, rowIndices: Buffer<Int32>, columnScores: Buffer<Double>, columnIndices: Buffer<Int32>
    let columnFloor: Buffer<Float>, columnGate: Buffer<Float>

    init(k: Int, rows: Int, cols: Int) {
        self.k = k
        (rowScores, rowIndices) = (Buffer(repeating: -.infinity, count: rows * k), Buffer(repeating: .max, count: rows * k))
        (columnScores, columnIndices) = (Buffer(repeating: -.infinity, count: cols * k), Buffer(repeating: .max, count: cols * k))
        (columnFloor, columnGate) = (Buffer(repeating: -.infinity, count: cols), Buffer(repeating: 0, count: cols))
    }

    var lists: cs_topk_lists {
        cs_topk_lists(k: Int64(k), row_scores: rowScores.base, row_indices: rowIndices.base, col_scores: columnScores.base,
                      col_indices: columnIndices.base, col_floor: columnFloor.base, col_gate: columnGate.base)
    }
}
