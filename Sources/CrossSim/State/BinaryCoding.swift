/// Little-endian arrays and scalars in a byte buffer (every platform CrossSim runs on is
/// little-endian, so values are copied as they lie in memory).
public struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    mutating func append<T: BitwiseCopyable>(_ values: [T]) {
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    mutating func append<T: BitwiseCopyable>(_ value: T) { append([value]) }
}

/// Reads what `BinaryWriter` wrote from a stream, never allocating more than the caller has
/// checked against the stream's size.
public struct BinaryReader {
    let stream: ByteStream

    func array<T: BitwiseCopyable>(_ type: T.Type, count: Int, what: String) throws -> [T] {
        var values = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        try values.withUnsafeMutableBytes { try stream.readExactly(into: $0, what: what) }
        return values
    }

    func scalar<T: BitwiseCopyable>(_ type: T.Type, what: String) throws -> T {
        try array(type, count: 1, what: what)[0]
    }
}
