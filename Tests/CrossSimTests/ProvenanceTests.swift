import CrossSim
import Foundation
import XCTest

/// Provenance in every report (docs/report.md): which build, machine and time made it, and
/// fingerprints of the data it read.
final class ProvenanceTests: XCTestCase {
    func report(_ path: String) throws -> JSONValue { try JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: path))) }

    func synth(_ dir: String, seed: Int, _ extra: [String] = []) throws -> String {
        let run = try runCrossSim(["synth", dir, "--n", "300", "--dim", "16", "--shards", "3", "--seed", String(seed)] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
        return dir
    }

    func eval(_ data: String, _ out: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> JSONValue {
        let run = try runCrossSim(["eval", data + "/x1", data + "/x2", "--json", out, "--quiet"] + extra, environment: environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try report(out)
    }

    /// Values of the reference implementation (python's xxhash 3.x, XXH64).
    func testXXH64MatchesTheReferenceImplementation() {
        XCTAssertEqual(XXH64.hash([]), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
        XCTAssertEqual(XXH64.hash((0..<37).map { UInt8($0) }), 0xD93F_A2DF_EE5C_24C9)
        XCTAssertEqual(XXH64.hash((0..<100).map { UInt8($0) }), 0x6AC1_E580_3216_6597)
        XCTAssertEqual(XXH64.hash((0..<100).map { UInt8($0) }, seed: 12345), 0x028B_A1AE_2DE4_DE27)
        XCTAssertEqual(XXH64.text(0xAB), "xxh64:00000000000000ab")
    }

    func testEveryReportSaysWhichBuildMachineAndTimeMadeIt() throws {
        let dir = try temporaryDirectory(self)
        let data = try synth(dir + "/data", seed: 1)
        let start = Date()
        let json = try eval(data, dir + "/report.json", ["--threads", "3"], environment: ["CROSSSIM_VECTOR_LEVEL": "0"])
        let version = try runCrossSim(["--version"])
        XCTAssertEqual(json["crosssim"]?["version"]?.string, version.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(json["crosssim"]?["commit"]?.string, Provenance.commit, "the commit where the build recorded one")
        let created = try XCTUnwrap(json["created"]?.string)
        XCTAssertTrue(created.hasSuffix("Z") && created.count == 20, created)
        let date = try XCTUnwrap(Provenance.date(iso8601: created))
        XCTAssertTrue(date >= start.addingTimeInterval(-1) && date <= Date().addingTimeInterval(1), "\(date) within the run")
        let machine = try XCTUnwrap(json["machine"])
        XCTAssertFalse(machine["cpu"]?.string?.isEmpty ?? true)
        XCTAssertEqual(machine["vector_level"]?.integer, 0)
        XCTAssertEqual(machine["blas"]?.string, json["engine"]?["backend"]?.string)
        XCTAssertEqual(machine["threads"]?.integer, 3)
    }

    /// The fingerprints come from the rows as decoded: the same values in compressed shards
    /// give the same ones, other values other ones; each is XXH64 of the content fingerprints
    /// that a part's state carries. The pairs file gets one; a merged report has the same as
    /// the single run.
    func testFingerprintsIdentifyTheDataNotTheFiles() throws {
        let dir = try temporaryDirectory(self)
        let plain = try eval(try synth(dir + "/plain", seed: 2), dir + "/plain.json")
        let compressed = try eval(try synth(dir + "/zstd", seed: 2, ["--zstd", "1"]), dir + "/zstd.json")
        let other = try eval(try synth(dir + "/other", seed: 3), dir + "/other.json")
        func fingerprint(_ json: JSONValue, _ set: String) -> String? { json["inputs"]?[set]?["fingerprint"]?.string }
        for set in ["x1", "x2"] {
            let value = try XCTUnwrap(fingerprint(plain, set))
            XCTAssertTrue(value.hasPrefix("xxh64:") && value.count == 22 && UInt64(value.dropFirst(6), radix: 16) != nil, value)
            XCTAssertEqual(fingerprint(compressed, set), value, "\(set): the same rows in .npy.zst shards")
            XCTAssertNotEqual(fingerprint(other, set), value, "\(set): other rows")
        }
        XCTAssertEqual(plain["inputs"]?["pairs"]?.string, "identity")

        // Pairs: a file gets a fingerprint, which follows its content.
        let data = dir + "/plain"
        try TestNPY.write(int64: Array(0..<300), to: dir + "/pairs.npy")
        try TestNPY.write(int64: [1, 0] + Array(2..<300), to: dir + "/swapped.npy")
        let paired = try eval(data, dir + "/paired.json", ["--pairs", dir + "/pairs.npy"])
        let swapped = try eval(data, dir + "/swapped.json", ["--pairs", dir + "/swapped.npy"])
        let pairsFingerprint = try XCTUnwrap(paired["inputs"]?["pairs"]?["fingerprint"]?.string)
        XCTAssertTrue(pairsFingerprint.hasPrefix("xxh64:"))
        XCTAssertNotEqual(swapped["inputs"]?["pairs"]?["fingerprint"]?.string, pairsFingerprint)
        XCTAssertEqual(fingerprint(paired, "x1"), fingerprint(plain, "x1"))

        // Parts: the state's shard fingerprints make the report's; the merge has the single run's.
        var states: [String] = []
        for part in 0..<2 {
            let state = dir + "/\(part).state"
            let run = try runCrossSim(["eval", data + "/x1", data + "/x2", "--part", "\(part)/2", "--state", state, "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
            states.append(state)
        }
        let identity = try XCTUnwrap(try StateFile.read(from: states[0]).inputs.identity)
        for (set, shards) in [("x1", identity.x1), ("x2", identity.x2)] {
            XCTAssertEqual(shards.count, 3)
            let bytes = shards.flatMap { shard in withUnsafeBytes(of: shard.fingerprint.value.littleEndian) { Array($0) } }
            XCTAssertEqual(fingerprint(plain, set), XXH64.text(XXH64.hash(bytes)), set)
        }
        let merge = try runCrossSim(["merge"] + states + ["--json", dir + "/merged.json"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let merged = try report(dir + "/merged.json")
        XCTAssertEqual(fingerprint(merged, "x1"), fingerprint(plain, "x1"))
        XCTAssertEqual(fingerprint(merged, "x2"), fingerprint(plain, "x2"))
        XCTAssertNotNil(merged["created"]?.string)
        XCTAssertNotNil(merged["machine"]?["cpu"]?.string)
    }
}
