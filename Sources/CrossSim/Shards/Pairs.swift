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

    /// Reads a 1-D `.npy` (optionally `.npy.zst`) of integers of length `x2Rows`.
    public static func load(path: String, x1Rows: Int, x2Rows: Int) throws -> Pairs {
        guard path.hasSuffix(".npy") || path.hasSuffix(".npy.zst") else {
            throw InputError("unknown suffix: a pairs file is a .npy (or .npy.zst) of integers", file: path)
        }
        let file = try FileByteStream(path: path)
        let stream: ByteStream = path.hasSuffix(".zst") ? try ZstdByteStream(file: file) : file
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
        guard header.shape[0] == x2Rows else {
            throw InputError("wrong length: \(header.shape[0]) pairs for \(x2Rows) x2 rows", file: path)
        }
        let fileBytes = try file.size()
        if stream === file, header.headerBytes + x2Rows * width != fileBytes {
            throw InputError("truncated data: header says \(x2Rows) entries of \(width) bytes, the file holds \(fileBytes - header.headerBytes) bytes", file: path)
        }
        // Bounded by the checked length for plain files; for .zst by the decoded stream itself,
        // read in chunks so a lying header allocates nothing before the data arrives.
        let expected = x2Rows * width
        let raw = try stream.readBytes(upTo: expected)
        guard raw.count == expected else {
            throw InputError("truncated data: \(raw.count / width) of \(x2Rows) pair entries", file: path)
        }
        guard try stream.isAtEnd() else { throw InputError("trailing data after the pair entries", file: path) }
        let bigEndian = order == ">"
        let signed = descr.dropFirst().first == "i"
        var values = [Int](repeating: 0, count: x2Rows)
        for j in 0..<x2Rows {
            var bytes = Array(raw[j * width..<(j + 1) * width])
            if bigEndian { bytes.reverse() }
            let unsigned = UInt64(littleEndianBytes: bytes)
            let shift = UInt64(64 - 8 * width)
            values[j] = signed ? Int(Int64(bitPattern: unsigned << shift) >> Int64(shift))
                               : (unsigned > UInt64(Int.max) ? -1 : Int(unsigned))
        }
        return try Pairs(positiveOf: values, x1Rows: x1Rows, path: path)
    }
}
