import Foundation

/// One shard of a set, with the layout its header declares (already checked against the
/// file's size).
public struct Shard: Sendable, Equatable {
    public var path: String
    public var format: ShardFormat
    public var compressed: Bool
    public var layout: ShardLayout
    public var fileBytes: Int

    /// Opens the shard, reads its header and checks it against the bytes the file can hold.
    public static func open(_ path: String) throws -> Shard {
        let (shard, _) = try openStream(path)
        return shard
    }

    /// The shard and a stream positioned at its first value.
    static func openStream(_ path: String) throws -> (Shard, ByteStream) {
        // Not NSString.lastPathComponent: Foundation (swift-corelibs, 6.3) traps on paths such
        // as "a///b//" (found by fuzzing manifests).
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let (format, compressed) = ShardFormat.recognise(name) else {
            throw InputError("unknown suffix: expected \(ShardFormat.suffixList) or a .txt manifest"
                                 + (Pairs.isIDFile(name) ? "; an .ibin holds ids (pairs), not embeddings" : ""), file: path)
        }
        let file = try FileByteStream(path: path)
        let fileBytes = try file.size()
        let capacity = compressed ? try ZstdSizeBound.decodedBytes(of: file) : fileBytes
        let stream: ByteStream = compressed ? try ZstdByteStream(file: file) : file
        let layout = try format.readLayout(from: stream)
        let what = "\(layout.rows)×\(layout.dim) \(layout.dtype)"
        guard let dataBytes = layout.dataBytes else {
            throw InputError("header inconsistent with file size: \(what) does not fit in memory", file: path)
        }
        let (needed, overflow) = layout.headerBytes.addingReportingOverflow(dataBytes)
        guard !overflow else {
            throw InputError("header inconsistent with file size: \(what) does not fit in memory", file: path)
        }
        if compressed {
            guard needed <= capacity else {
                throw InputError(
                    "header inconsistent with file size: \(what) needs \(dataBytes) bytes of data, "
                        + "but the zstd frames decode to at most \(capacity - min(capacity, layout.headerBytes))",
                    file: path)
            }
        } else if needed != fileBytes {
            let word = needed > fileBytes ? "truncated data" : "header inconsistent with file size"
            throw InputError(
                "\(word): \(what) needs \(dataBytes) bytes of data, the file holds \(max(0, fileBytes - layout.headerBytes))",
                file: path)
        }
        return (Shard(path: path, format: format, compressed: compressed, layout: layout, fileBytes: fileBytes), stream)
    }
}

/// An embedding set (docs/inputs.md): one file, a directory of shards in natural order, or a `.txt`
/// manifest of shard paths. Opening it reads and checks every header; no data is read.
public struct ShardSet: Sendable {
    /// The path as the user gave it.
    public var path: String
    public var shards: [Shard]

    public var rows: Int { shards.reduce(0) { $0 + $1.layout.rows } }
    public var dim: Int { shards[0].layout.dim }
    public var bytesOnDisk: Int { shards.reduce(0) { $0 + $1.fileBytes } }
    /// The dtype shared by all shards, or the distinct ones joined by '+'.
    public var dtype: String {
        var seen: [String] = []
        for shard in shards where !seen.contains(shard.layout.dtype) { seen.append(shard.layout.dtype) }
        return seen.joined(separator: "+")
    }

    public static func open(_ path: String) throws -> ShardSet {
        let shards = try resolve(path).map(Shard.open)
        for shard in shards.dropFirst() where shard.layout.dim != shards[0].layout.dim {
            throw InputError(
                "dimension mismatch between shards: \(shard.layout.dim) here, \(shards[0].layout.dim) in \(shards[0].path)",
                file: shard.path)
        }
        let set = ShardSet(path: path, shards: shards)
        // Only rows bound D by the file's size: a set of empty shards could claim any D.
        guard set.rows > 0 else {
            throw InputError("empty set: \(shards.count == 1 ? "the shard holds" : "its shards hold") no rows", file: path)
        }
        guard set.rows < Int(Int32.max) else {
            throw InputError("too many rows (\(set.rows)): at most \(Int32.max - 1) per set", file: path)
        }
        return set
    }

    /// The shard holding global row `row`, and the row's index within it.
    public func locate(row: Int) -> (shard: Shard, row: Int) {
        var start = 0
        for shard in shards {
            if row < start + shard.layout.rows { return (shard, row - start) }
            start += shard.layout.rows
        }
        return (shards[shards.count - 1], row - start)
    }

    /// The shard paths that `path` names.
    static func resolve(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError("missing file: no such file or directory", file: path)
        }
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { !$0.hasPrefix(".") && ShardFormat.recognise($0) != nil }
                .sorted(by: NaturalOrder.areInIncreasingOrder)
            guard !names.isEmpty else {
                throw InputError("no shards: the directory holds no \(ShardFormat.suffixList) file", file: path)
            }
            return names.map { (path as NSString).appendingPathComponent($0) }
        }
        if path.hasSuffix(".txt") { return try manifest(path) }
        return [path]
    }

    /// A manifest lists one shard per line, relative to the manifest; blank lines and `#`
    /// comments are ignored.
    static func manifest(_ path: String) throws -> [String] {
        // Read with POSIX calls: Foundation's String(contentsOfFile:) leaks a buffer on an
        // empty file (found by fuzzing).
        let bytes = try FileByteStream(path: path).readBytes(upTo: .max)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InputError("cannot read manifest as UTF-8 text", file: path)
        }
        // The manifest's folder with its slash ("" for a bare name). Not NSString's
        // deletingLastPathComponent, which traps on some paths (see Shard.openStream).
        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
        var shards: [String] = []
        for (number, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            // The system would see the path only up to a NUL: refuse it rather than open another file.
            guard !line.contains("\0") else {
                throw InputError("bad path on line \(number + 1): it contains a NUL character", file: path)
            }
            let shard = line.hasPrefix("/") ? line : directory + line
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: shard, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw InputError("missing file '\(line)' listed on line \(number + 1)", file: path)
            }
            shards.append(shard)
        }
        guard !shards.isEmpty else { throw InputError("no shards: the manifest lists none", file: path) }
        return shards
    }
}

/// `part-2` before `part-10`: runs of digits compare as numbers, the rest as text.
enum NaturalOrder {
    static func areInIncreasingOrder(_ a: String, _ b: String) -> Bool {
        let x = chunks(a), y = chunks(b)
        for (p, q) in zip(x, y) where p != q {
            if let m = p.number, let n = q.number { return m != n ? m < n : p.text < q.text }
            return p.text < q.text
        }
        return x.count < y.count
    }

    private struct Chunk: Equatable {
        var text: String
        /// Digits without leading zeros, compared by length then text: no overflow.
        var number: (length: Int, digits: String)? {
            guard text.first?.isASCII == true, text.first!.isNumber else { return nil }
            let digits = String(text.drop { $0 == "0" })
            return (digits.count, digits)
        }
        static func == (l: Chunk, r: Chunk) -> Bool { l.text == r.text }
    }

    private static func chunks(_ s: String) -> [Chunk] {
        var out: [Chunk] = []
        var current = ""
        var digits = false
        for c in s {
            let isDigit = c.isASCII && c.isNumber
            if !current.isEmpty && isDigit != digits {
                out.append(Chunk(text: current))
                current = ""
            }
            digits = isDigit
            current.append(c)
        }
        if !current.isEmpty { out.append(Chunk(text: current)) }
        return out
    }
}
