import CrossSim
import CrossSimSynthetic
import Foundation
import XCTest

/// The shard reader against files written by numpy (Tests/Fixtures/README.md), and every
/// kind of bad input of docs/inputs.md.
final class ReaderTests: XCTestCase {
    func assertIsM(_ path: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let m = try Embeddings.load(path: path.hasPrefix("/") ? path : Fixtures.path(path), similarity: .dot)
            XCTAssertEqual(m.rows, 5, path, file: file, line: line)
            XCTAssertEqual(m.dim, 3, path, file: file, line: line)
            XCTAssertEqual(m.values, Fixtures.m, path, file: file, line: line)
        } catch {
            XCTFail("\(path): \(error)", file: file, line: line)
        }
    }

    // MARK: Every format, dtype, byte order and version

    func testEveryNPYDtypeByteOrderAndVersionLoadsM() {
        for order in ["le", "be"] {
            for dtype in ["f2", "f4", "f8"] {
                for version in 1...3 { assertIsM("npy/M_\(order)_\(dtype)_v\(version).npy") }
            }
        }
    }

    func testShardHeadersDescribeTheFixtures() throws {
        for (name, dtype) in [("npy/M_be_f2_v3.npy", ">f2"), ("npy/M_le_f8_v2.npy", "<f8"), ("fbin/M.fbin", "<f4"),
                              ("zst/M_le_f2.npy.zst", "<f2")] {
            let set = try ShardSet.open(Fixtures.path(name))
            XCTAssertEqual(set.rows, 5, name)
            XCTAssertEqual(set.dim, 3, name)
            XCTAssertEqual(set.dtype, dtype, name)
            XCTAssertEqual(set.shards.count, 1, name)
        }
        let shard = try Shard.open(Fixtures.path("npy/M_le_f4_v1.npy"))
        XCTAssertEqual(shard.layout.headerBytes, 128, "numpy aligns the data at byte 128")
        XCTAssertFalse(shard.compressed)
        XCTAssertTrue(try Shard.open(Fixtures.path("zst/M.fbin.zst")).compressed)
    }

    func testFBinLoadsM() { assertIsM("fbin/M.fbin") }

    func testZstdSingleAndMultiFrameLoadM() {
        assertIsM("zst/M_le_f2.npy.zst")
        assertIsM("zst/M_le_f4_multiframe.npy.zst")   // three frames: all must be decoded
        assertIsM("zst/M.fbin.zst")
    }

    func testCosineNormalisesRows() throws {
        for name in ["npy/M_le_f4_v1.npy", "npy/M_be_f2_v2.npy", "zst/M_le_f4_multiframe.npy.zst", "fbin/M.fbin"] {
            let m = try Embeddings.load(path: Fixtures.path(name), similarity: .cosine)
            for i in 0..<5 {
                let raw = Fixtures.m[i * 3..<i * 3 + 3].map(Double.init)
                let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
                var squared = 0.0
                for j in 0..<3 {
                    XCTAssertEqual(Double(m[i, j]), raw[j] / norm, accuracy: 1e-7, "\(name) row \(i)")
                    squared += Double(m[i, j]) * Double(m[i, j])
                }
                XCTAssertEqual(squared, 1, accuracy: 1e-6, "\(name) row \(i) is not unit length")
            }
        }
    }

    // MARK: Sets of several shards

    func testDirectoryIsReadInNaturalOrderAndSkipsOtherFiles() throws {
        assertIsM("sharded")
        let set = try ShardSet.open(Fixtures.path("sharded"))
        XCTAssertEqual(set.shards.map { ($0.path as NSString).lastPathComponent }, ["part-1.npy", "part-2.npy.zst", "part-10.npy"])
        XCTAssertEqual(set.rows, 5)
    }

    func testManifestIsReadInListedOrder() throws {
        assertIsM("manifest/set.txt")
        let set = try ShardSet.open(Fixtures.path("manifest/set.txt"))
        XCTAssertEqual(set.shards.map { ($0.path as NSString).lastPathComponent }, ["c.npy", "a.npy.zst", "b.fbin"])
    }

    /// Reading in small batches crosses shard boundaries (and a compressed shard) mid-batch.
    func testRowStreamReadsAcrossShardsInBatches() throws {
        for path in ["sharded", "manifest/set.txt"] {
            let stream = RowStream(try ShardSet.open(Fixtures.path(path)))
            var values: [Float] = []
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 2 * 3)
            defer { buffer.deallocate() }
            var counts: [Int] = []
            while true {
                let got = try stream.read(rows: 2, into: buffer)
                if got == 0 { break }
                counts.append(got)
                values += UnsafeBufferPointer(start: buffer, count: got * 3)
            }
            XCTAssertEqual(counts, [2, 2, 1], path)
            XCTAssertEqual(values, Fixtures.m, path)
        }
    }

    /// A skippable frame (valid zstd, carrying no data) before and between data frames.
    func testZstdSkippableFramesAreSkipped() throws {
        let dir = try temporaryDirectory(self)
        let frame = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("zst/M_le_f2.npy.zst")))
        var skippable = Data([0x50, 0x2A, 0x4D, 0x18, 5, 0, 0, 0])   // magic 0x184D2A50, 5 bytes
        skippable.append(contentsOf: [1, 2, 3, 4, 5])
        try (skippable + frame + skippable).write(to: URL(fileURLWithPath: dir + "/m.npy.zst"))
        assertIsM(dir + "/m.npy.zst")
    }

    /// Bytes after the data the header declares: the header does not describe the file.
    func testTrailingBytesAreRejected() throws {
        let dir = try temporaryDirectory(self)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("npy/M_le_f4_v1.npy")))
        bytes.append(contentsOf: [0, 0, 0, 0])
        try bytes.write(to: URL(fileURLWithPath: dir + "/long.npy"))
        assertError(loadError(dir + "/long.npy"), file: "long.npy", mentions: ["header", "trailing"])
    }

    /// A manifest with CRLF line ends, comments, blank lines and an absolute path.
    func testManifestWithCRLFAndAbsolutePaths() throws {
        let dir = try temporaryDirectory(self)
        let text = "# rows 0..2 then 3..4\r\n\r\n" + Fixtures.path("sharded/part-1.npy") + "\r\n"
            + Fixtures.path("sharded/part-2.npy.zst") + "\r\n  " + Fixtures.path("sharded/part-10.npy") + "  \r\n"
        try text.write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        assertIsM(dir + "/list.txt")
    }

    func testManifestListingAMissingShardNamesTheManifest() throws {
        let dir = try temporaryDirectory(self)
        try "part-1.npy\n".write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        assertError(loadError(dir + "/list.txt"), file: "list.txt", mentions: ["missing", "no such"])
    }

    /// An empty shard (shape (0, D)) inside a set is allowed and contributes nothing.
    func testEmptyShardInADirectory() throws {
        let dir = try temporaryDirectory(self)
        try TestNPY.write(float32: Array(Fixtures.m[0..<3]), shape: [1, 3], to: dir + "/part-1.npy")
        try TestNPY.write(float32: [], shape: [0, 3], to: dir + "/part-2.npy")
        try TestNPY.write(float32: Array(Fixtures.m[3...]), shape: [4, 3], to: dir + "/part-3.npy")
        assertIsM(dir)
        XCTAssertEqual(try ShardSet.open(dir).shards.map(\.layout.rows), [1, 0, 4])
    }

    func testRowStreamSkipsRows() throws {
        let stream = RowStream(try ShardSet.open(Fixtures.path("manifest/set.txt")))
        try stream.skip(rows: 2)
        XCTAssertEqual(stream.nextRow, 2)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 5 * 3)
        defer { buffer.deallocate() }
        XCTAssertEqual(try stream.read(rows: 5, into: buffer), 3, "only three rows are left")
        XCTAssertEqual(Array(UnsafeBufferPointer(start: buffer, count: 9)), Array(Fixtures.m[6...]))
        XCTAssertEqual(try stream.read(rows: 5, into: buffer), 0)
    }

    // MARK: Pairs

    func testPairsOfAnyIntegerWidthLoad() throws {
        for name in ["pairs/pairs_i64.npy", "pairs/pairs_i32.npy"] {
            let pairs = try Pairs.load(path: Fixtures.path(name), x1Rows: 5, x2Rows: 7)
            XCTAssertEqual(pairs.positiveOf, [0, 0, 1, 2, 2, 2, 4], name)
            XCTAssertEqual(pairs.x1Rows, 5)
            XCTAssertEqual(pairs.x1WithoutPositive, 1, "x1 row 3 has no positive")
            XCTAssertEqual(pairs.positiveCounts(), [2, 1, 3, 0, 1])
            XCTAssertEqual(pairs.path, Fixtures.path(name))
        }
    }

    func testPairsErrors() {
        let range = inputError { _ = try Pairs.load(path: Fixtures.path("pairs/pairs_out_of_range.npy"), x1Rows: 5, x2Rows: 3) }
        assertError(range, file: "pairs/pairs_out_of_range.npy", mentions: ["range"], row: 2)
        let twoD = inputError { _ = try Pairs.load(path: Fixtures.path("pairs/pairs_2d.npy"), x1Rows: 5, x2Rows: 2) }
        assertError(twoD, file: "pairs/pairs_2d.npy", mentions: ["rank", "1-D"])
        let float = inputError { _ = try Pairs.load(path: Fixtures.path("pairs/pairs_f4.npy"), x1Rows: 5, x2Rows: 7) }
        assertError(float, file: "pairs/pairs_f4.npy", mentions: ["dtype", "integer"])
        let length = inputError { _ = try Pairs.load(path: Fixtures.path("pairs/pairs_i64.npy"), x1Rows: 5, x2Rows: 6) }
        assertError(length, file: "pairs/pairs_i64.npy", mentions: ["length"])
        let missing = inputError { _ = try Pairs.load(path: Fixtures.path("pairs/none.npy"), x1Rows: 5, x2Rows: 7) }
        assertError(missing, file: "pairs/none.npy", mentions: ["no such file", "missing"])
    }

    /// Pairs that do not fit the sets, through a whole request: the error names the pairs file.
    func testPairsOfWrongLengthForTheSetsThroughARequest() {
        let error = inputError {
            _ = try EvaluationRequest(x1: Fixtures.path("npy/M_le_f4_v1.npy"), x2: Fixtures.path("fbin/M.fbin"),
                                      pairs: Fixtures.path("pairs/pairs_i64.npy")).report()
        }
        assertError(error, file: "pairs/pairs_i64.npy", mentions: ["length"])
    }

    // MARK: Bad input

    /// The error names the file (ending in `file`), its message says what is wrong (one of
    /// `mentions`, case-insensitive), and it names the row where docs/inputs.md says there is one.
    func assertError(_ error: InputError?, file expected: String, mentions: [String], row: Int? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return }
        XCTAssertTrue(error.file?.hasSuffix(expected) == true, "error names \(String(describing: error.file)), not \(expected): \(error)",
                      file: file, line: line)
        XCTAssertTrue(mentions.contains { error.message.lowercased().contains($0.lowercased()) },
                      "message '\(error.message)' mentions none of \(mentions)", file: file, line: line)
        if let row { XCTAssertEqual(error.row, row, "row of \(expected): \(error)", file: file, line: line) }
        XCTAssertTrue(error.description.contains(expected), "description names the file: \(error)", file: file, line: line)
    }

    func loadError(_ path: String, _ similarity: Similarity = .dot) -> InputError? {
        inputError { _ = try Embeddings.load(path: path.hasPrefix("/") ? path : Fixtures.path(path), similarity: similarity) }
    }

    func testEveryBadFileIsRejectedNamingTheFileAndTheProblem() {
        let cases: [(String, [String])] = [
            ("bad/bad_magic.npy", ["magic"]),
            ("bad/truncated.npy", ["truncated"]),
            ("bad/fortran.npy", ["Fortran"]),
            ("bad/int32.npy", ["dtype"]),
            ("bad/rank3.npy", ["rank", "2-D"]),
            ("bad/rank1.npy", ["rank", "2-D"]),
            ("bad/huge_header.npy", ["header", "truncated"]),
            ("bad/header_too_long.npy", ["header"]),
            ("bad/corrupt.npy.zst", ["zstd"]),
            ("bad/truncated.npy.zst", ["zstd", "truncated"]),
            ("bad/truncated.fbin", ["truncated"]),
            ("bad/negative.fbin", ["negative"]),
            ("bad/unknown.bin", ["suffix"]),
            ("bad/missing.npy", ["no such file", "missing"]),
        ]
        for (path, mentions) in cases {
            assertError(loadError(path), file: path, mentions: mentions)
            // The header checks come first: opening the set alone already fails (except for a
            // corrupt frame, which only decoding can find).
            if path != "bad/corrupt.npy.zst" {
                assertError(inputError { _ = try ShardSet.open(Fixtures.path(path)) }, file: path, mentions: mentions)
            }
        }
    }

    func testShardsDisagreeingOnDimension() {
        assertError(loadError("bad/wrongdim"), file: "bad/wrongdim/part-1.npy", mentions: ["dimension"])
    }

    func testNonFiniteAndZeroRowsNameTheirRow() throws {
        for similarity in Similarity.allCases {
            assertError(loadError("bad/nan_row.npy", similarity), file: "bad/nan_row.npy", mentions: ["NaN"], row: 2)
            assertError(loadError("bad/inf_row.npy", similarity), file: "bad/inf_row.npy", mentions: ["NaN", "inf"], row: 3)
        }
        assertError(loadError("bad/zero_row.npy", .cosine), file: "bad/zero_row.npy", mentions: ["zero"], row: 4)
        // Under dot a zero row is a valid row.
        let m = try Embeddings.load(path: Fixtures.path("bad/zero_row.npy"), similarity: .dot)
        XCTAssertEqual(Array(m.values[12..<15]), [0, 0, 0])
        XCTAssertEqual(Array(m.values[0..<12]), Array(Fixtures.m[0..<12]))
        // The files themselves are valid: their headers open.
        XCTAssertEqual(try ShardSet.open(Fixtures.path("bad/nan_row.npy")).rows, 5)
    }

    /// A bad row in a later shard is named by that shard and its row within it.
    func testBadRowInASetOfShardsNamesTheShardAndLocalRow() throws {
        let dir = try temporaryDirectory(self)
        let good = Fixtures.path("npy/M_le_f4_v1.npy")
        try FileManager.default.copyItem(atPath: good, toPath: dir + "/part-1.npy")
        try FileManager.default.copyItem(atPath: Fixtures.path("bad/zero_row.npy"), toPath: dir + "/part-2.npy")
        let error = inputError { _ = try Embeddings.load(path: dir, similarity: .cosine) }
        assertError(error, file: "part-2.npy", mentions: ["zero"], row: 4)
    }

    /// Uncompressed shards large enough to be read in pieces (each seeking to its first row)
    /// load the same values as one stream, float16 and big-endian included, and a bad row in
    /// a late piece is named by its shard and row.
    func testLargeUncompressedShardsAreReadInPiecesThatSeek() throws {
        let dir = try temporaryDirectory(self)
        let (rows, dim) = (3000, 256)  // 512 rows per batch: pieces of about 375 rows on 8 workers
        let matrix = TestMatrix.gaussian(rows: rows, dim: dim, seed: 11)
        try matrix.writeNPY(to: dir + "/f4.npy")
        try matrix.values.map { Float16($0) }.withUnsafeBufferPointer {
            try NPYWriter.write($0, shape: [rows, dim], element: .float16, to: dir + "/f2.npy")
        }
        var bigEndian = TestNPY.header(descr: ">f4", shape: [rows, dim])
        for v in matrix.values { withUnsafeBytes(of: v.bitPattern.bigEndian) { bigEndian += $0 } }
        try Data(bigEndian).write(to: URL(fileURLWithPath: dir + "/be.npy"))
        for name in ["f4", "f2", "be"] {
            let path = dir + "/\(name).npy"
            let set = try ShardSet.open(path)
            let streamed = Embeddings(rows: rows, dim: dim)
            XCTAssertEqual(try RowStream(set).read(rows: rows, into: streamed.baseAddress), rows)
            let loaded = try Embeddings.load(set, similarity: .dot)
            XCTAssertEqual(loaded.values, streamed.values, name)
            let skipping = RowStream(set)
            try skipping.skip(rows: 2500)
            let tail = Embeddings(rows: 500, dim: dim)
            XCTAssertEqual(try skipping.read(rows: 500, into: tail.baseAddress), 500)
            XCTAssertEqual(tail.values, Array(streamed.values.dropFirst(2500 * dim)), name)
        }
        var values = matrix.values
        values[2890 * dim + 7] = .nan
        try TestNPY.write(float32: values, shape: [rows, dim], to: dir + "/bad.npy")
        assertError(inputError { _ = try Embeddings.load(path: dir + "/bad.npy", similarity: .cosine) },
                    file: "bad.npy", mentions: ["NaN"], row: 2890)
    }

    func testDimensionMismatchBetweenSets() {
        let error = inputError {
            _ = try EvaluationRequest(x1: Fixtures.path("npy/M_le_f4_v1.npy"), x2: Fixtures.path("bad/dim4.npy")).report()
        }
        assertError(error, file: "bad/dim4.npy", mentions: ["dimension"])
        XCTAssertEqual(try Embeddings.load(path: Fixtures.path("bad/dim4.npy"), similarity: .dot).values, Fixtures.dim4)
    }

    func testUnequalRowsWithoutPairsThroughARequest() {
        let error = inputError {
            _ = try EvaluationRequest(x1: Fixtures.path("npy/M_le_f4_v1.npy"), x2: Fixtures.path("sharded/part-10.npy")).report()
        }
        XCTAssertTrue(error?.message.contains("N1") == true || error?.message.contains("pairs") == true, String(describing: error))
    }

    func testNonPositiveTauThroughARequest() {
        var options = EvaluationOptions()
        options.temperatures = [0]
        let error = inputError {
            _ = try EvaluationRequest(x1: Fixtures.path("npy/M_le_f4_v1.npy"), x2: Fixtures.path("fbin/M.fbin"), options: options).report()
        }
        XCTAssertNotNil(error)
    }

    // MARK: Inspection

    func testInspectionCountsBadRows() throws {
        let nan = try SetInspection(path: Fixtures.path("bad/nan_row.npy"))
        XCTAssertEqual(nan.nonFinite.count, 1)
        XCTAssertEqual(nan.nonFinite.first, [2])
        XCTAssertEqual(nan.zero.count, 0)
        let inf = try SetInspection(path: Fixtures.path("bad/inf_row.npy"))
        XCTAssertEqual(inf.nonFinite.first, [3])
        let zero = try SetInspection(path: Fixtures.path("bad/zero_row.npy"))
        XCTAssertEqual(zero.zero.count, 1)
        XCTAssertEqual(zero.zero.first, [4])
        XCTAssertEqual(zero.nonFinite.count, 0)
        XCTAssertEqual(zero.normMin, 0)

        let m = try SetInspection(path: Fixtures.path("sharded"))
        XCTAssertEqual(m.set.rows, 5)
        XCTAssertEqual(m.set.shards.count, 3)
        XCTAssertEqual(m.nonFinite.count + m.zero.count + m.beyondFloat32.count + m.tooLargeForDot.count, 0)
        let norms = (0..<5).map { i in Fixtures.m[i * 3..<i * 3 + 3].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
        XCTAssertEqual(m.normMin, norms.min()!, accuracy: 1e-12)
        XCTAssertEqual(m.normMax, norms.max()!, accuracy: 1e-12)
        XCTAssertEqual(m.normMean, norms.reduce(0, +) / 5, accuracy: 1e-12)
    }

    // MARK: Synthetic sets written and read back

    func testSyntheticWriteReadsBackTheGeneratedMatrices() throws {
        let configurations: [(NPYWriter.Element, Int?, Int, Int)] = [
            (.float32, nil, 1, 1), (.float32, 3, 3, 2), (.float16, nil, 2, 1), (.float16, 1, 4, 3),
        ]
        for (element, zstd, shards, captions) in configurations {
            let dir = try temporaryDirectory(self)
            let synthetic = SyntheticPairs(rows: 23, dim: 12, noise: 1, captions: captions, seed: 7)
            let written = try synthetic.write(to: dir, shards: shards, element: element, zstdLevel: zstd)
            let (x1, x2, pairs) = try synthetic.generate()
            let at = "\(element) zstd \(String(describing: zstd)) shards \(shards) captions \(captions)"
            XCTAssertEqual(written.count, 2 * shards + (captions > 1 ? 1 : 0), at)
            for (name, matrix) in [("x1", x1), ("x2", x2)] {
                let set = try ShardSet.open(dir + "/" + name)
                XCTAssertEqual(set.shards.count, shards, at)
                XCTAssertEqual(set.dtype, element == .float16 ? "<f2" : "<f4", at)
                XCTAssertEqual(set.shards.allSatisfy { $0.compressed == (zstd != nil) }, true, at)
                let read = try Embeddings.load(set, similarity: .dot)
                XCTAssertEqual(read.rows, matrix.rows, at)
                // f32: exactly; f16: exactly the values rounded to binary16.
                let expected = element == .float16 ? matrix.values.map { Float(Float16($0)) } : matrix.values
                XCTAssertEqual(read.values, expected, "\(at) \(name)")
            }
            if captions > 1 {
                let loaded = try Pairs.load(path: dir + "/pairs.npy", x1Rows: 23, x2Rows: 23 * captions)
                XCTAssertEqual(loaded.positiveOf, pairs.positiveOf, at)
            }
        }
    }

    /// The generator's rows are unit vectors and its pairs are what it says.
    func testSyntheticPairsShape() throws {
        let (x1, x2, pairs) = try SyntheticPairs(rows: 10, dim: 16, noise: 0.5, captions: 3, seed: 1).generate()
        XCTAssertEqual(x1.rows, 10)
        XCTAssertEqual(x2.rows, 30)
        XCTAssertEqual(pairs.positiveOf, (0..<30).map { Int32($0 / 3) })
        for n in x1.squaredNorms() + x2.squaredNorms() { XCTAssertEqual(n, 1, accuracy: 1e-5) }
        // Deterministic by seed.
        XCTAssertEqual(try SyntheticPairs(rows: 10, dim: 16, noise: 0.5, captions: 3, seed: 1).generate().x2.values, x2.values)
        XCTAssertNotEqual(try SyntheticPairs(rows: 10, dim: 16, noise: 0.5, captions: 3, seed: 2).generate().x1.values, x1.values)
    }

    // MARK: Values at Float32's edge

    /// A finite float64 beyond Float32's range is named for what it is, with file and row, by
    /// every reader; `inspect` lists the row.
    func testFloat64BeyondFloat32IsNamedAsSuch() throws {
        let path = try temporaryDirectory(self) + "/huge.npy"
        var values = (0..<15).map { Double($0) + 1 }  // the shape of the fixtures' M
        values[7] = -1e300
        try TestNPY.write(float64: values, shape: [5, 3], to: path)
        for similarity in Similarity.allCases {
            let error = inputError { _ = try Embeddings.load(path: path, similarity: similarity) }
            assertError(error, file: path, mentions: ["beyond Float32"], row: 2)
        }
        var options = EvaluationOptions()
        options.similarity = .dot
        let streamed = inputError {
            _ = try EvaluationRequest(x1: Fixtures.path("npy/M_le_f8_v1.npy"), x2: path, options: options, memoryLimit: 1 << 30).report()
        }
        assertError(streamed, file: path, mentions: ["beyond Float32"], row: 2)
        let inspection = try SetInspection(path: path)
        XCTAssertEqual(inspection.beyondFloat32.count, 1)
        XCTAssertEqual(inspection.beyondFloat32.first, [2])
        XCTAssertEqual(inspection.nonFinite.count, 0, "the file holds no NaN or ±Inf")
    }

    /// Under dot, a row whose norm could make a similarity overflow Float32 is refused with
    /// its file and row, in memory and streamed, at 1e20 (whose squared norm is beyond Float32)
    /// as at 1e18; cosine takes the same rows. `inspect` lists them.
    func testRowsTooLargeForDotAreNamedWithFileAndRow() throws {
        let dir = try temporaryDirectory(self)
        let small = TestMatrix.gaussian(rows: 4, dim: 16, seed: 40)
        try small.writeNPY(to: dir + "/small.npy")
        for (value, row) in [(Float(1e20), 0), (1e18, 3)] {
            let path = dir + "/large-\(row).npy"
            var values = TestMatrix.gaussian(rows: 4, dim: 16, seed: 41).values
            for d in 0..<16 { values[row * 16 + d] = value }
            try TestNPY.write(float32: values, shape: [4, 16], to: path)
            var options = EvaluationOptions()
            options.similarity = .dot
            for memoryLimit in [nil, 1 << 30] {
                let error = inputError {
                    _ = try EvaluationRequest(x1: dir + "/small.npy", x2: path, options: options, memoryLimit: memoryLimit).report()
                }
                assertError(error, file: path, mentions: ["overflow Float32"], row: row)
            }
            options.similarity = .cosine
            XCTAssertNoThrow(try EvaluationRequest(x1: dir + "/small.npy", x2: path, options: options).report())
            let inspection = try SetInspection(path: path)
            XCTAssertEqual(inspection.tooLargeForDot.first, [row])
            XCTAssertEqual(inspection.nonFinite.count, 0)

            // Matrices handed over in memory: named as the caller names them.
            let matrix = Embeddings(rows: 4, dim: 16, values: values)
            let error = inputError { _ = try matrix.prepared(for: .dot, name: "x2") }
            XCTAssertEqual(error?.file, "x2")
            XCTAssertEqual(error?.row, row)
            XCTAssertTrue(error?.message.contains("overflow Float32") == true, String(describing: error))
            XCTAssertNoThrow(try matrix.prepared(for: .cosine, name: "x2"))
        }
    }
}
