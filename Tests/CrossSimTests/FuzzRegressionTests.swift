import CrossSim
import Foundation
import XCTest

/// Every input under Tests/Fixtures/fuzz/regressions/ once crashed, hung or ran out of memory
/// (README.md there says what each was). Each goes through the same calls as its fuzz target
/// (Fuzz/Sources/FuzzSupport/Harness.swift) and must now be an `InputError` naming the file:
/// bad input, exit code 2, never a trap.
final class FuzzRegressionTests: XCTestCase {
    static let root = Fixtures.root.appendingPathComponent("fuzz/regressions")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The three ways a set is read: whole (eval in memory), streamed in batches (inspect), and
    /// from a row in the middle on (--part, --memory-limit). Returns the first error.
    @discardableResult
    func assertReadsFail(_ path: String, _ expected: String? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> InputError? {
        var first: InputError?
        let reads: [(String, () throws -> Void)] = [
            ("Embeddings.load", { _ = try Embeddings.load(path: path, similarity: .cosine) }),
            ("SetInspection", { _ = try SetInspection(path: path) }),
            ("RowStream from the middle", {
                let set = try ShardSet.open(path)
                let stream = RowStream(set)
                try stream.skip(rows: set.rows / 2)
                let rest = Embeddings(rows: set.rows - set.rows / 2, dim: set.dim)
                _ = try stream.read(rows: rest.rows, into: rest.baseAddress)
            }),
        ]
        for (name, read) in reads {
            guard let error = inputError(read, file: file, line: line) else { continue }
            XCTAssertNotNil(error.file, "\(name) of \(path): the error names a file: \(error)", file: file, line: line)
            if let expected {
                XCTAssert(error.message.contains(expected), "\(name) of \(path): '\(error)' should say '\(expected)'", file: file, line: line)
            }
            first = first ?? error
        }
        return first
    }

    /// `crosssim merge` of these state files.
    @discardableResult
    func assertMergeFails(_ paths: [String], _ expected: String,
                          file: StaticString = #filePath, line: UInt = #line) -> InputError? {
        let error = inputError({ _ = try MergedRun(paths: paths).report.json.rendered() }, file: file, line: line)
        if let error {
            XCTAssert(error.description.contains(expected), "\(paths): '\(error)' should say '\(expected)'", file: file, line: line)
        }
        return error
    }

    func parts(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: Self.path(directory)).sorted().map { Self.path(directory + "/" + $0) }
    }

    // MARK: Shards

    /// Found by the fbin, zstd and (by hand) npy targets: a set of empty shards may claim any D,
    /// and `inspect` allocated 4096 rows of it (2^43 bytes and more, or an overflow trap).
    func testEmptyShardsWithAHugeDimensionAreAnEmptySet() {
        for name in ["fbin/empty-huge-dim.fbin", "zstd/empty-huge-dim.fbin.zst", "npy/empty-huge-dim.npy"] {
            assertReadsFail(Self.path(name), "empty set")
        }
    }

    /// Header bytes + data bytes overflowed Int (Shard.openStream trapped).
    func testHeaderPlusDataOverflowIsInconsistentWithTheFile() {
        assertReadsFail(Self.path("npy/header-plus-data-overflow.npy"), "does not fit in memory")
    }

    /// Two zstd frames declaring 2^63 bytes each: the decoded-size bound overflowed Int.
    func testZstdDeclaredSizeOf2To63IsNotAnOverflow() {
        assertReadsFail(Self.path("zstd/declared-size-overflow.npy.zst"))
    }

    // MARK: Manifests

    /// An empty manifest: Foundation's String(contentsOfFile:) leaked its read buffer.
    func testEmptyManifestListsNoShards() {
        assertReadsFail(Self.path("manifest/empty/m.txt"), "no shards")
    }

    /// "sub/10.npy\0\0?sub////…sub/g.npy////////": the check for the file saw the path up to the
    /// NUL, and NSString.lastPathComponent trapped on the slashes.
    func testManifestLineWithNULAndSlashesIsRefused() {
        assertReadsFail(Self.path("manifest/slashes/m.txt"), "NUL")
    }

    /// The two Foundation traps themselves, on paths a manifest can name: a shard path ending in
    /// slashes after a run of three, and a manifest in a folder.
    func testPathsThatTrapFoundationAreErrors() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: dir + "/s", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("npy/M_le_f4_v1.npy"), toPath: dir + "/s/a.npy")
        try Data("s///a.npy//\n".utf8).write(to: URL(fileURLWithPath: dir + "/m.txt"))
        assertReadsFail(dir + "/m.txt")   // "a.npy/" is not a directory
        try Data("s///a.npy\n".utf8).write(to: URL(fileURLWithPath: dir + "/m.txt"))
        XCTAssertEqual(try Embeddings.load(path: dir + "/m.txt", similarity: .dot).values, Fixtures.m)
    }

    // MARK: State files (crosssim merge)

    /// 8·k·(rows + n2) in the size check overflowed Int (k = n = 2^31 − 2).
    func testStateSizeCheckDoesNotOverflow() {
        assertMergeFails([Self.path("state/promised-size-overflow.state")], "promises more data")
    }

    /// A part of K = 2^62: merge listed every missing part (a hang, then out of memory).
    func testStateWithAHugePartCountFailsAtOnce() {
        let start = Date()
        assertMergeFails([Self.path("state/part-count-huge.state")], "missing parts")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    /// x1 = 2^31 − 2 rows as part 0 of as many: ~40 GB of per-row tables for a 442-byte file.
    func testStateClaimingBillionsOfX1RowsIsRefusedBeforeAllocating() {
        assertMergeFails([Self.path("state/x1-rows-huge.state")], "missing parts")
    }

    /// recall@k with k = −1 and top-k lists: the report's 0..<k trapped.
    func testStateOptionsAreValidated() {
        assertMergeFails([Self.path("state/recall-at-negative.state")], "bad k")
    }

    /// A top-k candidate index past x2's rows: the report indexed the pairs with it.
    func testStateTopKIndexOutOfRange() {
        assertMergeFails([Self.path("state/top-k-index-out-of-range.state")], "out of range")
    }

    /// A NaN similarity reached the JSON writer's precondition.
    func testStateWithNaNIsRefused() {
        assertMergeFails([Self.path("state/nan-similarity.state")], "not finite")
    }

    /// Found by the state target: histogram counts of 2^63 and more (UInt64 sums and Int(_:)
    /// in the report trapped).
    func testMergedHistogramCountsCannotOverflow() throws {
        assertMergeFails(try parts("state/histogram-count-overflow"), "histogram out of range")
    }

    /// Column ranks of Int32.max in two parts: their Int32 sum trapped.
    func testMergedRanksCannotOverflow() throws {
        assertMergeFails(try parts("state/column-ranks-overflow"), "out of range")
    }

    /// Parts whose histograms cover different ranges: Histogram.+ failed its precondition.
    func testPartsWithDifferentHistogramRangesAreRefused() throws {
        assertMergeFails(try parts("state/histogram-ranges-differ"), "ranges differ")
    }

    // MARK: All of them

    /// Whatever is added under regressions/ later is covered too: a file or a folder of part
    /// files per state case, a file per shard case, a folder with m.txt per manifest case.
    func testEveryRegressionInputIsAnInputError() throws {
        let fm = FileManager.default
        var seen = 0
        for target in try fm.contentsOfDirectory(atPath: Self.root.path).sorted() {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: Self.path(target), isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for name in try fm.contentsOfDirectory(atPath: Self.path(target)).sorted() {
                let relative = target + "/" + name
                _ = fm.fileExists(atPath: Self.path(relative), isDirectory: &isDirectory)
                switch target {
                case "state":
                    let paths = isDirectory.boolValue ? try parts(relative) : [Self.path(relative)]
                    XCTAssertNotNil(inputError({ _ = try MergedRun(paths: paths).report.json.rendered() }), relative)
                case "manifest":
                    assertReadsFail(Self.path(relative + "/m.txt"))
                case "pairs":
                    // <name>.x1-<N1>.x2-<N2>.npy: the pairs file for sets of N1 and N2 rows.
                    let fields = name.split(separator: ".")
                    let n1 = fields.first { $0.hasPrefix("x1-") }.flatMap { Int($0.dropFirst(3)) } ?? 5
                    let n2 = fields.first { $0.hasPrefix("x2-") }.flatMap { Int($0.dropFirst(3)) } ?? 7
                    XCTAssertNotNil(inputError({ _ = try Pairs.load(path: Self.path(relative), x1Rows: n1, x2Rows: n2) }), relative)
                default:
                    assertReadsFail(Self.path(relative))
                }
                seen += 1
            }
        }
        XCTAssertGreaterThanOrEqual(seen, 16, "regression inputs found under \(Self.root.path)")
    }
}
