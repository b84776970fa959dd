import Foundation

/// Which x2 rows are positives of which x1 rows (docs/inputs.md): x2 row j belongs to x1 row
/// `positiveOf[j]`; several x2 rows may share one x1 row, and an x1 row may have none.
public struct Pairs: Sendable, Equatable {
    public let positiveOf: [Int32]
    public let x1Rows: Int
    /// The pairs file, or nil for pairs made in memory.
    public let path: String?

    public var x2Rows: Int { positiveOf.count }
    /// Row i with row i, whatever the pairs came from.
    public let isIdentity: Bool

    /// Row i of x1 with row i of x2.
    public static func identity(_ rows: Int) -> Pairs {
        Pairs(positiveOf: (0..<rows).map { Int32($0) }, x1Rows: rows, path: nil)
    }

    /// No pairs at all: `--queries-only`, whose x1 rows are unlabelled queries and whose x2
    /// rows hold nothing.
    public static func unlabelled(x1Rows: Int) -> Pairs {
        Pairs(positiveOf: [Int32](), x1Rows: x1Rows, path: nil)
    }

    /// Checks that every entry names an x1 row.
    public init(positiveOf: [Int], x1Rows: Int, path: String? = nil) throws {
        for (j, i) in positiveOf.enumerated() where i < 0 || i >= x1Rows {
            throw InputError("pairs out of range: entry \(j) is \(i), but x1 has \(x1Rows) rows", file: path ?? "pairs", row: j)
        }
        self.init(positiveOf: positiveOf.map { Int32($0) }, x1Rows: x1Rows, path: path)
    }

    private init(positiveOf: [Int32], x1Rows: Int, path: String?) {
        self.positiveOf = positiveOf
        self.x1Rows = x1Rows
        self.path = path
        isIdentity = x1Rows == positiveOf.count && positiveOf.enumerated().allSatisfy { Int($1) == $0 }
    }

    /// How the report names these pairs: nil for the identity, else the file (or "memory").
    public var reportName: String? { isIdentity ? nil : path ?? "memory" }

    /// How many positives each x1 row has.
    public func positiveCounts() -> [Int32] {
        var counts = [Int32](repeating: 0, count: x1Rows)
        for i in positiveOf { counts[Int(i)] += 1 }
        return counts
    }

    /// The x1 rows with no positive.
    public var x1WithoutPositive: Int { positiveCounts().lazy.filter { $0 == 0 }.count }

    /// Whether a file name is an id file of big-ann-benchmarks' layout (`.ibin`, `.ibin.zst`).
    static func isIDFile(_ name: String) -> Bool { name.hasSuffix(".ibin") || name.hasSuffix(".ibin.zst") }

    /// Reads the x1 row of each x2 row: a 1-D `.npy` of integers of length `x2Rows`, or a
    /// big-ann-benchmarks `.ibin` of `x2Rows` rows × 1 int32 id; either optionally `.zst`.
    public static func load(path: String, x1Rows: Int, x2Rows: Int) throws -> Pairs {
        guard path.hasSuffix(".npy") || path.hasSuffix(".npy.zst") || isIDFile(path) else {
            throw InputError("unknown suffix: a pairs file is a .npy of integers or an .ibin of int32 ids (either optionally .zst)", file: path)
        }
        let file = try FileByteStream(path: path)
        let stream: ByteStream = path.hasSuffix(".zst") ? try ZstdByteStream(file: file) : file
        let entries = isIDFile(path) ? try idEntries(stream) : try npyEntries(stream)
        guard entries.count == x2Rows else {
            throw InputError("wrong length: \(entries.count) pairs for \(x2Rows) x2 rows", file: path)
        }
        let fileBytes = try file.size()
        let dataBytes = x2Rows * entries.width
        if stream === file, entries.headerBytes + dataBytes != fileBytes {
            throw InputError("truncated data: header says \(x2Rows) entries of \(entries.width) bytes, the file holds \(fileBytes - entries.headerBytes) bytes", file: path)
        }
        // Bounded by the checked length for plain files; for .zst by the decoded stream itself,
        // read in chunks so a lying header allocates nothing before the data arrives.
        let raw = try stream.readBytes(upTo: dataBytes)
        guard raw.count == dataBytes else {
            throw InputError("truncated data: \(raw.count / entries.width) of \(x2Rows) pair entries", file: path)
        }
        guard try stream.isAtEnd() else { throw InputError("trailing data after the pair entries", file: path) }
        let width = entries.width
        var values = [Int](repeating: 0, count: x2Rows)
        for j in 0..<x2Rows {
            var bytes = Array(raw[j * width..<(j + 1) * width])
            if entries.bigEndian { bytes.reverse() }
            let unsigned = UInt64(littleEndianBytes: bytes)
            let shift = UInt64(64 - 8 * width)
            values[j] = entries.signed ? Int(Int64(bitPattern: unsigned << shift) >> Int64(shift))
                                       : (unsigned > UInt64(Int.max) ? -1 : Int(unsigned))
        }
        return try Pairs(positiveOf: values, x1Rows: x1Rows, path: path)
    }

    /// How a pairs file stores its integers, from its header.
    private struct Entries {
        var count: Int
        var width: Int
        var signed: Bool
        var bigEndian: Bool
        var headerBytes: Int
    }

    private static func npyEntries(_ stream: ByteStream) throws -> Entries {
        let path = stream.path
        let header = try NPYHeader.read(from: stream)
        let descr = header.descr
        guard descr.count == 3, let order = descr.first, "<>|=".contains(order),
              "iu".contains(descr.dropFirst().first!), let width = Int(descr.suffix(1)), [1, 2, 4, 8].contains(width)
        else {
            throw InputError("unsupported dtype '\(descr)' for pairs: expected integers such as <i8", file: path)
        }
        guard !header.fortranOrder || header.shape.count <= 1 else {
            throw InputError("unsupported layout: Fortran order", file: path)
        }
        guard header.shape.count == 1 else {
            throw InputError("wrong rank: pairs must be a 1-D array, found shape \(header.shapeText)", file: path)
        }
        return Entries(count: header.shape[0], width: width, signed: descr.dropFirst().first == "i",
                       bigEndian: order == ">", headerBytes: header.headerBytes)
    }

    /// An `.ibin` of pairs is a column of ids: N2 rows of dimension 1.
    private static func idEntries(_ stream: ByteStream) throws -> Entries {
        let (rows, dim) = try BigANNHeader.read(from: stream, suffix: ".ibin")
        guard dim == 1 else {
            throw InputError("wrong shape: an .ibin of pairs holds one id per x2 row (dim 1), found dim \(dim)", file: stream.path)
        }
        return Entries(count: rows, width: 4, signed: true, bigEndian: false, headerBytes: BigANNHeader.bytes)
    }
}
