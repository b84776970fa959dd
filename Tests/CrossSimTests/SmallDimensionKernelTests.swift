import CCrossSimKernels
import CrossSim
import Foundation
import XCTest

/// The two epilogue kernels that small D leans on, at each vector level: cs_topk as the engine
/// drives it (tiles of a few columns, strips of a few rows dealt to two workers that keep their
/// own column lists and share the columns' floors), and the softplus of cs_softplus_sum against
/// binary64 over a dense sweep of its argument.
final class SmallDimensionKernelTests: XCTestCase {
    func testBaselineTopK() throws { try checkTopK(level: 0) }
    func testAVX2TopK() throws { try checkTopK(level: 1) }
    func testAVX512TopK() throws { try checkTopK(level: 2) }
    func testBaselineSoftplus() throws { try checkSoftplus(level: 0) }
    func testAVX2Softplus() throws { try checkSoftplus(level: 1) }
    func testAVX512Softplus() throws { try checkSoftplus(level: 2) }

    func useLevel(_ level: Int) throws -> Int32 {
        let previous = cs_cpu_vector_level()
        guard cs_use_vector_level(Int32(level)) == level else {
            _ = cs_use_vector_level(previous)
            throw XCTSkip("vector level \(level) is beyond this CPU (it runs up to \(cs_use_vector_level(2)))")
        }
        return previous
    }

    func checkTopK(level: Int) throws {
        let previous = try useLevel(level)
        defer { _ = cs_use_vector_level(previous) }
        var seed: UInt64 = 400
        for (rows, cols, dim) in [(33, 40, 70), (64, 17, 8), (20, 50, 33), (9, 3, 5)] {
            for unit in [true, false] {
                seed += 1
                let tile = KernelTile(rows: rows, cols: cols, dim: dim, unit: unit, seed: seed)
                for k in [1, 3, 10, 20] {
                    for negativesOnly in [false, true] {
                        tile.checkSplitTopK(k: k, negativesOnly: negativesOnly,
                                            "level \(level), \(rows)×\(cols), D = \(dim), k = \(k)\(negativesOnly ? ", negatives" : "")")
                    }
                }
            }
        }
    }

    /// Every Float32 x in [−86, 128] at a stride of 997 bit patterns (about 2·10⁶ values, the
    /// ends and ±0 included) and a sparser sweep on to ±1e30: each lane of a tile holds x, so
    /// that the tile's sum is exactly LANES·softplus(x) and the chunk takes the path x alone
    /// decides (below −ln 64 the series). simd.h gives the bound: 2.5 ulp of the binary64
    /// value.
    func checkSoftplus(level: Int) throws {
        let previous = try useLevel(level)
        defer { _ = cs_use_vector_level(previous) }
        let lanes = 16
        var xs: [Float] = [0, -0.0, -86, 128, -4.15888309, -4.158883, 1e30, -1e30]
        for sign: Float in [1, -1] {
            var bits: UInt32 = 0
            while Float(bitPattern: bits) <= (sign > 0 ? 128 : 86) {
                xs.append(sign * Float(bitPattern: bits))
                bits += 997
            }
            while Float(bitPattern: bits) <= 1e30 {
                xs.append(sign * Float(bitPattern: bits))
                bits += 99_991
            }
        }
        var s = [Float](repeating: 0, count: lanes)
        var worst = (share: 0.0, x: Float(0))
        for x in xs {
            for l in 0..<lanes { s[l] = x }
            let sum = s.withUnsafeBufferPointer { s in
                cs_softplus_sum(cs_tile(data: s.baseAddress, rows: 1, cols: Int64(lanes), ld: Int64(lanes), row0: 0, col0: 1,
                                        a: nil, b: nil, dim: 1, a_norms: nil, b_norms: nil, gamma: 0, b_class: nil),
                                nil, 1, 0)
            }
            let got = sum / Double(lanes)
            let want = Double(x) > 0 ? Double(x) + log1p(exp(-Double(x))) : log1p(exp(Double(x)))
            // Below −86 the exponential is held at e^−86 (simd.h): an absolute error of 4.4e-38.
            let allowed = x < -86 ? 4.5e-38 : 2.5 * Double(Float(want).ulp)
            let share = abs(got - want) / allowed
            if share > worst.share { worst = (share, x) }
        }
        XCTAssertLessThanOrEqual(worst.share, 1, "level \(level): softplus(\(worst.x)) is \(2.5 * worst.share) ulp from binary64")
    }
}

extension KernelTile {
    /// Top-k lists filled the way the engine fills them: tiles of 7 columns in column order,
    /// each cut into strips of 5 rows dealt to two workers in turn; each worker keeps its own
    /// column lists and gates, the floors are shared, and the workers' lists merge at the end.
    /// They must equal the best k by the tie rule of every candidate's exact similarity.
    func checkSplitTopK(k: Int, negativesOnly: Bool, _ at: String) {
        let rowScores = Buffer<Double>(repeating: -.infinity, count: rows * k), rowIndices = Buffer<Int32>(repeating: .max, count: rows * k)
        let workerScores = (0..<2).map { _ in Buffer<Double>(repeating: -.infinity, count: cols * k) }
        let workerIndices = (0..<2).map { _ in Buffer<Int32>(repeating: .max, count: cols * k) }
        let floor = Buffer<Float>(repeating: -.infinity, count: cols)
        let gates = (0..<2).map { _ in Buffer<Float>(repeating: 0, count: cols) }
        let (tileColumns, stripRows) = (7, 5)
        withTile { t in
            owner.withUnsafeBufferPointer { owners in
                for c0 in stride(from: 0, to: cols, by: tileColumns) {
                    for (strip, r0) in stride(from: 0, to: rows, by: stripRows).enumerated() {
                        let worker = strip % 2
                        var part = t
                        part.rows = Int64(min(stripRows, rows - r0))
                        part.cols = Int64(min(tileColumns, cols - c0))
                        part.row0 += Int64(r0)
                        part.col0 += Int64(c0)
                        part.data = t.data + r0 * ld + c0
                        part.a = t.a + r0 * dim
                        part.b = t.b + c0 * dim
                        part.a_norms = t.a_norms + r0
                        part.b_norms = t.b_norms + c0
                        cs_topk(part, negativesOnly ? owners.baseAddress! + c0 : nil, nil, nil, Int64(k),
                                rowScores.base + r0 * k, rowIndices.base + r0 * k, workerScores[worker].base + c0 * k,
                                workerIndices[worker].base + c0 * k, floor.base + c0, gates[worker].base + c0)
                    }
                }
            }
        }
        let columns = TopKLists(k: k, scores: workerScores[0].array, indices: workerIndices[0].array)
            .merged(with: TopKLists(k: k, scores: workerScores[1].array, indices: workerIndices[1].array))
        func best(_ candidates: [(score: Double, index: Int32)]) -> [(score: Double, index: Int32)] {
            let sorted = candidates.sorted { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            return Array(sorted.prefix(k)) + Array(repeating: (-.infinity, .max), count: max(0, k - sorted.count))
        }
        for i in 0..<rows {
            let expected = best((0..<cols).filter { !negativesOnly || isNegative(i, $0) }.map { (exact[i * cols + $0], Int32(col0 + $0)) })
            XCTAssertEqual(Array(rowIndices.array[i * k..<(i + 1) * k]), expected.map(\.index), "\(at): row \(i)")
            XCTAssertEqual(Array(rowScores.array[i * k..<(i + 1) * k]), expected.map(\.score), "\(at): row \(i)'s scores")
        }
        for j in 0..<cols {
            let expected = best((0..<rows).filter { !negativesOnly || isNegative($0, j) }.map { (exact[$0 * cols + j], Int32(row0 + $0)) })
            XCTAssertEqual(Array(columns.indices(of: j)), expected.map(\.index), "\(at): column \(j)")
            XCTAssertEqual(Array(columns.scores(of: j)), expected.map(\.score), "\(at): column \(j)'s scores")
        }
    }
}

/// Memory that kernels write through pointers taken once.
final class Buffer<Element> {
    let base: UnsafeMutablePointer<Element>
    let count: Int

    init(repeating value: Element, count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: value, count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
