/// Writes 2-D (or 1-D) arrays in NumPy's .npy v1.0 format, optionally as one zstd frame,
/// to an `AtomicFile`.
public enum NPYWriter {
    public enum Element: String {
        case float16 = "<f2", float32 = "<f4", float64 = "<f8", int64 = "<i8", bool = "|b1"
    }

    /// The header for `shape` and `element`, padded to a multiple of 64 bytes as numpy does.
    static func header(shape: [Int], element: Element) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var dict = "{'descr': '\(element.rawValue)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return NPYHeader.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    /// Writes `values` (row-major, count = product of shape) to `path`.
    public static func write<T>(_ values: UnsafeBufferPointer<T>, shape: [Int], element: Element,
                                to path: String, zstdLevel: Int? = nil) throws {
        let file = try AtomicFile(path: path)
        let sink: (UnsafeRawBufferPointer) throws -> Void
        var compressor: ZstdWriter?
        if let level = zstdLevel {
            let writer = try ZstdWriter(file: file, level: level)
            compressor = writer
            sink = writer.write
        } else {
            sink = file.write
        }
        try header(shape: shape, element: element).withUnsafeBytes(sink)
        try sink(UnsafeRawBufferPointer(values))
        try compressor?.finish()
        try file.commit()
    }
}
