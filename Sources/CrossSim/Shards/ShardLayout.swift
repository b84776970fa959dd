/// Element types a shard may store; all are converted to Float32 on read.
public enum ElementType: String, Sendable, CaseIterable {
    case float16 = "f2"
    case float32 = "f4"
    case float64 = "f8"

    public var byteCount: Int {
        switch self {
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

    /// numpy's spelling of the dtype, e.g. `<f2`.
    public var dtype: String { (bigEndian ? ">" : "<") + element.rawValue }
}

/// The two shard formats of docs/inputs.md.
public enum ShardFormat: String, Sendable {
    case npy, fbin

    /// Recognises `.npy`, `.fbin` and their `.zst` forms; nil for any other name.
    static func recognise(_ name: String) -> (format: ShardFormat, compressed: Bool)? {
        let compressed = name.hasSuffix(".zst")
        let base = compressed ? String(name.dropLast(4)) : name
        if base.hasSuffix(".npy") { return (.npy, compressed) }
        if base.hasSuffix(".fbin") { return (.fbin, compressed) }
        return nil
    }

    func readLayout(from stream: ByteStream) throws -> ShardLayout {
        switch self {
        case .npy: return try NPYHeader.read(from: stream).embeddingLayout(file: stream.path)
        case .fbin: return try FBinHeader.read(from: stream)
        }
    }
}
