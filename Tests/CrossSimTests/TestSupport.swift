import CCrossSimKernels
import CrossSim
import Foundation
import XCTest

// Shared helpers of the test suite: fixture paths, seeded test data, tolerance assertions.

enum Fixtures {
    /// `Tests/Fixtures`, found from this source file (works from any working directory).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // CrossSimTests
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// The base matrix M (5 × 3) of the fixtures README: M[i, j] = ((7i + 3j) mod 17 − 8) / 4.
    static let m: [Float] = {
        var values: [Float] = []
        for i in 0..<5 {
            for j in 0..<3 {
                let k: Int = (i * 7 + j * 3) % 17 - 8
                values.append(Float(k) / 4)
            }
        }
        return values
    }()
    /// DIM4 (2 × 4).
    static let dim4: [Float] = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase, _ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("crosssim-tests-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

/// SplitMix64: deterministic test data, independent of the library's own generator.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x2545_F491_4F6C_DD1D &+ 0x1234_5678 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }

    mutating func gaussian() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }

    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

/// A row-major Float32 matrix as the tests build it (raw values, before any normalisation).
struct TestMatrix {
    var rows: Int
    var dim: Int
    var values: [Float]

    func row(_ i: Int) -> ArraySlice<Float> { values[i * dim..<(i + 1) * dim] }

    /// Standard normal entries.
    static func gaussian(rows: Int, dim: Int, seed: UInt64, scale: Double = 1) -> TestMatrix {
        var random = TestRandom(seed: seed)
        return TestMatrix(rows: rows, dim: dim, values: (0..<rows * dim).map { _ in Float(scale * random.gaussian()) })
    }

    /// Row j = source row `owner[j]` + σ·g (structured pairs: x2 = x1 + noise).
    static func noisy(_ source: TestMatrix, owner: [Int], sigma: Double, seed: UInt64) -> TestMatrix {
        var random = TestRandom(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(owner.count * source.dim)
        for i in owner {
            for v in source.row(i) { values.append(Float(Double(v) + sigma * random.gaussian())) }
        }
        return TestMatrix(rows: owner.count, dim: source.dim, values: values)
    }

    /// `rows` points around `clusters` Gaussian centres (shared between sets through `centres`).
    static func clustered(rows: Int, centres: TestMatrix, spread: Double, seed: UInt64) -> TestMatrix {
        var random = TestRandom(seed: seed)
        var values: [Float] = []
        for r in 0..<rows {
            let c = r % centres.rows
            for v in centres.row(c) { values.append(Float(Double(v) + spread * random.gaussian())) }
        }
        return TestMatrix(rows: rows, dim: centres.dim, values: values)
    }

    /// The matrix the engine sees: under cosine every row normalised as the reader does it
    /// (norm in binary64, each value scaled in binary64 and rounded once to Float32).
    func embeddings(_ similarity: Similarity) -> Embeddings {
        guard similarity == .cosine else { return Embeddings(rows: rows, dim: dim, values: values) }
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for i in 0..<rows {
            let r = row(i)
            let norm = r.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let inverse = 1 / norm
            out += r.map { Float(Double($0) * inverse) }
        }
        return Embeddings(rows: rows, dim: dim, values: out)
    }

    /// Writes the raw values as a little-endian float32 .npy v1.0 (a minimal writer of the
    /// tests' own, independent of the library's).
    func writeNPY(to path: String) throws {
        try TestNPY.write(float32: values, shape: [rows, dim], to: path)
    }
}

enum TestNPY {
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        let n = dict.utf8.count
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(dict.utf8)
    }

    static func write(float32 values: [Float], shape: [Int], to path: String) throws {
        var bytes = header(descr: "<f4", shape: shape)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func write(float64 values: [Double], shape: [Int], to path: String) throws {
        var bytes = header(descr: "<f8", shape: shape)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func write(int64 values: [Int], to path: String) throws {
        var bytes = header(descr: "<i8", shape: [values.count])
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Parses a .npy file's descr, shape and raw data (v1.0 / v2.0 headers).
    static func read(_ path: String) throws -> (descr: String, shape: [Int], data: Data) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 10, Array(data.prefix(6)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw InputError("test: not a .npy", file: path)
        }
        let major = data[6]
        let lengthBytes = major == 1 ? 2 : 4
        var length = 0
        for b in data[8..<8 + lengthBytes].reversed() { length = length << 8 | Int(b) }
        let start = 8 + lengthBytes
        let text = String(decoding: data[start..<start + length], as: UTF8.self)
        func field(_ name: String) -> String? {
            guard let r = text.range(of: "'\(name)': ") else { return nil }
            let rest = text[r.upperBound...]
            if rest.first == "'" { return String(rest.dropFirst().prefix { $0 != "'" }) }
            if rest.first == "(" { return String(rest.dropFirst().prefix { $0 != ")" }) }
            return String(rest.prefix { $0 != "," })
        }
        let shape = (field("shape") ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return (field("descr") ?? "", shape, data.subdata(in: start + length..<data.count))
    }
}

// MARK: Tolerances

/// |actual − expected| ≤ max(relative·|expected|, absolute).
func assertClose(_ actual: Double?, _ expected: Double?, relative: Double, absolute: Double = 0,
                 _ what: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
    guard let actual, let expected else {
        XCTAssert(actual == nil && expected == nil,
                  "\(what()): got \(String(describing: actual)), expected \(String(describing: expected))", file: file, line: line)
        return
    }
    let error = abs(actual - expected)
    let bound = max(relative * abs(expected), absolute)
    XCTAssert(actual.isFinite && error <= bound,
              "\(what()): got \(actual), expected \(expected); error \(error) > allowed \(bound)", file: file, line: line)
}

/// docs/accuracy.md: losses within 1e-5 relative for τ ≥ 0.05 and 1e-4 for 0.01 ≤ τ < 0.05.
func lossTolerance(tau: Double) -> Double { tau >= 0.05 ? 1e-5 : 1e-4 }

extension XCTestCase {
    /// Runs `body`, expects an `InputError`, and returns it.
    func inputError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> InputError? {
        do {
            try body()
            XCTFail("expected an InputError, got success", file: file, line: line)
        } catch let error as InputError {
            return error
        } catch {
            XCTFail("expected an InputError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }
}

/// The kernels' vector levels this CPU runs: 0 (baseline) up to the widest.
func reachableVectorLevels() -> [Int] {
    let current = cs_cpu_vector_level()
    defer { _ = cs_use_vector_level(current) }
    return Array(0...Int(cs_use_vector_level(2)))
}
