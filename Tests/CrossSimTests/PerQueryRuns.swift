import CrossSim
import Foundation
import XCTest

/// A run's per-query results as `eval --per-query DIR` writes them (docs/report.md: for each
/// direction D, `D.rank.npy` int64 and `D.infonce.npy` float64 [queries, T]), made up by the
/// tests, and a report whose figures are their means, so that `compare` and `trend` can be
/// tested on their own.
struct PerQueryRun {
    var x1Rows: Int
    var x2Rows: Int
    /// The x1 row of each x2 row; nil for identity pairs.
    var pairs: [Int]?
    var taus: [Double] = [0.05, 0.01]
    var ks: [Int] = [1, 5, 10]
    /// Per direction ("x1_to_x2", "x2_to_x1"): each query's rank (0 without a positive).
    var ranks: [String: [Int]] = [:]
    /// Per direction: [queries × T], row-major (NaN without a positive).
    var infonce: [String: [Double]] = [:]
    var created = "2026-11-20T03:00:00Z"
    var x1Fingerprint = "xxh64:00000000000000a1"
    var x2Fingerprint = "xxh64:00000000000000a2"
    var pairsFingerprint = "xxh64:00000000000000b0"

    static let directions = ["x1_to_x2", "x2_to_x1"]

    /// Ranks and losses of a model: each pair has a difficulty shared by every model (so that
    /// two models' results are paired, as real ones are), plus this model's own noise;
    /// `skill` > 0 makes the model better.
    static func random(x1Rows: Int, pairs: [Int]? = nil, difficulty: [Double], skill: Double, seed: UInt64) -> PerQueryRun {
        var random = TestRandom(seed: seed)
        let x2Rows = pairs?.count ?? x1Rows
        var run = PerQueryRun(x1Rows: x1Rows, x2Rows: x2Rows, pairs: pairs)
        let owner = pairs ?? Array(0..<x1Rows)
        var hasPositive = [Bool](repeating: false, count: x1Rows)
        for i in owner { hasPositive[i] = true }
        for direction in directions {
            let (queries, candidates) = direction == "x1_to_x2" ? (x1Rows, x2Rows) : (x2Rows, x1Rows)
            var ranks: [Int] = [], losses: [Double] = []
            for q in 0..<queries {
                let pair = direction == "x1_to_x2" ? q : owner[q]
                guard direction == "x2_to_x1" || hasPositive[q] else {
                    ranks.append(0)
                    losses += run.taus.map { _ in .nan }
                    continue
                }
                let level = difficulty[pair] - skill + 0.8 * random.gaussian()
                let rank = max(1, min(candidates, Int(exp(1.2 + level).rounded(.down))))
                ranks.append(rank)
                losses += run.taus.map { tau in 0.4 * log(Double(rank)) + 0.05 / tau * (0.2 + 0.1 * random.uniform()) }
            }
            run.ranks[direction] = ranks
            run.infonce[direction] = losses
        }
        return run
    }

    /// The report's figure of one direction, from the per-query values.
    func figures(_ direction: String) -> (recall: [Int: Double], mrr: Double, meanRank: Double, medianRank: Double, infonce: [Double]) {
        let all = ranks[direction]!
        let kept = all.indices.filter { all[$0] > 0 }
        let ranks = kept.map { all[$0] }
        let q = Double(ranks.count)
        let sorted = ranks.sorted()
        let median = sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2])
            : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let infonce = taus.indices.map { t in kept.reduce(0.0) { $0 + self.infonce[direction]![$1 * taus.count + t] } / q }
        return (Dictionary(uniqueKeysWithValues: ks.map { k in (k, Double(ranks.filter { $0 <= k }.count) / q) }),
                ranks.reduce(0.0) { $0 + 1 / Double($1) } / q, Double(ranks.reduce(0, +)) / q, median, infonce)
    }

    /// The report as `eval --json` writes it (the fields compare and trend read, and the
    /// per-query path as given).
    func report(perQueryPath: String?) -> JSONValue {
        func set(_ rows: Int, _ fingerprint: String) -> JSONValue {
            .object([("path", .string("set")), ("rows", .integer(rows)), ("dim", .integer(8)), ("shards", .integer(1)),
                     ("dtype", .string("<f4")), ("fingerprint", .string(fingerprint))])
        }
        let one = figures("x1_to_x2"), two = figures("x2_to_x1")
        func retrieval(_ f: (recall: [Int: Double], mrr: Double, meanRank: Double, medianRank: Double, infonce: [Double]),
                       _ direction: String) -> JSONValue {
            .object([("queries", .integer(ranks[direction]!.filter { $0 > 0 }.count)),
                     ("recall", .object(ks.map { (String($0), .number(f.recall[$0]!)) })),
                     ("mean_rank", .number(f.meanRank)), ("median_rank", .number(f.medianRank)), ("mrr", .number(f.mrr))])
        }
        var fields: [(String, JSONValue)] = [
            ("schema", .string("crosssim.report/1")),
            ("crosssim", .object([("version", .string("0.1.0"))])),
            ("created", .string(created)),
            ("inputs", .object([
                ("x1", set(x1Rows, x1Fingerprint)), ("x2", set(x2Rows, x2Fingerprint)),
                ("pairs", pairs == nil ? .string("identity")
                    : .object([("path", .string("pairs.npy")), ("positives", .integer(x2Rows)), ("fingerprint", .string(pairsFingerprint))])),
                ("similarity", .string("cosine")), ("x1_without_positive", .integer(ranks["x1_to_x2"]!.filter { $0 == 0 }.count)),
            ])),
            ("infonce", .array(taus.indices.map { t in
                .object([("tau", .number(taus[t])), ("x1_to_x2", .number(one.infonce[t])), ("x2_to_x1", .number(two.infonce[t])),
                         ("symmetric", .number((one.infonce[t] + two.infonce[t]) / 2))])
            })),
            ("retrieval", .object([("x1_to_x2", retrieval(one, "x1_to_x2")), ("x2_to_x1", retrieval(two, "x2_to_x1"))])),
        ]
        if let perQueryPath { fields.append(("per_query", .object([("path", .string(perQueryPath))]))) }
        return .object(fields)
    }

    /// What the report says of the per-query results.
    enum PerQueryEntry {
        /// The directory's absolute path.
        case absolute
        /// This text, as a user may have given it on the command line.
        case written(String)
        /// No per_query field.
        case absent
    }

    /// Writes `directory/per-query/*.npy` and `directory/report.json`; returns the report's path.
    @discardableResult
    func write(to directory: String, perQuery entry: PerQueryEntry = .absolute) throws -> String {
        let perQuery = directory + "/per-query"
        try FileManager.default.createDirectory(atPath: perQuery, withIntermediateDirectories: true)
        for direction in Self.directions {
            try TestNPY.write(int64: ranks[direction]!, to: "\(perQuery)/\(direction).rank.npy")
            try TestNPY.write(float64: infonce[direction]!, shape: [ranks[direction]!.count, taus.count],
                              to: "\(perQuery)/\(direction).infonce.npy")
        }
        let path = directory + "/report.json"
        let written: String?
        switch entry {
        case .absolute: written = perQuery
        case .written(let text): written = text
        case .absent: written = nil
        }
        try Data((report(perQueryPath: written).rendered() + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
