import Foundation

/// `crosssim compare BASE NEW` (docs/command-line.md): two reports over the same queries,
/// compared query by query from their per-query results. For every metric: base, new, the
/// difference, its paired bootstrap interval and a verdict; per direction, how many queries
/// got a better, worse or the same rank, and those whose rank changed most.
public struct Comparison: Sendable {
    public struct Options: Sendable {
        /// Resamples B.
        public var resamples = 10_000
        /// Confidence C of the percentile interval.
        public var confidence = 0.95
        public var seed: UInt64 = 0
        /// How far beyond 0, in the metric's own units, the whole interval must lie for a
        /// verdict other than `unchanged`.
        public var tolerance = 0.0
        /// Worker threads (default: all cores); the result does not depend on them.
        public var threads: Int?

        public init() {}

        /// Seeds up to 2⁵³ − 1, so that the JSON number holds the seed exactly.
        public static let largestSeed: UInt64 = (1 << 53) - 1

        /// The confidence as a percentage: "95 %", "99.9 %".
        public var confidenceText: String {
            var text = String(format: "%.4f", confidence * 100)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text + " %"
        }

        public func validate() throws {
            guard (1...1_000_000).contains(resamples) else {
                throw InputError("bad --bootstrap \(resamples): the number of resamples is 1 to 1000000")
            }
            guard confidence > 0 && confidence < 1 else { throw InputError("bad --confidence \(confidence): C is between 0 and 1") }
            guard seed <= Self.largestSeed else { throw InputError("bad --seed \(seed): at most \(Self.largestSeed)") }
            guard tolerance >= 0 && tolerance.isFinite else { throw InputError("bad --tolerance \(tolerance): X is ≥ 0") }
            if let threads, !(1...4096).contains(threads) { throw InputError("bad thread count \(threads): 1 to 4096") }
        }
    }

    public enum Verdict: String, Sendable {
        case improved, regressed, unchanged
    }

    public struct Metric: Sendable {
        public var metric: ReportMetric
        public var base: Double
        public var new: Double
        public var difference: Double { new - base }
        /// The percentile interval of the difference.
        public var interval: (lower: Double, upper: Double)
        public var verdict: Verdict
        public var name: String { metric.description }
    }

    /// One direction's queries by how their rank moved.
    public struct RankChanges: Sendable {
        public var better = 0
        public var worse = 0
        public var same = 0
        /// Those whose rank moved most (largest |new − base| first, then by index).
        public var largest: [(index: Int, baseRank: Int, newRank: Int)] = []
    }

    public static let schema = "crosssim.compare/1"
    /// Queries listed per direction in `largest`.
    public static let largestChanges = 20

    public let basePath: String
    public let newPath: String
    public let options: Options
    public let metrics: [Metric]
    public let rankChanges: [(direction: ReportMetric.Direction, changes: RankChanges)]
    /// Queries with a positive, per direction.
    public let queries: (x1ToX2: Int, x2ToX1: Int)
    /// Figures of one report that the other lacks (left out), one line each.
    public let notes: [String]

    public var hasRegression: Bool { metrics.contains { $0.verdict == .regressed } }

    public init(base basePath: String, new newPath: String, options: Options = .init()) throws {
        try self.init(base: ReportFile(path: basePath), new: ReportFile(path: newPath), options: options)
    }

    /// A report's per-query ranks and InfoNCE terms in memory (docs/report.md, "Per-query
    /// results"), in place of the files its `per_query.path` names.
    public struct Columns: Sendable {
        public struct Direction: Sendable {
            /// [queries]: the best positive's rank, 0 for a query without a positive.
            public var rank: [Int64]
            /// [queries × T]: the query's InfoNCE term at each τ of the report, in report order.
            public var infonce: [Double]

            public init(rank: [Int64], infonce: [Double]) {
                self.rank = rank
                self.infonce = infonce
            }
        }

        public var x1ToX2: Direction
        public var x2ToX1: Direction

        public init(x1ToX2: Direction, x2ToX1: Direction) {
            self.x1ToX2 = x1ToX2
            self.x2ToX1 = x2ToX1
        }

        func direction(_ direction: ReportMetric.Direction) -> Direction { direction == .x1ToX2 ? x1ToX2 : x2ToX1 }
    }

    public init(base: ReportFile, new: ReportFile, options: Options = .init()) throws {
        try self.init(base: base, baseColumns: nil, new: new, newColumns: nil, options: options)
    }

    /// Reports whose per-query results are in memory (`baseColumns`, `newColumns`) rather than
    /// in the files their `per_query.path` names (nil: read those).
    public init(base: ReportFile, baseColumns: Columns?, new: ReportFile, newColumns: Columns?, options: Options = .init()) throws {
        try options.validate()
        try Self.checkSameQueries(base, new)
        // Each report's per-query results: in memory, or the directory its per_query.path names.
        func source(_ report: ReportFile, _ columns: Columns?) throws -> (name: String, columns: Columns?) {
            if let columns { return ("\(report.path): per-query columns in memory", columns) }
            return (try Self.perQueryDirectory(of: report), nil)
        }
        let baseSource = try source(base, baseColumns), newSource = try source(new, newColumns)
        let (baseDirectory, newDirectory) = (baseSource.name, newSource.name)
        var notes: [String] = []
        let temperatures = base.temperatures.filter(new.temperatures.contains)
        for (report, other) in [(base, new), (new, base)] {
            for tau in report.temperatures where !other.temperatures.contains(tau) {
                notes.append("infonce@\(JSONValue.number(tau).rendered()) is left out: \(other.path) has no τ = \(JSONValue.number(tau).rendered())")
            }
        }
        let directions: [ReportMetric.Direction] = [.x1ToX2, .x2ToX1]
        var columns: [ReportMetric.Direction: [ReportMetric]] = [:]
        for direction in directions {
            let ks = base.recallKs(direction).filter(new.recallKs(direction).contains)
            for (report, other) in [(base, new), (new, base)] {
                for k in report.recallKs(direction) where !other.recallKs(direction).contains(k) {
                    notes.append("\(direction.rawValue).recall@\(k) is left out: \(other.path) has no recall@\(k)")
                }
            }
            columns[direction] = ks.map { ReportMetric(direction, .recall(k: $0)) }
                + [ReportMetric(direction, .mrr), ReportMetric(direction, .meanRank)]
                + temperatures.map { ReportMetric(direction, .infonce(tau: $0)) }
        }

        // Per direction: both models' per-query results and the queries with a positive.
        var results: [ReportMetric.Direction: (base: PerQueryResults, new: PerQueryResults, queries: [Int])] = [:]
        var rankChanges: [(ReportMetric.Direction, RankChanges)] = []
        for direction in directions {
            let (count, candidates) = direction == .x1ToX2 ? (base.x1Rows, base.x2Rows) : (base.x2Rows, base.x1Rows)
            func load(_ source: (name: String, columns: Columns?), _ report: ReportFile) throws -> PerQueryResults {
                if let columns = source.columns?.direction(direction) {
                    return try PerQueryResults(columns: columns, name: "\(source.name), \(direction.rawValue)", queries: count,
                                               candidates: candidates, temperatures: report.temperatures.count)
                }
                return try PerQueryResults(directory: source.name, direction: direction, queries: count, candidates: candidates,
                                           temperatures: report.temperatures.count)
            }
            let b = try load(baseSource, base), n = try load(newSource, new)
            if let row = b.ranks.indices.first(where: { (b.ranks[$0] == 0) != (n.ranks[$0] == 0) }) {
                throw InputError("\(direction.rawValue) query \(row) has a positive in one report's per-query results and not in the "
                                 + "other's (\(baseDirectory), \(newDirectory)): not the same pairs", file: new.path)
            }
            let queries = b.ranks.indices.filter { b.ranks[$0] > 0 }
            guard !queries.isEmpty else { throw InputError("no \(direction.rawValue) query has a positive", file: base.path) }
            results[direction] = (b, n, queries)
            rankChanges.append((direction, Self.rankChanges(base: b.ranks, new: n.ranks, queries: queries)))
        }

        // The per-query differences, resampled: with identity pairs, query i of both
        // directions is pair i, and the pair is resampled as one; otherwise each direction's
        // queries are resampled on their own. Each column's means over all queries are the
        // base and new figures.
        let bootstrap = PairedBootstrap(resamples: options.resamples, seed: options.seed,
                                        threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let groups: [[ReportMetric.Direction]] = base.pairs == .identity ? [directions] : directions.map { [$0] }
        var figures: [ReportMetric.Direction: [(base: Double, new: Double)]] = [:]
        // Each direction's resampled means: means[resample · width + offset + column].
        var resampled: [ReportMetric.Direction: (means: [Double], offset: Int, width: Int)] = [:]
        for (g, group) in groups.enumerated() {
            let rows = results[group[0]]!.queries.count
            let table = PairedBootstrap.Table(rows: rows, width: group.reduce(0) { $0 + columns[$1]!.count })
            var column = 0
            for direction in group {
                let (b, n, queries) = results[direction]!
                for metric in columns[direction]! {
                    var baseSum = 0.0, newSum = 0.0
                    for (row, q) in queries.enumerated() {
                        let x = Self.term(metric, of: b, base, query: q), y = Self.term(metric, of: n, new, query: q)
                        baseSum += x
                        newSum += y
                        table.set(row: row, column: column, y - x)
                    }
                    figures[direction, default: []].append((baseSum / Double(rows), newSum / Double(rows)))
                    column += 1
                }
                resampled[direction] = ([], column - columns[direction]!.count, table.width)
            }
            let means = bootstrap.means(of: table, stream: groups.count == 1 ? 0 : UInt64(g + 1))
            for direction in group { resampled[direction]!.means = means }
        }
        for direction in directions {
            for (report, directory, side) in [(base, baseDirectory, 0), (new, newDirectory, 1)] {
                try Self.checkAgainstReport(report, directory: directory, metrics: columns[direction]!,
                                            values: figures[direction]!.map { side == 0 ? $0.base : $0.new })
            }
        }
        func distribution(_ direction: ReportMetric.Direction, _ column: Int) -> [Double] {
            let r = resampled[direction]!
            return (0..<options.resamples).map { r.means[$0 * r.width + r.offset + column] }
        }

        var metrics: [Metric] = []
        func add(_ metric: ReportMetric, _ figure: (base: Double, new: Double), _ samples: [Double]) {
            let interval = PairedBootstrap.percentileInterval(samples, confidence: options.confidence)
            metrics.append(Metric(metric: metric, base: figure.base, new: figure.new, interval: interval,
                                  verdict: Self.verdict(interval, lowerIsBetter: metric.lowerIsBetter, tolerance: options.tolerance)))
        }
        for direction in directions {
            for (c, metric) in columns[direction]!.enumerated() { add(metric, figures[direction]![c], distribution(direction, c)) }
        }
        // Symmetric InfoNCE: the mean of both directions' figures, resample by resample.
        for (t, tau) in temperatures.enumerated() {
            let c1 = columns[.x1ToX2]!.count - temperatures.count + t, c2 = columns[.x2ToX1]!.count - temperatures.count + t
            let one = figures[.x1ToX2]![c1], two = figures[.x2ToX1]![c2]
            add(ReportMetric(.symmetric, .infonce(tau: tau)), ((one.base + two.base) / 2, (one.new + two.new) / 2),
                zip(distribution(.x1ToX2, c1), distribution(.x2ToX1, c2)).map { ($0 + $1) / 2 })
        }
        self.basePath = base.path
        self.newPath = new.path
        self.options = options
        self.metrics = metrics
        self.rankChanges = rankChanges
        self.queries = (results[.x1ToX2]!.queries.count, results[.x2ToX1]!.queries.count)
        self.notes = notes
    }

    /// `regressed` when the whole interval lies on the worse side of 0 by more than the
    /// tolerance, `improved` when it lies so on the better side, else `unchanged`.
    package static func verdict(_ interval: (lower: Double, upper: Double), lowerIsBetter: Bool, tolerance: Double) -> Verdict {
        let (betterSide, worseSide) = lowerIsBetter ? (-interval.upper, interval.lower) : (interval.lower, -interval.upper)
        if worseSide > tolerance { return .regressed }
        if betterSide > tolerance { return .improved }
        return .unchanged
    }

    /// Both reports must describe the same queries: the same rows on each side and the same
    /// pairs. The embeddings differ: they come from two models.
    static func checkSameQueries(_ base: ReportFile, _ new: ReportFile) throws {
        func differ(_ reason: String) -> InputError {
            InputError("not the same queries as \(base.path): \(reason)", file: new.path)
        }
        guard base.x1Rows == new.x1Rows else { throw differ("x1 has \(new.x1Rows) rows here, \(base.x1Rows) there") }
        guard base.x2Rows == new.x2Rows else { throw differ("x2 has \(new.x2Rows) rows here, \(base.x2Rows) there") }
        switch (base.pairs, new.pairs) {
        case (.identity, .identity): return
        case (.identity, .file(let path, _)): throw differ("pairs from \(path) here, identity pairs there")
        case (.file(let path, _), .identity): throw differ("identity pairs here, pairs from \(path) there")
        case let (.file(_, baseFingerprint), .file(_, newFingerprint)):
            guard let baseFingerprint, let newFingerprint else {
                let without = baseFingerprint == nil ? base.path : new.path
                throw InputError("cannot tell whether the pairs are the same: \(without) has no pairs fingerprint (a report of a "
                                 + "CrossSim before provenance, or of pairs made in memory)", file: without)
            }
            guard baseFingerprint == newFingerprint else {
                throw differ("the pairs differ (fingerprint \(newFingerprint) here, \(baseFingerprint) there)")
            }
        }
    }

    static func perQueryDirectory(of report: ReportFile) throws -> String {
        guard let directory = report.perQueryDirectory else {
            throw InputError("no per-query results in this report: evaluate with --per-query DIR", file: report.path)
        }
        return directory
    }

    /// A query's term of the mean that is `metric` (a column of the per-query differences).
    static func term(_ metric: ReportMetric, of results: PerQueryResults, _ report: ReportFile, query: Int) -> Double {
        let rank = results.ranks[query]
        switch metric.kind {
        case .recall(let k): return rank <= k ? 1 : 0
        case .mrr: return 1 / Double(rank)
        case .meanRank: return Double(rank)
        case .infonce(let tau): return results.infonce[query * results.temperatures + report.temperatures.firstIndex(of: tau)!]
        case .medianRank, .dcl: preconditionFailure("\(metric) is not a mean of per-query terms")
        }
    }

    /// The per-query columns must give the report's own figures: a directory of another run
    /// (a reused DIR, a relative path found from the wrong place) is refused.
    static func checkAgainstReport(_ report: ReportFile, directory: String, metrics: [ReportMetric], values: [Double]) throws {
        for (metric, mean) in zip(metrics, values) {
            guard let reported = report.value(of: metric) else { continue }
            let relative: Double
            if case .infonce = metric.kind { relative = 1e-6 } else { relative = 1e-9 }
            guard abs(mean - reported) <= relative * abs(reported) + 1e-12 else {
                throw InputError("the per-query results in \(directory) are not this report's: \(metric) is \(mean) in them, "
                                 + "\(reported) in the report", file: report.path)
            }
        }
    }

    static func rankChanges(base: [Int], new: [Int], queries: [Int]) -> RankChanges {
        var changes = RankChanges()
        // The largest moves so far, largest first (then by index): one pass, no sort of all.
        var largest: [(index: Int, baseRank: Int, newRank: Int)] = []
        func precedes(_ a: (index: Int, baseRank: Int, newRank: Int), _ b: (index: Int, baseRank: Int, newRank: Int)) -> Bool {
            let x = abs(a.newRank - a.baseRank), y = abs(b.newRank - b.baseRank)
            return x != y ? x > y : a.index < b.index
        }
        for q in queries {
            if new[q] < base[q] { changes.better += 1 } else if new[q] > base[q] { changes.worse += 1 } else { changes.same += 1 }
            let move = (index: q, baseRank: base[q], newRank: new[q])
            guard new[q] != base[q], largest.count < largestChanges || precedes(move, largest[largest.count - 1]) else { continue }
            largest.insert(move, at: largest.firstIndex { precedes(move, $0) } ?? largest.count)
            if largest.count > largestChanges { largest.removeLast() }
        }
        changes.largest = largest
        return changes
    }
}
