import CZstd

/// The decoded content of a file of one or more zstd frames, decoded as it is read: only
/// `ZSTD_DStreamInSize()` compressed bytes are held at a time.
final class ZstdByteStream: ByteStream {
    let path: String
    private let file: FileByteStream
    private let context: OpaquePointer
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceDone = false
    /// ZSTD_decompressStream's last hint: 0 once a frame is complete.
    private var frameOpen = false

    init(file: FileByteStream) throws {
        self.file = file
        path = file.path
        guard let context = ZSTD_createDStream() else { throw InternalError("zstd: out of memory") }
        self.context = context
        ZSTD_initDStream(context)
        input = [UInt8](repeating: 0, count: ZSTD_DStreamInSize())
    }

    deinit { ZSTD_freeDStream(context) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos < output.size {
            if inputStart == inputEnd && !sourceDone {
                inputEnd = try input.withUnsafeMutableBytes { try file.read(into: $0) }
                inputStart = 0
                sourceDone = inputEnd == 0
            }
            let drained = sourceDone && inputStart == inputEnd
            if drained && !frameOpen { break }
            let before = output.pos
            let hint = input.withUnsafeBytes { bytes -> Int in
                var inBuffer = ZSTD_inBuffer(src: bytes.baseAddress, size: inputEnd, pos: inputStart)
                let hint = ZSTD_decompressStream(context, &output, &inBuffer)
                inputStart = inBuffer.pos
                return hint
            }
            if ZSTD_isError(hint) != 0 {
                throw InputError("corrupt zstd data: \(String(cString: ZSTD_getErrorName(hint)))", file: path)
            }
            frameOpen = hint != 0
            if drained && output.pos == before {
                if frameOpen {
                    throw InputError("truncated data: the zstd stream ends inside a frame", file: path)
                }
                break
            }
        }
        return output.pos
    }
}

/// An upper bound on the decoded size of a zstd file, read from its frame and block headers
/// alone (a few bytes per 128 KiB block), so that a shard's header can be checked before
/// anything is decoded or allocated.
enum ZstdSizeBound {
    static func decodedBytes(of file: FileByteStream) throws -> Int {
        let size = try file.size()
        var offset = 0
        var total = 0
        func bytes(_ count: Int, at position: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            let got = try out.withUnsafeMutableBytes { try file.read(at: position, into: $0) }
            guard got == count else {
                throw InputError("truncated data: the zstd stream ends inside a frame", file: file.path)
            }
            return out
        }
        func little(_ b: [UInt8]) -> Int { b.reversed().reduce(0) { $0 << 8 | Int($1) } }
        while offset < size {
            let magic = UInt32(little(try bytes(4, at: offset)))
            offset += 4
            if magic & 0xFFFF_FFF0 == 0x184D_2A50 {  // skippable frame
                offset += 4 + little(try bytes(4, at: offset))
                continue
            }
            guard magic == 0xFD2F_B528 else {
                throw InputError("corrupt zstd data: bad frame magic at byte \(offset - 4)", file: file.path)
            }
            let descriptor = Int(try bytes(1, at: offset)[0])
            offset += 1
            let singleSegment = descriptor >> 5 & 1 == 1
            let hasChecksum = descriptor >> 2 & 1 == 1
            let dictionaryBytes = [0, 1, 2, 4][descriptor & 3]
            let contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]
            offset += (singleSegment ? 0 : 1) + dictionaryBytes
            var frameBound = 0
            var declared: Int?
            if contentSizeBytes > 0 {
                let value = little(try bytes(contentSizeBytes, at: offset))
                declared = contentSizeBytes == 2 ? value + 256 : value
                offset += contentSizeBytes
            }
            var last = false
            while !last {
                let header = little(try bytes(3, at: offset))
                offset += 3
                last = header & 1 == 1
                let blockSize = header >> 3
                switch header >> 1 & 3 {
                case 0: frameBound += blockSize; offset += blockSize          // raw
                case 1: frameBound += min(blockSize, 128 * 1024); offset += 1  // run-length (at most 128 KiB)
                case 2: frameBound += 128 * 1024; offset += blockSize         // compressed
                default:
                    throw InputError("corrupt zstd data: reserved block type", file: file.path)
                }
                guard offset <= size else {
                    throw InputError("truncated data: the zstd stream ends inside a frame", file: file.path)
                }
            }
            if hasChecksum { offset += 4 }
            // A declared content size that the blocks cannot hold is caught by the decoder; one
            // of 2^63 or more reads as negative here and says nothing.
            total += min(declared.flatMap { $0 >= 0 ? $0 : nil } ?? frameBound, frameBound)
        }
        return total
    }
}
