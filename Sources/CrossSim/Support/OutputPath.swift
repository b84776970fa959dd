#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that an output can be written where the user asked, before a run computes anything:
/// a path that cannot take the output is bad input (exit 2, docs/command-line.md), found in a moment
/// rather than after the whole run. A write that fails later (a full disk) stays an
/// `InternalError`.
public enum OutputPath {
    /// A file written by `AtomicFile`: its directory exists and is writable (the temporary file
    /// goes there), and the path itself is not a directory.
    public static func checkFile(_ path: String, option: String) throws {
        if path.hasSuffix("/") || isDirectory(path) {
            throw InputError("\(option): this is a directory; give a file name", file: path)
        }
        let directory = parent(of: path)
        guard exists(directory) else { throw InputError("\(option): the directory \(directory) does not exist", file: path) }
        try checkWritableDirectory(directory, for: path, option: option)
    }

    /// A directory that the output's files go into: it exists, or the nearest of its parents
    /// that exists is a directory it can be made in.
    public static func checkDirectory(_ path: String, option: String) throws {
        var existing = path
        while !exists(existing) { existing = parent(of: existing) }
        try checkWritableDirectory(existing, for: path, option: option)
    }

    /// `directory` exists; it must be a directory this process can create files in.
    private static func checkWritableDirectory(_ directory: String, for path: String, option: String) throws {
        guard isDirectory(directory) else { throw InputError("\(option): \(directory) is not a directory", file: path) }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw InputError("\(option): cannot write in \(directory) (\(String(cString: strerror(errno))))", file: path)
        }
    }

    /// The directory part of `path`: "." for a bare name, "/" at the root.
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
