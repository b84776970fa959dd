import CCrossSimKernels
import CrossSim
import Foundation
import XCTest

/// big-ann-benchmarks' files (docs/inputs.md): `.u8bin`, `.i8bin`, `.f16bin` beside `.fbin`,
/// plain and inside zstd, and `.ibin` ids as a pairs file.
final class BigANNReaderTests: XCTestCase {
    /// int32 rows, int32 dim, then the values' bytes, as big-ann-benchmarks writes them.
    static func bigANN(rows: Int32, dim: Int32, _ data: [UInt8]) -> Data {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: rows.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: dim.littleEndian) { bytes += $0 }
        return Data(bytes + data)
    }

    static func write(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

    /// `path` compressed by the zstd command into `path.zst`.
    func compressed(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd") else { throw XCTSkip("needs the zstd command") }
        let run = try runProgram("/usr/bin/zstd", ["-q", "-f", path, "-o", path + ".zst"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return path + ".zst"
    }

    /// Every byte value, 4 rows × 64: u8 reads 0…255, i8 reads −128…127 (bytes 128… are negative).
    static let everyByte = (0..<256).map { UInt8($0) }

    func testU8AndI8ReadEveryByteValueExactlyAtEveryVectorLevel() throws {
        let dir = try temporaryDirectory(self)
        try Self.write(Self.bigANN(rows: 4, dim: 64, Self.everyByte), dir + "/x.u8bin")
        try Self.write(Self.bigANN(rows: 4, dim: 64, Self.everyByte), dir + "/x.i8bin")
        let plain = [dir + "/x.u8bin", dir + "/x.i8bin"]
        let zipped = try plain.map(compressed)
        let current = cs_cpu_vector_level()
        defer { _ = cs_use_vector_level(current) }
        for level in reachableVectorLevels() {
            _ = cs_use_vector_level(Int32(level))
            for path in plain + zipped {
                let m = try Embeddings.load(path: path, similarity: .dot)
                XCTAssertEqual(m.rows, 4, path)
                XCTAssertEqual(m.dim, 64, path)
                let expected = path.contains(".u8bin") ? Self.everyByte.map { Float($0) }
                                                       : Self.everyByte.map { Float(Int8(bitPattern: $0)) }
                XCTAssertEqual(m.values, expected, "\(path) at vector level \(level)")
            }
        }
        XCTAssertEqual(try ShardSet.open(dir + "/x.u8bin").dtype, "|u1")
        XCTAssertEqual(try ShardSet.open(dir + "/x.i8bin.zst").dtype, "|i1")
    }

    /// The float16 fixture M as written by numpy, its data bytes in an `.f16bin`: the same rows.
    func testF16BinHoldsTheSameRowsAsNumpysFloat16() throws {
        let dir = try temporaryDirectory(self)
        let npy = try TestNPY.read(Fixtures.path("npy/M_le_f2_v1.npy"))
        XCTAssertEqual(npy.descr, "<f2")
        try Self.write(Self.bigANN(rows: 5, dim: 3, Array(npy.data)), dir + "/m.f16bin")
        for path in [dir + "/m.f16bin", try compressed(dir + "/m.f16bin")] {
            let m = try Embeddings.load(path: path, similarity: .dot)
            XCTAssertEqual(m.values, Fixtures.m, path)
            XCTAssertEqual(try ShardSet.open(path).dtype, "<f2", path)
        }
        // Under cosine the rows are normalised on read, as from any other format.
        let cosine = try Embeddings.load(path: dir + "/m.f16bin", similarity: .cosine)
        let reference = try Embeddings.load(path: Fixtures.path("npy/M_le_f2_v1.npy"), similarity: .cosine)
        XCTAssertEqual(cosine.values, reference.values)
    }

    /// A directory mixes every format in natural order; `.ibin` and `.gt` files beside them
    /// are not shards and are skipped.
    func testADirectoryMixesTheFormatsAndSkipsIdFiles() throws {
        let dir = try temporaryDirectory(self) + "/set"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let rows: [[UInt8]] = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
        try Self.write(Self.bigANN(rows: 1, dim: 3, rows[0]), dir + "/part-1.u8bin")
        try Self.write(Self.bigANN(rows: 1, dim: 3, rows[1]), dir + "/part-2.i8bin")
        var half: [UInt8] = []
        for v in rows[2] { withUnsafeBytes(of: Float16(Float(v)).bitPattern.littleEndian) { half += $0 } }
        try Self.write(Self.bigANN(rows: 1, dim: 3, half), dir + "/part-3.f16bin")
        var single: [UInt8] = []
        for v in rows[3] { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { single += $0 } }
        try Self.write(Self.bigANN(rows: 1, dim: 3, single), dir + "/part-10.fbin")
        try Self.write(Self.bigANN(rows: 1, dim: 1, [0, 0, 0, 0]), dir + "/ids.ibin")
        try Self.write(Self.bigANN(rows: 1, dim: 1, [0, 0, 0, 0]), dir + "/gt.gt")
        let set = try ShardSet.open(dir)
        XCTAssertEqual(set.shards.map { ($0.path as NSString).lastPathComponent },
                       ["part-1.u8bin", "part-2.i8bin", "part-3.f16bin", "part-10.fbin"])
        XCTAssertEqual(set.dtype, "|u1+|i1+<f2+<f4")
        XCTAssertEqual(try Embeddings.load(set, similarity: .dot).values, rows.flatMap { $0.map(Float.init) })
    }

    func testNPYOfSingleBytesReadsAsItsIntegers() throws {
        let dir = try temporaryDirectory(self)
        for (descr, expected) in [("|u1", Self.everyByte.map { Float($0) }), ("|i1", Self.everyByte.map { Float(Int8(bitPattern: $0)) })] {
            let path = dir + "/x\(descr.dropFirst()).npy"
            try Data(TestNPY.header(descr: descr, shape: [4, 64]) + Self.everyByte).write(to: URL(fileURLWithPath: path))
            XCTAssertEqual(try Embeddings.load(path: path, similarity: .dot).values, expected, descr)
            XCTAssertEqual(try ShardSet.open(path).dtype, descr)
        }
        // Orderless '|' is for single bytes only.
        let bad = dir + "/bad.npy"
        try Data(TestNPY.header(descr: "|f4", shape: [1, 1]) + [0, 0, 0, 0]).write(to: URL(fileURLWithPath: bad))
        assertInputError(bad, mentions: "dtype")
    }

    /// Loading and inspecting `path` both fail naming it, with a message that mentions one of `mentions`.
    func assertInputError(_ path: String, mentions: String..., file: StaticString = #filePath, line: UInt = #line) {
        for open in [{ _ = try Embeddings.load(path: path, similarity: .dot) }, { _ = try SetInspection(path: path) }] {
            guard let error = inputError(open, file: file, line: line) else { continue }
            XCTAssertEqual(error.file, path, "\(error)", file: file, line: line)
            XCTAssertTrue(mentions.contains { error.message.lowercased().contains($0.lowercased()) },
                          "\(error) should mention one of \(mentions)", file: file, line: line)
        }
    }

    /// The header checks of `.fbin`, for every element type, plain and inside zstd.
    func testBadHeadersAndDataAreInputErrorsNamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        for (suffix, width) in [(".u8bin", 1), (".i8bin", 1), (".f16bin", 2)] {
            // (name, bytes, what the message says plain, and inside zstd: there the frames'
            // decoded size bounds the header, and trailing data is found as it is read).
            let cases: [(String, Data, String, String)] = [
                ("negative", Self.bigANN(rows: -1, dim: 3, []), "negative row count", "negative row count"),
                ("zero-dim", Self.bigANN(rows: 1, dim: 0, []), "dimension 0", "dimension 0"),
                ("short-header", Data([1, 0, 0]), "8-byte \(suffix) header", "8-byte \(suffix) header"),
                ("truncated", Self.bigANN(rows: 2, dim: 3, Array(repeating: 1, count: 5 * width)), "truncated", "header inconsistent"),
                ("trailing", Self.bigANN(rows: 1, dim: 3, Array(repeating: 1, count: 4 * width)), "header inconsistent", "trailing"),
                ("huge", Self.bigANN(rows: .max, dim: .max, [1]), "truncated", "header inconsistent"),
            ]
            for (name, bytes, plain, inZstd) in cases {
                let path = dir + "/\(name)\(suffix)"
                try Self.write(bytes, path)
                assertInputError(path, mentions: plain)
                assertInputError(try compressed(path), mentions: inZstd)
            }
        }
        // A non-finite half-precision value is a bad row, named by its row.
        var half: [UInt8] = []
        for v: Float16 in [1, 2, 3, 4, .infinity, 6] { withUnsafeBytes(of: v.bitPattern.littleEndian) { half += $0 } }
        try Self.write(Self.bigANN(rows: 2, dim: 3, half), dir + "/inf.f16bin")
        let nonFinite = inputError { _ = try Embeddings.load(path: dir + "/inf.f16bin", similarity: .dot) }
        XCTAssertEqual(nonFinite?.file, dir + "/inf.f16bin")
        XCTAssertEqual(nonFinite?.row, 1)
        XCTAssertEqual(try SetInspection(path: dir + "/inf.f16bin").nonFinite.first, [1])
        // A zero row of bytes is refused under cosine only.
        try Self.write(Self.bigANN(rows: 2, dim: 2, [1, 2, 0, 0]), dir + "/zero.u8bin")
        let error = inputError { _ = try Embeddings.load(path: dir + "/zero.u8bin", similarity: .cosine) }
        XCTAssertEqual(error?.row, 1)
        XCTAssertEqual(try SetInspection(path: dir + "/zero.u8bin").zero.first, [1])
    }

    func testAnIdFileIsNotAShard() throws {
        let dir = try temporaryDirectory(self)
        try Self.write(Self.bigANN(rows: 1, dim: 1, [0, 0, 0, 0]), dir + "/ids.ibin")
        assertInputError(dir + "/ids.ibin", mentions: "ids")
    }

    // MARK: .ibin pairs

    func testIbinPairsReadLikeTheNPYPairs() throws {
        let dir = try temporaryDirectory(self)
        let owners: [Int32] = [0, 0, 1, 2, 2, 2, 4]
        var data: [UInt8] = []
        for v in owners { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
        try Self.write(Self.bigANN(rows: 7, dim: 1, data), dir + "/p.ibin")
        let expected = try Pairs.load(path: Fixtures.path("pairs/pairs_i64.npy"), x1Rows: 5, x2Rows: 7)
        for path in [dir + "/p.ibin", try compressed(dir + "/p.ibin")] {
            let pairs = try Pairs.load(path: path, x1Rows: 5, x2Rows: 7)
            XCTAssertEqual(pairs.positiveOf, owners, path)
            XCTAssertEqual(pairs.positiveOf, expected.positiveOf, "the fixture's pairs")
        }
    }

    func testBadIbinPairsAreInputErrorsNamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        func ids(_ values: [Int32]) -> [UInt8] {
            var data: [UInt8] = []
            for v in values { withUnsafeBytes(of: v.littleEndian) { data += $0 } }
            return data
        }
        let cases: [(String, Data, String)] = [
            ("two-columns", Self.bigANN(rows: 2, dim: 2, ids([0, 1, 1, 0])), "dim 1"),
            ("short", Self.bigANN(rows: 2, dim: 1, ids([0, 1])), "wrong length"),
            ("out-of-range", Self.bigANN(rows: 3, dim: 1, ids([0, 5, 1])), "out of range"),
            ("negative-id", Self.bigANN(rows: 3, dim: 1, ids([0, -1, 1])), "out of range"),
            ("truncated", Self.bigANN(rows: 3, dim: 1, ids([0, 1]) + [0]), "truncated"),
            ("negative-rows", Self.bigANN(rows: -3, dim: 1, []), "negative"),
        ]
        for (name, bytes, mentions) in cases {
            let path = dir + "/\(name).ibin"
            try Self.write(bytes, path)
            for file in [path, try compressed(path)] {
                let error = inputError { _ = try Pairs.load(path: file, x1Rows: 3, x2Rows: 3) }
                XCTAssertEqual(error?.file, file, "\(String(describing: error))")
                XCTAssertTrue(error?.message.contains(mentions) == true, "\(file): \(String(describing: error)) should mention \(mentions)")
            }
        }
    }
}
