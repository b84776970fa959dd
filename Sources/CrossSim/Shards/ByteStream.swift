#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A forward-only source of bytes: a file, or the decoded content of a zstd file.
protocol ByteStream: AnyObject {
    /// The path named in errors.
    var path: String { get }
    /// Reads up to `buffer.count` bytes; returns fewer only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteStream {
    /// Fills `buffer` completely or throws a truncation error that says what was expected.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws {
        let got = try read(into: buffer)
        if got < buffer.count {
            throw InputError("truncated data: the file ends inside \(what())", file: path)
        }
    }

    func readBytes(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try readExactly(into: $0, what: what()) }
        return bytes
    }

    /// Up to `limit` bytes, read in chunks: memory grows only as data actually arrives, so a
    /// header that lies about a length allocates nothing.
    func readBytes(upTo limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < limit {
            let want = min(chunk.count, limit - bytes.count)
            let got = try chunk.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            if got == 0 { break }
            bytes += chunk[..<got]
        }
        return bytes
    }

    /// True when nothing is left to read.
    func isAtEnd() throws -> Bool {
        var byte: UInt8 = 0
        return try withUnsafeMutableBytes(of: &byte) { try read(into: $0) } == 0
    }
}

/// An open file read with POSIX calls, so that errors carry errno and no Foundation buffering
/// sits between the disk and the decoder.
final class FileByteStream: ByteStream {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO named like a shard would wait for a writer forever (it has
        // no effect on the regular files that are read).
        descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if descriptor < 0 { throw InputError(Self.describe(errno), file: path) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            close(descriptor)
            throw InputError((info.st_mode & S_IFMT) == S_IFDIR
                ? "is a directory, expected a shard file"
                : "not a regular file (a pipe, socket or device cannot be read as a shard)", file: path)
        }
    }

    deinit { close(descriptor) }

    /// Size in bytes as the file system reports it now.
    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw InputError(Self.describe(errno), file: path) }
        return Int(info.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fill(buffer) { destination, count, _ in systemRead(descriptor, destination, count) }
    }

    /// Moves the stream `count` bytes forward without reading them.
    func skip(bytes count: Int) throws {
        if lseek(descriptor, off_t(count), SEEK_CUR) < 0 {
            throw InputError("seek failed: \(Self.describe(errno))", file: path)
        }
    }

    /// Reads `buffer.count` bytes at `offset` without moving the stream (short at the end).
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fill(buffer) { pread(descriptor, $0, $1, off_t(offset + $2)) }
    }

    /// Calls `system(destination, count, bytesDoneSoFar)` until the buffer is full or the
    /// file ends, retrying interrupted calls.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer,
                      _ system: (UnsafeMutableRawPointer, Int, Int) -> Int) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = system(buffer.baseAddress! + done, buffer.count - done, done)
            if n < 0 {
                if errno == EINTR { continue }
                throw InputError("read failed: \(Self.describe(errno))", file: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func describe(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES: return "permission denied"
        default: return String(cString: strerror(code))
        }
    }
}

@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}

/// An integer from its little-endian bytes (the headers of .npy and .fbin files, pairs files).
extension FixedWidthInteger {
    init<C: Collection>(littleEndianBytes bytes: C) where C.Element == UInt8 {
        self = bytes.reversed().reduce(0) { $0 << 8 | Self(truncatingIfNeeded: $1) }
    }
}
