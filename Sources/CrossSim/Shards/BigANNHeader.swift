/// big-ann-benchmarks' binary layout (`.fbin`, `.f16bin`, `.u8bin`, `.i8bin`, and `.ibin` for
/// ids): int32 rows, int32 dim, then rows·dim little-endian values of the suffix's type.
enum BigANNHeader {
    static let bytes = 8

    static func read(from stream: ByteStream, suffix: String) throws -> (rows: Int, dim: Int) {
        let header = try stream.readBytes(bytes, what: "the 8-byte \(suffix) header")
        let rows = Int(Int32(littleEndianBytes: header[0..<4]))
        let dim = Int(Int32(littleEndianBytes: header[4..<8]))
        guard rows >= 0 else { throw InputError("bad \(suffix) header: negative row count \(rows)", file: stream.path) }
        guard dim > 0 else { throw InputError("bad \(suffix) header: dimension \(dim)", file: stream.path) }
        return (rows, dim)
    }
}
