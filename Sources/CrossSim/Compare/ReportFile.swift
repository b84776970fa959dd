#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A report (docs/report.md) read back from its file: what `compare` and `trend` take from it.
/// Anything that is not such a report is an `InputError` naming the file.
public struct ReportFile: Sendable {
    /// The path as given.
    public let path: String
    public let json: JSONValue

    /// How the report's pairs are given.
    public enum PairsSource: Equatable, Sendable {
        case identity
        /// A pairs file, with its fingerprint where the report has one.
        case file(path: String, fingerprint: String?)
    }

    public let x1Rows: Int
    public let x2Rows: Int
    public let pairs: PairsSource
    /// The InfoNCE temperatures, in report order.
    public let temperatures: [Double]

    /// A report is a few kilobytes; a file far larger is something else.
    static let largestReportBytes = 64 << 20

    public init(path: String) throws {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw InputError((info.st_mode & S_IFMT) == S_IFDIR ? "is a directory, expected a report (a .json file)"
                                                                : "not a regular file, expected a report (a .json file)", file: path)
        }
        let file = try FileByteStream(path: path)
        guard try file.size() <= Self.largestReportBytes else {
            throw InputError("not a CrossSim report: far larger than a report", file: path)
        }
        let bytes = try file.readBytes(upTo: Self.largestReportBytes)
        guard bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{"),
              let json = try? JSONValue(parsing: Data(bytes))
        else {
            throw InputError("not a CrossSim report: not a JSON object", file: path)
        }
        try self.init(path: path, json: json)
    }

    public init(path: String, json: JSONValue) throws {
        guard let schema = json["schema"]?.string else {
            throw InputError("not a CrossSim report: no \"schema\" (a report's is \(Report.schema))", file: path)
        }
        guard schema == Report.schema else {
            throw InputError("not a CrossSim report: its schema is \(schema), a report's is \(Report.schema)", file: path)
        }
        guard json["queries_only"] == nil else {
            throw InputError("a --queries-only report holds no labelled figures to compare (only top-k lists were computed)", file: path)
        }
        func missing(_ what: String) -> InputError { InputError("not a CrossSim report: no \(what)", file: path) }
        guard let inputs = json["inputs"], let x1Rows = inputs["x1"]?["rows"]?.integer, let x2Rows = inputs["x2"]?["rows"]?.integer,
              x1Rows > 0, x2Rows > 0
        else { throw missing("inputs.x1.rows and inputs.x2.rows") }
        switch inputs["pairs"] {
        case .string("identity")?: pairs = .identity
        case let pairs? where pairs["path"]?.string != nil:
            self.pairs = .file(path: pairs["path"]!.string!, fingerprint: pairs["fingerprint"]?.string)
        default: throw missing("inputs.pairs")
        }
        guard let infonce = json["infonce"]?.array else { throw missing("infonce") }
        var temperatures: [Double] = []
        for entry in infonce {
            guard let tau = entry["tau"]?.number, tau > 0 else { throw missing("τ in every infonce entry") }
            temperatures.append(tau)
        }
        guard json["retrieval"]?["x1_to_x2"] != nil, json["retrieval"]?["x2_to_x1"] != nil else { throw missing("retrieval") }
        self.path = path
        self.json = json
        self.x1Rows = x1Rows
        self.x2Rows = x2Rows
        self.temperatures = temperatures
    }

    /// When the report was made (`created`); nil in reports of versions before it.
    public var created: Date? { json["created"]?.string.flatMap(Provenance.date(iso8601:)) }

    /// The fingerprints of x1, x2 and the pairs file, where the report has them.
    public var fingerprints: (x1: String?, x2: String?, pairs: String?) {
        let pairs: String?
        if case .file(_, let fingerprint) = self.pairs { pairs = fingerprint } else { pairs = nil }
        return (json["inputs"]?["x1"]?["fingerprint"]?.string, json["inputs"]?["x2"]?["fingerprint"]?.string, pairs)
    }

    /// The k of recall@k in one direction, in report order.
    public func recallKs(_ direction: ReportMetric.Direction) -> [Int] {
        json["retrieval"]?[direction.rawValue]?["recall"]?.object?.compactMap { Int($0.0) }.sorted() ?? []
    }

    /// The directory of the per-query results (`per_query.path`): as written where it is
    /// absolute or found from the working directory, else relative to the report's directory;
    /// nil when the report has none.
    public var perQueryDirectory: String? {
        guard let written = json["per_query"]?["path"]?.string else { return nil }
        if written.hasPrefix("/") || FileManager.default.fileExists(atPath: written) { return written }
        let reportDirectory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
        return reportDirectory + written
    }

    /// The figure `metric` names, where the report has it.
    public func value(of metric: ReportMetric) -> Double? {
        func loss(_ section: String, _ tau: Double) -> Double? {
            guard let index = temperatures.firstIndex(of: tau), let entries = json[section]?.array, index < entries.count else { return nil }
            return entries[index][metric.direction.rawValue]?.number
        }
        let retrieval = json["retrieval"]?[metric.direction.rawValue]
        switch metric.kind {
        case .recall(let k): return retrieval?["recall"]?[String(k)]?.number
        case .mrr: return retrieval?["mrr"]?.number
        case .meanRank: return retrieval?["mean_rank"]?.number
        case .medianRank: return retrieval?["median_rank"]?.number
        case .infonce(let tau): return loss("infonce", tau)
        case .dcl(let tau): return loss("dcl", tau)
        }
    }
}
