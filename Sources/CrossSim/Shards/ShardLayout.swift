/// Element types a shard may store; all are converted to Float32 on read. The raw value is
/// numpy's type code.
public enum ElementType: String, Sendable, CaseIterable {
    case uint8 = "u1"
    case int8 = "i1"
    case float16 = "f2"
    case float32 = "f4"
    case float64 = "f8"

    public var byteCount: Int {
        switch self {
        case .uint8, .int8: return 1
        case .float16: return 2
        case .float32: return 4
        case .float64: return 8
        }
    }
}

/// The shape and encoding of one shard's data, read from its header.
public struct ShardLayout: Sendable, Equatable {
    public var rows: Int
    public var dim: Int
    public var element: ElementType
    public var bigEndian: Bool
    /// Bytes before the first value (magic, version, header).
    public var headerBytes: Int

    /// Bytes of data the header promises, or nil when that overflows.
    public var dataBytes: Int? {
        let (cells, o1) = rows.multipliedReportingOverflow(by: dim)
        let (bytes, o2) = cells.multipliedReportingOverflow(by: element.byteCount)
        return o1 || o2 ? nil : bytes
    }

    /// numpy's spelling of the dtype, e.g. `<f2`, or `|u1` for single bytes, which have no order.
    public var dtype: String { (element.byteCount == 1 ? "|" : bigEndian ? ">" : "<") + element.rawValue }
}

/// The shard formats of docs/inputs.md: NumPy's, and big-ann-benchmarks' for each element type.
public enum ShardFormat: String, Sendable, CaseIterable {
    case npy, fbin, f16bin, u8bin, i8bin

    /// The file suffix, with its dot.
    public var suffix: String { "." + rawValue }

    /// The element type of a big-ann-benchmarks file (the suffix says it); nil for `.npy`,
    /// whose header says it.
    var bigANNElement: ElementType? {
        switch self {
        case .npy: return nil
        case .fbin: return .float32
        case .f16bin: return .float16
        case .u8bin: return .uint8
        case .i8bin: return .int8
        }
    }

    /// Every suffix a shard may have, for messages: `.npy, .fbin, …` and their `.zst` forms.
    static var suffixList: String {
        allCases.map(\.suffix).joined(separator: ", ") + " (each optionally + .zst)"
    }

    /// Recognises each format's suffix and its `.zst` form; nil for any other name.
    static func recognise(_ name: String) -> (format: ShardFormat, compressed: Bool)? {
        let compressed = name.hasSuffix(".zst")
        let base = compressed ? String(name.dropLast(4)) : name
        return allCases.first { base.hasSuffix($0.suffix) }.map { ($0, compressed) }
    }

    func readLayout(from stream: ByteStream) throws -> ShardLayout {
        guard let element = bigANNElement else {
            return try NPYHeader.read(from: stream).embeddingLayout(file: stream.path)
        }
        let (rows, dim) = try BigANNHeader.read(from: stream, suffix: suffix)
        return ShardLayout(rows: rows, dim: dim, element: element, bigEndian: false, headerBytes: BigANNHeader.bytes)
    }
}
