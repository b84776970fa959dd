import CCrossSimKernels
import Foundation

/// Which build, on which machine and when, made a report (docs/report.md): a nightly history
/// is comparable only when it can tell which build and which data made each point.
public struct Provenance: Sendable {
    /// CrossSim's version (`crosssim --version`).
    public static let version = "0.1.0"
    /// The commit the library was built from, where the build recorded it
    /// (`swift build -Xcc -DCROSSSIM_COMMIT=$(git rev-parse HEAD)`); SwiftPM gives a package no
    /// other way to learn it at build time.
    public static let commit: String? = cs_build_commit().map { String(cString: $0) }

    public var version: String
    public var commit: String?
    public var created: Date
    public var machine: Machine

    public struct Machine: Sendable {
        /// The CPU's model name as the system reports it.
        public var cpu: String
        /// The vector level CrossSim's kernels run at: 0 baseline, 1 AVX2 + FMA + F16C,
        /// 2 AVX-512.
        public var vectorLevel: Int
        /// The BLAS and, for OpenBLAS, the kernels it uses.
        public var blas: String
    }

    public init(version: String, commit: String?, created: Date, machine: Machine) {
        self.version = version
        self.commit = commit
        self.created = created
        self.machine = machine
    }

    /// This build and this process's machine, now.
    public static func current() -> Provenance {
        Provenance(version: version, commit: commit, created: Date(),
                   machine: Machine(cpu: cpuModel, vectorLevel: Int(cs_cpu_vector_level()), blas: BLAS.name))
    }

    /// `created` as ISO 8601 in UTC, to the second: 2026-11-20T03:00:12Z.
    public var createdText: String { created.formatted(Date.ISO8601FormatStyle()) }

    /// Reads the ISO 8601 form `createdText` writes (fractions of a second allowed).
    public static func date(iso8601 text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle()))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    /// The CPU model: /proc/cpuinfo's "model name" on Linux (its "Hardware" or the
    /// architecture where there is none), sysctl's brand string on Apple's systems.
    static let cpuModel: String = {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for key in ["model name", "Hardware"] {
                for line in text.split(separator: "\n") where line.hasPrefix(key) {
                    if let colon = line.firstIndex(of: ":") {
                        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                        if !value.isEmpty { return value }
                    }
                }
            }
        }
        var name = utsname()
        uname(&name)
        return withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        #elseif canImport(Darwin)
        var size = 0
        guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 else { return "unknown" }
        var bytes = [CChar](repeating: 0, count: size)
        guard sysctlbyname("machdep.cpu.brand_string", &bytes, &size, nil, 0) == 0 else { return "unknown" }
        return String(cString: bytes)
        #else
        return "unknown"
        #endif
    }()
}
