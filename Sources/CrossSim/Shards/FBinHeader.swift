/// big-ann-benchmarks' layout: int32 rows, int32 dim, then rows·dim little-endian float32.
enum FBinHeader {
    static func read(from stream: ByteStream) throws -> ShardLayout {
        let header = try stream.readBytes(8, what: "the 8-byte .fbin header")
        let rows = Int(Int32(littleEndianBytes: header[0..<4]))
        let dim = Int(Int32(littleEndianBytes: header[4..<8]))
        guard rows >= 0 else { throw InputError("bad .fbin header: negative row count \(rows)", file: stream.path) }
        guard dim > 0 else { throw InputError("bad .fbin header: dimension \(dim)", file: stream.path) }
        return ShardLayout(rows: rows, dim: dim, element: .float32, bigEndian: false, headerBytes: 8)
    }
}
