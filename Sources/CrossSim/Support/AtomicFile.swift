#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Writes an output so that its path holds either the old content or the whole new one,
/// never part of it: the bytes go to a hidden temporary file in the same directory, are
/// flushed to disk, and the file is renamed into place. A failed or interrupted write leaves
/// only the temporary file's removal to do, which `commit` or `deinit` takes care of.
public final class AtomicFile {
    public let path: String
    let temporaryPath: String
    /// The directory the file is renamed in ("" for the working directory), with its slash.
    private let directory: String
    private var descriptor: Int32
    private var committed = false

    public init(path: String) throws {
        _ = Self.fileSizeLimitIsAnError
        self.path = path
        // Split by hand: Foundation's NSString.deletingLastPathComponent (swift-corelibs, 6.3)
        // traps on a one-character name such as `--json r`.
        let slash = path.lastIndex(of: "/")
        directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = directory + ".\(name).tmp-\(getpid())"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw InternalError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        Self.pending.insert(temporaryPath)
    }

    /// Under `ulimit -f` a write past the limit raises SIGXFSZ, whose default action kills the
    /// process at once, leaving the temporary file behind. Ignored, the write fails with EFBIG
    /// and is reported (and cleaned up) like a full disk.
    private static let fileSizeLimitIsAnError: Void = { _ = signal(SIGXFSZ, SIG_IGN) }()

    deinit {
        if !committed {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporaryPath)
            Self.pending.remove(temporaryPath)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw InternalError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Flushes and renames the file into place, then flushes the directory, so that after a
    /// crash the name holds the new file rather than the old one or none.
    public func commit() throws {
        guard fsync(descriptor) == 0 else {
            throw InternalError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // Closed even when close fails: deinit must not close a number another file may have by now.
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else {  // NFS and others report failed writes here
            throw InternalError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw InternalError("cannot write \(path): \(reason)")
        }
        committed = true
        Self.pending.remove(temporaryPath)
        try flushDirectory()
    }

    /// fsync on the directory makes the rename durable. File systems that cannot flush a
    /// directory say EINVAL (the rename is then as durable as they make it); an I/O error
    /// means the new name may not survive a crash, and is reported.
    private func flushDirectory() throws {
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { return }
        defer { close(directoryDescriptor) }
        if fsync(directoryDescriptor) != 0 && errno == EIO {
            throw InternalError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes `text` to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(text)
        try file.commit()
    }

    /// Temporary files not yet committed, for an interrupt handler that must exit at once.
    static let pending = PendingFiles()

    /// Removes every temporary file still being written.
    public static func removePendingFiles() { pending.removeAll() }
}

final class PendingFiles: Sendable {
    private let paths = Mutex<Set<String>>([])

    func insert(_ path: String) { paths.withLock { _ = $0.insert(path) } }
    func remove(_ path: String) { paths.withLock { _ = $0.remove(path) } }
    func removeAll() {
        paths.withLock {
            for path in $0 { unlink(path) }
            $0.removeAll()
        }
    }
}
