import Foundation
import XCTest

/// Running the `crosssim` executable (and other programs) from tests, as a user would.

struct ProgramRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The built `crosssim` next to the test bundle (the products directory), or in one of the
/// package's build folders.
let crossSimExecutable: URL? = {
    let bundle = Bundle(for: ProgramRunAnchor.self).bundleURL
    var candidates: [URL] = [
        Bundle.main.bundleURL,                                  // Linux: the products directory
        bundle.deletingLastPathComponent(),                     // macOS: next to the .xctest
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
    ]
    var url = bundle
    for _ in 0..<6 {
        url = url.deletingLastPathComponent()
        candidates += [url, url.appendingPathComponent("debug")]
    }
    let package = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    for scratch in [".build-tests", ".build"] {
        for config in ["debug", "release"] { candidates.append(package.appendingPathComponent("\(scratch)/\(config)")) }
    }
    return candidates.map { $0.appendingPathComponent("crosssim") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()

private final class ProgramRunAnchor {}

/// Runs `executable` with `arguments`; `environment` adds to (or overrides) the test's own.
/// A run that outlives `timeout` seconds is terminated and fails the test.
func runProgram(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line) throws -> ProgramRun {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crosssim-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        process.terminate()
        XCTFail("\(executable) \(arguments) did not finish within \(Int(timeout)) s", file: file, line: line)
    }
    process.waitUntilExit()
    return ProgramRun(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// Runs the built `crosssim`; skips the test where it was not built.
func runCrossSim(_ arguments: [String], environment: [String: String] = [:],
                 file: StaticString = #filePath, line: UInt = #line) throws -> ProgramRun {
    guard let executable = crossSimExecutable else {
        throw XCTSkip("the crosssim executable was not found next to the test bundle (build all products first)")
    }
    return try runProgram(executable.path, arguments, environment: environment, file: file, line: line)
}

/// Every number of report `a` equals `b`'s within docs/accuracy.md (relative 1e-4, which covers
/// τ = 0.01; recall, ranks, query counts and histogram counts exactly), skipping what
/// describes the run rather than its result (`engine` and the provenance: `crosssim`,
/// `created`, `machine`; the values of `inputs`). Reports of other kernel paths (`otherPath`)
/// may differ in a histogram bin by the cells within rounding of its edges: 10⁻⁴ of the bin.
func assertSameResults(_ a: Any, _ b: Any, path: String = "", otherPath: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) {
    let run: Set = ["engine", "crosssim", "created", "machine"]
    switch (a, b) {
    case let (x as [String: Any], y as [String: Any]):
        XCTAssertEqual(Set(x.keys).subtracting(run), Set(y.keys).subtracting(run), "keys of \(path)", file: file, line: line)
        for (key, value) in x where !run.contains(key) && key != "inputs" {
            if let other = y[key] { assertSameResults(value, other, path: path + "/" + key, otherPath: otherPath, file: file, line: line) }
        }
    case let (x as [Any], y as [Any]):
        XCTAssertEqual(x.count, y.count, path, file: file, line: line)
        for (i, (u, v)) in zip(x, y).enumerated() {
            assertSameResults(u, v, path: "\(path)[\(i)]", otherPath: otherPath, file: file, line: line)
        }
    case let (x as NSNumber, y as NSNumber):
        let exact = ["recall", "rank", "queries", "histogram"].contains { path.contains($0) }
        let u = x.doubleValue, v = y.doubleValue
        if otherPath && path.contains("histogram") {
            XCTAssertLessThanOrEqual(abs(u - v), 1e-4 * abs(v), "\(path): \(u) vs \(v)", file: file, line: line)
        } else if exact {
            XCTAssertEqual(u, v, path, file: file, line: line)
        } else {
            XCTAssertLessThanOrEqual(abs(u - v), 1e-4 * max(abs(v), 1e-3), "\(path): \(u) vs \(v)", file: file, line: line)
        }
    default:
        XCTAssertEqual("\(a)", "\(b)", path, file: file, line: line)
    }
}
