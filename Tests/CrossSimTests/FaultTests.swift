import CrossSim
import CrossSimSynthetic
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What CrossSim does when the world changes under it: shards that vanish, shrink or are
/// replaced while they are read, a disk that fills while an output is written, and runs that
/// are interrupted (SIGINT, SIGTERM) or killed (SIGKILL) at any moment. Bad input is an
/// `InputError` naming the file; a failed write is exit code 1 with the output path holding its
/// previous content and no temporary file left; an interrupted run exits 130 having written
/// nothing; a killed run never leaves part of a file at an output path.
final class FaultTests: XCTestCase {
    // MARK: Shards that change after ShardSet.open

    /// `counts` shards of `dim`-wide Gaussian rows, `part-0.npy`, `part-1.npy`, … in `dir`.
    func writeShards(_ dir: String, counts: [Int], dim: Int) throws -> [String] {
        try counts.enumerated().map { k, rows in
            let path = "\(dir)/part-\(k).npy"
            try TestMatrix.gaussian(rows: rows, dim: dim, seed: UInt64(k + 1)).writeNPY(to: path)
            return path
        }
    }

    func truncate(_ path: String, to bytes: Int) {
        XCTAssertEqual(Glibc.truncate(path, off_t(bytes)), 0, "truncate \(path)")
    }

    func assertNames(_ error: InputError?, _ path: String, _ words: String..., file: StaticString = #filePath, line: UInt = #line) {
        guard let error else { return }
        XCTAssertEqual(error.file, path, "the error names the file: \(error)", file: file, line: line)
        for word in words {
            XCTAssert(error.message.contains(word), "'\(error)' should say '\(word)'", file: file, line: line)
        }
    }

    func testShardThatVanishesAfterOpenIsAnInputErrorNamingIt() throws {
        let dir = try temporaryDirectory(self)
        let shards = try writeShards(dir, counts: [4, 4], dim: 8)
        let set = try ShardSet.open(dir)
        try FileManager.default.removeItem(atPath: shards[1])
        assertNames(inputError { _ = try Embeddings.load(set, similarity: .cosine) }, shards[1], "no such file")
        let buffer = Embeddings(rows: set.rows, dim: set.dim)
        assertNames(inputError { _ = try RowStream(set).read(rows: set.rows, into: buffer.baseAddress) }, shards[1], "no such file")
    }

    func testShardThatShrinksAfterOpenIsAnInputErrorNamingIt() throws {
        let dir = try temporaryDirectory(self)
        let shards = try writeShards(dir, counts: [4, 4], dim: 8)
        let set = try ShardSet.open(dir)
        truncate(shards[1], to: 128 + 40)   // the header and 1¼ rows
        assertNames(inputError { _ = try Embeddings.load(set, similarity: .cosine) }, shards[1], "truncated")
        truncate(shards[1], to: 0)
        assertNames(inputError { _ = try Embeddings.load(set, similarity: .dot) }, shards[1], "truncated")
    }

    func testShardReplacedAfterOpenIsAnInputErrorNamingIt() throws {
        let dir = try temporaryDirectory(self)
        let shards = try writeShards(dir, counts: [4, 4], dim: 8)
        let set = try ShardSet.open(dir)
        try TestMatrix.gaussian(rows: 5, dim: 8, seed: 9).writeNPY(to: shards[0])
        assertNames(inputError { _ = try Embeddings.load(set, similarity: .cosine) }, shards[0], "changed")
    }

    /// The shard being read shrinks under the open descriptor; the next one vanishes.
    func testShardsThatShrinkOrVanishWhileTheSetIsStreamed() throws {
        let dir = try temporaryDirectory(self)
        let shards = try writeShards(dir, counts: [3000, 10], dim: 64)
        let set = try ShardSet.open(dir)
        let buffer = Embeddings(rows: set.rows, dim: set.dim)

        var stream = RowStream(set)
        XCTAssertEqual(try stream.read(rows: 100, into: buffer.baseAddress), 100)
        truncate(shards[0], to: 128 + 1000 * 64 * 4 + 7)
        assertNames(inputError { _ = try stream.read(rows: 3000, into: buffer.baseAddress) }, shards[0], "truncated")

        _ = try writeShards(dir, counts: [3000], dim: 64)
        stream = RowStream(set)
        XCTAssertEqual(try stream.read(rows: 2999, into: buffer.baseAddress), 2999)
        try FileManager.default.removeItem(atPath: shards[1])
        assertNames(inputError { _ = try stream.read(rows: 11, into: buffer.baseAddress) }, shards[1], "no such file")
    }

    /// A compressed shard shrinks while it is decoded (past the decoder's input buffer).
    func testCompressedShardThatShrinksWhileItIsReadIsAnInputErrorNamingIt() throws {
        let dir = try temporaryDirectory(self)
        let files = try SyntheticPairs(rows: 4000, dim: 64, seed: 5).write(to: dir, shards: 1, element: .float32, zstdLevel: 1)
        let shard = try XCTUnwrap(files.first { $0.hasSuffix(".npy.zst") && $0.contains("x1") })
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: shard)[.size] as? Int)
        XCTAssertGreaterThan(size, 500_000, "random rows do not compress: the file outgrows zstd's input buffer")
        let set = try ShardSet.open(shard)
        let stream = RowStream(set)
        let buffer = Embeddings(rows: set.rows, dim: set.dim)
        XCTAssertEqual(try stream.read(rows: 10, into: buffer.baseAddress), 10)
        truncate(shard, to: size / 2)
        assertNames(inputError { _ = try stream.read(rows: set.rows, into: buffer.baseAddress) }, shard, "truncated")
        assertNames(inputError { _ = try Embeddings.load(set, similarity: .cosine) }, shard)
    }

    /// A named pipe where a shard should be (in a folder, or named by a manifest or a state
    /// path) could block the reader forever; it is refused at once.
    func testPipeNamedLikeAShardIsAnInputErrorNotAHang() throws {
        let dir = try temporaryDirectory(self)
        _ = try writeShards(dir, counts: [4], dim: 8)
        XCTAssertEqual(mkfifo(dir + "/part-1.npy", 0o644), 0)
        XCTAssertEqual(mkfifo(dir + "/part.state", 0o644), 0)
        try Data("part-0.npy\npart-1.npy\n".utf8).write(to: URL(fileURLWithPath: dir + "/m.txt"))
        for set in [dir, dir + "/m.txt", dir + "/part-1.npy"] {
            assertNames(inputError { _ = try ShardSet.open(set) }, dir + "/part-1.npy", "not a regular file")
        }
        XCTAssertNotNil(inputError { _ = try MergedRun(paths: [dir + "/part.state"]) })
    }

    // MARK: The crosssim process

    struct Run {
        var status: Int32
        var reason: Process.TerminationReason
        var stderr: String
        var seconds: Double
    }

    /// A running `crosssim` (through bash when `fileSizeBlocks` is given: `ulimit -f` first).
    final class Running {
        let process = Process()
        let stderr: URL
        let started = Date()

        init(_ arguments: [String], directory: String, fileSizeBlocks: Int? = nil) throws {
            guard let executable = crossSimExecutable else {
                throw XCTSkip("the crosssim executable was not found next to the test bundle (build all products first)")
            }
            stderr = URL(fileURLWithPath: directory + "/.stderr-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            if let blocks = fileSizeBlocks {
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = ["-c", "ulimit -f \(blocks); exec \"$0\" \"$@\"", executable.path] + arguments
            } else {
                process.executableURL = executable
                process.arguments = arguments
            }
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: stderr)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var pid: pid_t { process.processIdentifier }

        /// Sends `number` `seconds` after the start; false when the process had already ended.
        @discardableResult
        func signal(_ number: Int32, after seconds: Double) -> Bool {
            usleep(useconds_t(max(0, seconds - Date().timeIntervalSince(started)) * 1e6))
            guard process.isRunning else { return false }
            kill(pid, number)
            return true
        }

        func finish(timeout: Double = 60) -> Run {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning {
                kill(pid, SIGKILL)
                XCTFail("crosssim \(process.arguments ?? []) did not finish within \(timeout) s")
            }
            process.waitUntilExit()
            let text = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: stderr)
            return Run(status: process.terminationStatus, reason: process.terminationReason, stderr: text,
                       seconds: Date().timeIntervalSince(started))
        }
    }

    func crosssim(_ arguments: [String], in directory: String, fileSizeBlocks: Int? = nil) throws -> Run {
        try Running(arguments, directory: directory, fileSizeBlocks: fileSizeBlocks).finish()
    }

    /// Temporary files an output left behind in `directory`.
    func leftovers(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    }

    func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// A small synthetic pair of sets, `x1/` and `x2/` in `directory`.
    func smallSets(in directory: String) throws {
        let run = try crosssim(["synth", "data", "--n", "60", "--dim", "16", "--seed", "3"], in: directory)
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    /// Sets big enough that eval takes a few seconds in a debug build (12000 × 256, shared by
    /// the tests of this class).
    nonisolated(unsafe) static var bigSets: String?
    func bigSets() throws -> String {
        if let dir = Self.bigSets { return dir }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crosssim-faults-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try crosssim(["synth", "data", "--n", "12000", "--dim", "256", "--seed", "7"], in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        Self.bigSets = dir
        return dir
    }

    override class func tearDown() {
        if let dir = bigSets { try? FileManager.default.removeItem(atPath: dir) }
        bigSets = nil
        super.tearDown()
    }

    // MARK: A disk that fills

    /// `ulimit -f 1`: a write past 1 KiB (bash's block) fails with EFBIG, as on a full disk.
    func testFullDiskWhileWritingTheReportExits1AndKeepsThePreviousReport() throws {
        let dir = try temporaryDirectory(self)
        try smallSets(in: dir)
        let previous = Data("the previous report\n".utf8)
        try previous.write(to: URL(fileURLWithPath: dir + "/report.json"))
        func arguments(_ json: String) -> [String] {
            ["eval", "data/x1", "data/x2", "--tau", "0.05", "0.1", "0.2", "--histogram", "--quiet", "--json", json]
        }
        let unlimited = try crosssim(arguments("whole.json"), in: dir)
        XCTAssertEqual(unlimited.status, 0, unlimited.stderr)
        XCTAssertGreaterThan(contents(dir + "/whole.json")?.count ?? 0, 1024, "the report outgrows the limit")
        let run = try crosssim(arguments("report.json"), in: dir, fileSizeBlocks: 1)
        XCTAssertEqual(run.status, 1, "exit code 1 (internal failure): \(run.stderr)")
        XCTAssert(run.stderr.contains("cannot write report.json"), run.stderr)
        XCTAssertEqual(contents(dir + "/report.json"), previous, "the previous report is untouched")
        XCTAssertEqual(try leftovers(dir), [], "no temporary file is left")
    }

    func testFullDiskWhileWritingAStateExits1AndKeepsThePreviousState() throws {
        let dir = try temporaryDirectory(self)
        try smallSets(in: dir)
        let first = try crosssim(["eval", "data/x1", "data/x2", "--part", "0/1", "--state", "part.state", "--quiet"], in: dir)
        XCTAssertEqual(first.status, 0, first.stderr)
        let previous = try XCTUnwrap(contents(dir + "/part.state"))
        XCTAssertGreaterThan(previous.count, 1024, "the state outgrows the limit")
        let run = try crosssim(["eval", "data/x1", "data/x2", "--part", "0/1", "--state", "part.state", "--tau", "0.1", "--quiet"],
                               in: dir, fileSizeBlocks: 1)
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssert(run.stderr.contains("cannot write part.state"), run.stderr)
        XCTAssertEqual(contents(dir + "/part.state"), previous, "the previous state is untouched")
        XCTAssertEqual(try leftovers(dir), [])
        XCTAssertNoThrow(try StateFile.read(from: dir + "/part.state"))
    }

    /// A real full file system (ENOSPC): a 64 KiB tmpfs, filled. Needs root (mount); skipped
    /// elsewhere.
    func testFullFileSystemExits1AndKeepsThePreviousOutputs() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let dir = try temporaryDirectory(self)
        try smallSets(in: dir)
        let full = dir + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        let mount = try runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", full])
        guard mount.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(mount.stderr)") }
        addTeardownBlock { _ = try? runProgram("/bin/umount", [full]) }
        let previous = Data("previous\n".utf8)
        for name in ["report.json", "part.state"] { try previous.write(to: URL(fileURLWithPath: "\(full)/\(name)")) }
        // Fill it to the last byte.
        let fd = open(full + "/filler", O_WRONLY | O_CREAT, 0o644)
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)

        let report = try crosssim(["eval", "data/x1", "data/x2", "--json", "full/report.json", "--quiet"], in: dir)
        XCTAssertEqual(report.status, 1, report.stderr)
        XCTAssert(report.stderr.contains("No space left on device"), report.stderr)
        let state = try crosssim(["eval", "data/x1", "data/x2", "--part", "0/1", "--state", "full/part.state", "--quiet"], in: dir)
        XCTAssertEqual(state.status, 1, state.stderr)
        XCTAssert(state.stderr.contains("cannot write full/part.state"), state.stderr)
        for name in ["report.json", "part.state"] { XCTAssertEqual(contents("\(full)/\(name)"), previous, name) }
        XCTAssertEqual(try leftovers(full), [])
    }

    /// An output named with a single character (Foundation's path functions trapped on it).
    func testOneCharacterOutputNames() throws {
        let dir = try temporaryDirectory(self)
        try smallSets(in: dir)
        let run = try crosssim(["eval", "data/x1", "data/x2", "--json", "r", "--quiet"], in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: XCTUnwrap(contents(dir + "/r"))))
        XCTAssertEqual(try leftovers(dir), [])
    }

    // MARK: Interrupted runs

    /// The first SIGINT or SIGTERM stops the run at its next tile: exit 130, a message, and no
    /// output at all (not even a temporary file), whatever was asked for.
    func interrupt(with signal: Int32, arguments: [String], outputs: [String]) throws {
        let data = try bigSets()
        let dir = try temporaryDirectory(self)
        let previous = Data("previous\n".utf8)
        try previous.write(to: URL(fileURLWithPath: dir + "/existing.json"))
        let running = try Running(["eval", data + "/data/x1", data + "/data/x2", "--uniformity", "--top-k", "20", "--threads", "1",
                                   "--quiet"] + arguments, directory: dir)
        XCTAssertTrue(running.signal(signal, after: 0.5), "the run lasts longer than 0.5 s")
        let run = running.finish()
        XCTAssertEqual(run.reason, .exit, "crosssim exits by itself, not by the signal")
        XCTAssertEqual(run.status, 130, run.stderr)
        XCTAssert(run.stderr.contains("interrupted"), "a message: \(run.stderr)")
        XCTAssertLessThan(run.seconds, 10, "it stops promptly")
        for output in outputs { XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + output), "\(output) was written") }
        XCTAssertEqual(contents(dir + "/existing.json"), previous)
        XCTAssertEqual(try leftovers(dir), [])
    }

    func testSIGINTInTheMiddleOfARunExits130WritingNothing() throws {
        try interrupt(with: SIGINT, arguments: ["--json", "report.json", "--neighbors", "nn"], outputs: ["report.json", "nn"])
    }

    func testSIGTERMInTheMiddleOfARunExits130WritingNothing() throws {
        try interrupt(with: SIGTERM, arguments: ["--part", "0/2", "--state", "part.state"], outputs: ["part.state"])
        try interrupt(with: SIGTERM, arguments: ["--json", "existing.json"], outputs: [])
    }

    /// A second signal ends the process at once (still 130, still nothing written).
    func testSecondSignalExitsAtOnce() throws {
        let data = try bigSets()
        let dir = try temporaryDirectory(self)
        let running = try Running(["eval", data + "/data/x1", data + "/data/x2", "--threads", "1", "--quiet", "--json", "r.json"],
                                  directory: dir)
        running.signal(SIGINT, after: 0.3)
        running.signal(SIGINT, after: 0.35)
        let run = running.finish()
        XCTAssertEqual(run.status, 130, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.json"))
        XCTAssertEqual(try leftovers(dir), [])
    }

    // MARK: kill -9

    /// SIGKILL while reading, while computing, and while each output is being written (the
    /// moment its temporary file appears): each output path holds its previous bytes exactly
    /// or the whole new file, never a part. (A killed process cannot remove its temporary
    /// file; it is hidden, `.NAME.tmp-PID`, and never at the output path.)
    func testKill9AtAnyMomentNeverLeavesAPartialOutput() throws {
        let data = try bigSets()
        let dir = try temporaryDirectory(self)
        let report = dir + "/report.json", state = dir + "/part.state"
        let previousReport = Data("{\"previous\": true}\n".utf8), previousState = Data("previous state\n".utf8)
        let arguments = ["eval", data + "/data/x1", data + "/data/x2", "--top-k", "30", "--quiet",
                         "--state", "part.state", "--json", "report.json"]

        func check(_ moment: String) throws {
            let r = try XCTUnwrap(contents(report)), s = try XCTUnwrap(contents(state))
            if r != previousReport {
                let json = try JSONSerialization.jsonObject(with: r) as? [String: Any]
                XCTAssertEqual(json?["schema"] as? String, "crosssim.report/1", "\(moment): report.json is whole")
            }
            if s != previousState {
                XCTAssertNoThrow(try StateFile.read(from: state), "\(moment): part.state is whole")
            }
            let others = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
                !["report.json", "part.state"].contains($0) && !$0.hasPrefix(".stderr-")
            }
            XCTAssert(others.allSatisfy { $0.hasPrefix(".report.json.tmp-") || $0.hasPrefix(".part.state.tmp-") },
                      "\(moment): only hidden temporary files: \(others)")
            for name in others { try FileManager.default.removeItem(atPath: dir + "/" + name) }
            try previousReport.write(to: URL(fileURLWithPath: report))
            try previousState.write(to: URL(fileURLWithPath: state))
        }

        try previousReport.write(to: URL(fileURLWithPath: report))
        try previousState.write(to: URL(fileURLWithPath: state))
        for seconds in [0.05, 0.4, 1.5] {
            let running = try Running(arguments, directory: dir)
            let killed = running.signal(SIGKILL, after: seconds)
            let run = running.finish()
            if killed { XCTAssertEqual(run.reason, .uncaughtSignal, "killed after \(seconds) s (\(run.stderr))") }
            try check(killed ? "killed after \(seconds) s" : "run that finished within \(seconds) s")
        }
        // While the state is written (its temporary file appears), and right after it is in place
        // (the report, a few kB, is written next): kill at once.
        for moment in ["while writing part.state", "after part.state, at report.json"] {
            let running = try Running(arguments, directory: dir)
            var caught = false
            while running.process.isRunning && !caught {
                let names = try FileManager.default.contentsOfDirectory(atPath: dir)
                caught = moment.hasPrefix("while")
                    ? names.contains { $0.hasPrefix(".part.state.tmp-") }
                    : contents(state) != previousState || names.contains { $0.hasPrefix(".report.json.tmp-") }
                if caught { kill(running.pid, SIGKILL) } else { usleep(200) }
            }
            _ = running.finish()
            try check(caught ? "killed \(moment)" : "a run that ended before it was killed \(moment)")
            XCTAssert(caught, "the kill \(moment) came too late")
        }
    }
}
