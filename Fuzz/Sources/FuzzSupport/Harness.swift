import CrossSim
import CZstdFuzz
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What each fuzz target feeds to CrossSim's public API. The library reads paths, so every
/// input is written to a file in this process's scratch directory (under /dev/shm: no disk
/// I/O) and read back through the same calls the command line makes.
///
/// A thrown `InputError` is the expected outcome of bad input. A crash, trap, hang, leak or
/// timeout is a finding, and so is any other error type: docs/inputs.md says bad input is an
/// `InputError` (exit code 2), never an internal failure (exit code 1).
///
/// Input layouts (the first bytes of some targets choose how the rest is used):
/// - `npy`, `fbin`, `f16bin`, `u8bin`, `i8bin`: the whole input is the shard (`x.npy`, `x.fbin`, …).
/// - `manifest`: the whole input is `m.txt`, in a directory that holds valid and broken shards
///   (see `Workspace.shards`) that its lines may name.
/// - `zstd`: byte 0 is a mode; bit 0 clear: the rest is written as it is to `x.npy.zst` (the
///   fuzzer mutates frames and blocks); bit 0 set: the rest is compressed here into valid
///   frames with checksums (bit 1: two frames, split in the middle), so that the fuzzer
///   explores what lies inside the frames. Bits 2–4 choose the format inside: 0 `.npy`,
///   1 `.fbin`, 2 `.f16bin`, 3 `.u8bin`, 4 `.i8bin` (5–7 `.npy`); the bits above, the similarity.
/// - `pairs`: byte 0 is a mode (bit 0: the file is `p.npy.zst`; bit 1: and the rest is
///   compressed here; bit 2: `.ibin` in place of `.npy`), byte 1 is x1's row count, byte 2
///   x2's; the rest is the file.
/// - `state`: byte 0 is a mode (bit 0: the payload is compressed here into a valid frame with
///   a checksum; otherwise written as it is; bit 1: two state files, bytes 1–2 (LE16) say where
///   the payload splits). Each file goes through `StateFile.read`, then, as `crosssim merge`
///   does, through `MergedRun`, the report, its JSON and its summary.
public enum Harness {
    public enum Target: String, CaseIterable, Sendable {
        case npy, fbin, f16bin, u8bin, i8bin, zstd, manifest, pairs, state
    }

    public static func run(_ target: Target, _ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let w = Workspace.shared
        switch target {
        case .npy, .fbin, .f16bin, .u8bin, .i8bin:
            readSet(w.write(bytes, "x." + target.rawValue), parity: bytes.count)
        case .manifest:
            readSet(w.write(bytes, "m.txt"), parity: bytes.count)
        case .zstd:
            guard let mode = bytes.first else { return }
            let payload = Array(bytes.dropFirst())
            let inner: [Target] = [.npy, .fbin, .f16bin, .u8bin, .i8bin]
            let format = inner[Int(mode >> 2 & 7) < inner.count ? Int(mode >> 2 & 7) : 0]
            let file = mode & 1 == 0 ? payload : Zstd.compress(payload, frames: mode & 2 != 0 ? 2 : 1)
            readSet(w.write(file, "x.\(format.rawValue).zst"), parity: Int(mode >> 5))
        case .pairs:
            guard bytes.count >= 3 else { return }
            let mode = bytes[0], x1Rows = Int(bytes[1]), x2Rows = Int(bytes[2])
            let payload = Array(bytes.dropFirst(3))
            let name = mode & 4 != 0 ? "p.ibin" : "p.npy"
            let path = mode & 1 == 0
                ? w.write(payload, name)
                : w.write(mode & 2 != 0 ? Zstd.compress(payload, frames: 1) : payload, name + ".zst")
            expectInputError {
                let pairs = try Pairs.load(path: path, x1Rows: x1Rows, x2Rows: x2Rows)
                precondition(pairs.x1Rows == x1Rows && pairs.x2Rows == x2Rows)
                precondition(pairs.positiveOf.allSatisfy { $0 >= 0 && Int($0) < x1Rows })
                _ = pairs.x1WithoutPositive
            }
        case .state:
            guard let mode = bytes.first else { return }
            var payloads = [Array(bytes.dropFirst())]
            if mode & 2 != 0 {
                guard bytes.count >= 3 else { return }
                let rest = Array(bytes.dropFirst(3))
                let split = min(Int(bytes[1]) | Int(bytes[2]) << 8, rest.count)
                payloads = [Array(rest[..<split]), Array(rest[split...])]
            }
            let paths = payloads.enumerated().map { i, payload in
                w.write(mode & 1 != 0 ? Zstd.compress(payload, frames: 1) : payload, "s\(i).state")
            }
            expectInputError {
                let merged = try MergedRun(paths: paths)
                let report = merged.report
                _ = report.json.rendered()
                _ = report.summary
            }
        }
    }

    /// The three ways the library reads a set: whole (eval in memory), streamed in batches
    /// (inspect), and from a row in the middle on (--part, --memory-limit panels).
    static func readSet(_ path: String, parity: Int) {
        expectInputError {
            let matrix = try Embeddings.load(path: path, similarity: parity % 2 == 0 ? .cosine : .dot)
            precondition(matrix.rows >= 0 && matrix.dim > 0)
        }
        expectInputError {
            let inspection = try SetInspection(path: path)
            _ = inspection.json.rendered()
            _ = inspection.summary
        }
        expectInputError {
            let set = try ShardSet.open(path)
            let stream = RowStream(set)
            try stream.skip(rows: set.rows / 2)
            let left = set.rows - set.rows / 2
            let buffer = Embeddings(rows: left, dim: set.dim)
            let got = try stream.read(rows: left, into: buffer.baseAddress)
            precondition(got <= left)
        }
    }

    /// Runs `body`; success and `InputError` are fine, anything else is a finding.
    static func expectInputError(_ body: () throws -> Void) {
        do {
            try body()
        } catch is InputError {
        } catch {
            fatalError("bad input must raise an InputError, got \(type(of: error)): \(error)")
        }
    }
}

/// The per-process scratch directory, created on first use and removed at exit (a crash leaves
/// it behind: scripts/fuzz.sh removes it).
public final class Workspace: @unchecked Sendable {
    public static let shared = Workspace()
    public let directory: String
    /// `CROSSSIM_FUZZ_MATERIALIZE=DIR`: write the files of each input into DIR and keep them
    /// (to turn a crashing input into a regression file).
    private let keep: Bool

    /// Shards that a fuzzed manifest may name: valid ones of each format, a D mismatch, bad
    /// rows, a truncated file, a directory with a shard's name, and a subdirectory.
    static let shards: [(name: String, fixture: String)] = [
        ("a.npy", "npy/M_le_f4_v1.npy"),
        ("b.fbin", "fbin/M.fbin"),
        ("c.npy.zst", "zst/M_le_f2.npy.zst"),
        ("d.npy", "npy/M_be_f2_v2.npy"),
        ("e.fbin.zst", "zst/M.fbin.zst"),
        ("f.npy.zst", "zst/M_le_f4_multiframe.npy.zst"),
        ("dim4.npy", "bad/dim4.npy"),
        ("nan.npy", "bad/nan_row.npy"),
        ("zero.npy", "bad/zero_row.npy"),
        ("short.npy", "bad/truncated.npy"),
        ("sub/g.npy", "npy/M_le_f8_v3.npy"),
        ("sub/10.npy", "npy/M_le_f2_v1.npy"),
    ]

    init() {
        if let dir = ProcessInfo.processInfo.environment["CROSSSIM_FUZZ_MATERIALIZE"] {
            directory = dir
            keep = true
        } else {
            let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
            directory = (base as NSString).appendingPathComponent("crosssim-fuzz-\(getpid())")
            keep = false
        }
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        try! FileManager.default.createDirectory(atPath: directory + "/dir.npy", withIntermediateDirectories: true)
        let fixtures = ProcessInfo.processInfo.environment["CROSSSIM_FIXTURES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Tests/Fixtures").path
        for (name, fixture) in Self.shards {
            let source = (fixtures as NSString).appendingPathComponent(fixture)
            guard let data = FileManager.default.contents(atPath: source) else {
                fatalError("fuzz harness: fixture \(source) missing (set CROSSSIM_FIXTURES)")
            }
            _ = write(Array(data), name)
        }
        if !keep {
            let path = strdup(directory)
            Self.cleanupPath = path
            atexit {
                if let path = Workspace.cleanupPath {
                    try? FileManager.default.removeItem(atPath: String(cString: path))
                }
            }
        }
    }

    nonisolated(unsafe) static var cleanupPath: UnsafeMutablePointer<CChar>?

    /// Writes `bytes` to `name` in the directory (replacing it) and returns its path.
    @discardableResult
    public func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = directory + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "fuzz harness: cannot write \(path)")
        defer { close(fd) }
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + done, buffer.count - done)
                precondition(n > 0, "fuzz harness: short write to \(path)")
                done += n
            }
        }
        return path
    }
}

/// libzstd's one-shot compressor: level 1, content size and XXH64 checksum in every frame.
public enum Zstd {
    nonisolated(unsafe) private static let context: OpaquePointer = {
        let c = ZSTD_createCCtx()!
        ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)
        ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)
        return c
    }()

    public static func compress(_ bytes: [UInt8], frames: Int) -> [UInt8] {
        let cut = frames > 1 ? bytes.count / 2 : bytes.count
        var out: [UInt8] = []
        for piece in frames > 1 ? [bytes[..<cut], bytes[cut...]] : [bytes[...]] {
            var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(piece.count))
            let n = frame.withUnsafeMutableBytes { dst in
                piece.withUnsafeBytes { src in
                    ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
                }
            }
            precondition(ZSTD_isError(n) == 0, "fuzz harness: zstd compression failed")
            out += frame[..<n]
        }
        return out
    }
}
