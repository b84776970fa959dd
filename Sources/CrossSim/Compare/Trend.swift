import Foundation

/// `crosssim trend REPORT…` (docs/command-line.md): chosen figures over a history of reports,
/// in the order they were made (`created`), with every change of input data between
/// neighbours, so that a jump that new data caused is not read as a change of the model.
public struct Trend: Sendable {
    public struct Point: Sendable {
        public var path: String
        public var created: Date
        /// One per metric; nil where the report lacks the figure.
        public var values: [Double?]
    }

    /// Between `points[after - 1]` and `points[after]`, the inputs named in `sets` changed.
    public struct InputChange: Sendable {
        public var after: Int
        /// "x1", "x2", "pairs".
        public var sets: [String]
    }

    public let metrics: [ReportMetric]
    public let points: [Point]
    public let inputChanges: [InputChange]
    /// What could not be told, one line each (reports without fingerprints).
    public let notes: [String]

    /// `metrics` empty: recall@1 both ways (or the smallest k of the first report) and the
    /// symmetric InfoNCE at the first report's first τ.
    public init(paths: [String], metrics: [ReportMetric] = []) throws {
        guard !paths.isEmpty else { throw InputError("trend needs at least one report") }
        var reports: [(file: ReportFile, created: Date)] = []
        for path in paths {
            let report = try ReportFile(path: path)
            guard let created = report.created else {
                throw InputError("no \"created\" time (a report of a CrossSim before provenance): trend orders reports by it", file: path)
            }
            reports.append((report, created))
        }
        // Stable: reports made in the same second keep the order given.
        reports = reports.enumerated().sorted { ($0.element.created, $0.offset) < ($1.element.created, $1.offset) }.map(\.element)
        let first = reports[0].file
        let chosen = metrics.isEmpty ? Self.defaultMetrics(of: first) : metrics
        for metric in chosen where !reports.contains(where: { $0.file.value(of: metric) != nil }) {
            throw InputError("no report has \(metric)" + (reports.count == 1 ? "" : " (none of the \(reports.count))"), file: first.path)
        }
        var notes: [String] = []
        var changes: [InputChange] = []
        for (i, report) in reports.enumerated() {
            let fingerprints = report.file.fingerprints
            if fingerprints.x1 == nil || fingerprints.x2 == nil {
                notes.append("\(report.file.path) has no input fingerprints: a change of data next to it is marked only where the row counts change")
            }
            guard i > 0 else { continue }
            let sets = Self.changedInputs(reports[i - 1].file, report.file)
            if !sets.isEmpty { changes.append(InputChange(after: i, sets: sets)) }
        }
        self.metrics = chosen
        self.points = reports.map { report in Point(path: report.file.path, created: report.created,
                                                    values: chosen.map { report.file.value(of: $0) }) }
        self.inputChanges = changes
        self.notes = notes
    }

    static func defaultMetrics(of report: ReportFile) -> [ReportMetric] {
        var metrics: [ReportMetric] = []
        for direction in [ReportMetric.Direction.x1ToX2, .x2ToX1] {
            let ks = report.recallKs(direction)
            if let k = ks.contains(1) ? 1 : ks.first { metrics.append(ReportMetric(direction, .recall(k: k))) }
        }
        if let tau = report.temperatures.first { metrics.append(ReportMetric(.symmetric, .infonce(tau: tau))) }
        return metrics
    }

    /// The inputs that differ between two reports: by fingerprint where both have one, by row
    /// count always; pairs also by how they are given.
    static func changedInputs(_ a: ReportFile, _ b: ReportFile) -> [String] {
        let (fa, fb) = (a.fingerprints, b.fingerprints)
        var sets: [String] = []
        func differ(_ x: String?, _ y: String?) -> Bool { x != nil && y != nil && x != y }
        if a.x1Rows != b.x1Rows || differ(fa.x1, fb.x1) { sets.append("x1") }
        if a.x2Rows != b.x2Rows || differ(fa.x2, fb.x2) { sets.append("x2") }
        switch (a.pairs, b.pairs) {
        case (.identity, .identity): break
        case (.file, .file): if differ(fa.pairs, fb.pairs) { sets.append("pairs") }
        default: sets.append("pairs")
        }
        return sets
    }

    /// `created` in UTC, as ISO 8601 to the second.
    public static func text(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    /// The table `trend` prints on stdout: one line per report, and a line where inputs changed.
    public var table: String {
        let header = ["created", "report"] + metrics.map(\.description)
        var rows: [[String]] = []
        var changeLines: [Int: String] = [:]
        for change in inputChanges { changeLines[change.after] = "inputs changed: " + change.sets.joined(separator: ", ") }
        for point in points {
            rows.append([Self.text(point.created), point.path] + point.values.map { $0.map { String(format: "%.4f", $0) } ?? "–" })
        }
        var widths = header.map(\.count)
        for row in rows { for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in c < 2 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) : cell.leftPadded(widths[c]) }
                .joined(separator: "  ")
        }
        var lines = [line(header)]
        for (i, row) in rows.enumerated() {
            if let change = changeLines[i] { lines.append("  -- " + change + " --") }
            lines.append(line(row))
        }
        return lines.joined(separator: "\n")
    }
}
