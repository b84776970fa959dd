import CZstd

/// Streams bytes through a zstd compressor into a file.
final class ZstdWriter {
    private let file: AtomicFile
    private let context: OpaquePointer
    private var output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())

    init(file: AtomicFile, level: Int) throws {
        self.file = file
        guard let context = ZSTD_createCCtx() else { throw InternalError("zstd: out of memory") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try pump(bytes, ZSTD_e_continue) }
    func finish() throws { try pump(UnsafeRawBufferPointer(start: nil, count: 0), ZSTD_e_end) }

    private func pump(_ bytes: UnsafeRawBufferPointer, _ mode: ZSTD_EndDirective) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while true {
            let (remaining, produced) = try output.withUnsafeMutableBytes { out -> (Int, Int) in
                var buffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let r = ZSTD_compressStream2(context, &buffer, &input, mode)
                if ZSTD_isError(r) != 0 {
                    throw InternalError("zstd: \(String(cString: ZSTD_getErrorName(r)))")
                }
                return (r, buffer.pos)
            }
            try output.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
            let done = mode == ZSTD_e_end ? remaining == 0 : input.pos == input.size
            if done { return }
        }
    }
}
