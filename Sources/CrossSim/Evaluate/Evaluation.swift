import CCrossSimKernels
import Foundation

/// Which of K equal ranges of x1 rows a part covers (docs/state-format.md), 0-based.
public struct PartIndex: Sendable, Equatable, Codable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw InputError("bad part \(index)/\(count): need 0 ≤ I < K")
        }
        self.index = index
        self.count = count
    }

    /// The whole run as a single part.
    public static let whole = try! PartIndex(index: 0, count: 1)

    /// Parses `I/K`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let k = Int(parts[1]) else {
            throw InputError("bad part '\(text)': expected I/K such as 0/4")
        }
        try self.init(index: i, count: k)
    }

    /// The rows of `total` that this part covers: K ranges as equal as possible.
    public func rows(of total: Int) -> Range<Int> {
        (total * index / count)..<(total * (index + 1) / count)
    }

    public var description: String { "\(index)/\(count)" }

    /// The part an array job runs (docs/state-format.md): `--part I/K` as given; with `--parts K` the index
    /// from Kubernetes' `JOB_COMPLETION_INDEX` (or Slurm's task id); with neither, Slurm's
    /// `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` when set. nil when nothing says.
    public static func resolve(part: String?, parts: Int?, environment: [String: String]) throws -> PartIndex? {
        if let part {
            guard parts == nil else { throw InputError("give --part I/K or --parts K, not both") }
            return try PartIndex(parsing: part)
        }
        func number(_ name: String) throws -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else { throw InputError("\(name)=\(text) is not a number") }
            return value
        }
        if let parts {
            guard let index = try number("JOB_COMPLETION_INDEX") ?? number("SLURM_ARRAY_TASK_ID") else {
                throw InputError("--parts \(parts) needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID in the environment")
            }
            return try PartIndex(index: index, count: parts)
        }
        if let index = try number("SLURM_ARRAY_TASK_ID") {
            guard let count = try number("SLURM_ARRAY_TASK_COUNT") else {
                throw InputError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --parts K")
            }
            return try PartIndex(index: index, count: count)
        }
        return nil
    }
}

/// x1 and x2 in memory with their pairs: evaluates any range of x1 rows against all of x2.
public struct Evaluation: Sendable {
    /// x1's rows `x1Rows`: all of them, unless made for one part of a run.
    public let x1: Embeddings
    public let x2: Embeddings
    public let pairs: Pairs
    public let options: EvaluationOptions
    public let positives: Positives
    let x1Rows: Range<Int>
    let histogramRange: (lower: Float, upper: Float)
    let plan: TilePlan

    /// Checks the options, that the sets and pairs fit together, and computes the positive pairs.
    public init(x1: Embeddings, x2: Embeddings, pairs: Pairs? = nil, options: EvaluationOptions = .init()) throws {
        try options.validate()
        let pairs = try InputCheck.pairs(pairs, x1: (x1.rows, x1.dim), x2: (x2.rows, x2.dim), options: options)
        let (x1, norm1) = try x1.prepared(for: options.similarity, name: "x1")
        let (x2, norm2) = try x2.prepared(for: options.similarity, name: "x2")
        self.init(x1: x1, rows: 0..<x1.rows, x2: x2, pairs: pairs, positives: Positives.compute(x1: x1, x2: x2, pairs: pairs),
                  histogramRange: try InputCheck.similarityRange(maxSquaredNorms: (norm1, norm2), options: options),
                  options: options, plan: TilePlan(options))
    }

    /// Prepared rows `rows` of x1, all of x2, checked pairs and their positives.
    init(x1: Embeddings, rows: Range<Int>, x2: Embeddings, pairs: Pairs, positives: Positives,
         histogramRange: (lower: Float, upper: Float), options: EvaluationOptions, plan: TilePlan) {
        self.x1 = x1
        x1Rows = rows
        self.x2 = x2
        self.pairs = pairs
        self.positives = positives
        self.histogramRange = histogramRange
        self.options = options
        self.plan = plan
    }

    /// Evaluates x1 rows `rows` (default: all it holds) against all of x2.
    public func state(rows: Range<Int>? = nil, control: RunControl = .init()) throws -> PartialState {
        let rows = rows ?? x1Rows
        precondition(x1Rows.contains(rows.lowerBound) && rows.upperBound <= x1Rows.upperBound, "rows x1 does not hold")
        let held = (rows.lowerBound - x1Rows.lowerBound)..<(rows.upperBound - x1Rows.lowerBound)
        let x2Share = PartShare(rows: rows, of: positives.rowCount.count).scaled(to: x2.rows)
        var tiles = plan.tileCount(rows: rows.count, cols: x2.rows)
        if options.uniformity {
            tiles += plan.tileCount(rows: rows.count, cols: x1.rows) + plan.tileCount(rows: x2Share.count, cols: x2.rows)
        }
        control.progress?.expect(tiles)
        let pass = MainPass(plan: plan, options: options, positives: positives, x2Rows: x2.rows, histogramRange: histogramRange,
                            x2Sum: x2.rowSum(rows: 0..<x2.rows))
        var state = try pass.run(x1: x1, rows: rows, held: held, x2Panels: HeldColumns(x2: x2), control: control)
        if options.uniformity {
            precondition(x1Rows == 0..<positives.rowCount.count, "uniformity compares rows with all of x1")
            state.insert(UniformitySums(x1: try Uniformity.run(set: x1, rows: rows, plan: plan, control: control),
                                        x2: try Uniformity.run(set: x2, rows: x2Share, plan: plan, control: control)))
        }
        return state
    }
}

/// The same share of another set's rows as `rows` is of x1's: a part's share of x2 for
/// uniformity.
struct PartShare {
    var rows: Range<Int>
    var total: Int

    init(rows: Range<Int>, of total: Int) {
        self.rows = rows
        self.total = total
    }

    func scaled(to other: Int) -> Range<Int> {
        (rows.lowerBound * other / total)..<(rows.upperBound * other / total)
    }
}
