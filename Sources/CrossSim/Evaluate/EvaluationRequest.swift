import Foundation

/// An evaluation of two sets on disk, as the `eval` command describes it.
public struct EvaluationRequest: Sendable {
    public var x1: String
    public var x2: String
    public var pairs: String?
    public var options: EvaluationOptions
    /// Only this range of x1 rows.
    public var part: PartIndex?
    /// Bytes the run may hold; nil loads both sets whole.
    public var memoryLimit: Int?

    public init(x1: String, x2: String, pairs: String? = nil, options: EvaluationOptions = .init(),
                part: PartIndex? = nil, memoryLimit: Int? = nil) {
        self.x1 = x1
        self.x2 = x2
        self.pairs = pairs
        self.options = options
        self.part = part
        self.memoryLimit = memoryLimit
    }

    /// Reads both sets and the pairs, runs the part (or everything), and returns the state
    /// with what the report says of the inputs and the engine.
    public func run(control: RunControl = .init()) throws -> (state: PartialState, inputs: Report.Inputs, engine: Report.Engine) {
        try options.validate()
        let set1 = try ShardSet.open(x1), set2 = try ShardSet.open(x2)
        guard set1.dim == set2.dim else {
            throw InputError("dimension mismatch between sets: x1 has D = \(set1.dim), x2 has D = \(set2.dim)", file: x2)
        }
        let pairs = try self.pairs.map { try Pairs.load(path: $0, x1Rows: set1.rows, x2Rows: set2.rows) }
        let rows = part?.rows(of: set1.rows) ?? 0..<set1.rows
        let start = Date()
        let plan = TilePlan(options)
        let state: PartialState, identity: InputIdentity
        let checkedPairs: Pairs
        if let memoryLimit {
            let streaming = try StreamingEvaluation(set1: set1, set2: set2, checkedOptions: options, pairs: pairs, plan: plan,
                                                    memoryLimit: memoryLimit)
            (state, identity) = try streaming.run(rows: rows, control: control)
            checkedPairs = streaming.pairs
        } else {
            let pairs = try InputCheck.pairs(pairs, x1: (set1.rows, set1.dim), x2: (set2.rows, set2.dim), options: options)
            // Of x1 only the rows evaluated (uniformity compares them with all of x1).
            let evaluation: Evaluation
            (evaluation, identity) = try Evaluation.reading(set1: set1, set2: set2, pairs: pairs,
                                                                keep: options.uniformity ? 0..<set1.rows : rows, options: options,
                                                                plan: plan)
            state = try evaluation.state(rows: rows, control: control)
            checkedPairs = pairs
        }
        let seconds = Date().timeIntervalSince(start)
        var flops = 2 * Double(rows.count) * Double(set2.rows) * Double(set1.dim)
        if options.uniformity {
            flops += 2 * Double(rows.count) * Double(set1.rows) * Double(set1.dim)
            flops += 2 * Double(PartShare(rows: rows, of: set1.rows).scaled(to: set2.rows).count) * Double(set2.rows) * Double(set1.dim)
        }
        let inputs = Report.Inputs(
            x1: Report.SetInfo(set1), x2: Report.SetInfo(set2), pairsPath: self.pairs, positives: checkedPairs.x2Rows,
            similarity: options.similarity, x1WithoutPositive: checkedPairs.x1WithoutPositive, identity: identity)
        let engine = Report.Engine(plan: plan, seconds: seconds, flops: flops)
        return (state, inputs, engine)
    }

    /// The whole evaluation's report.
    public func report(control: RunControl = .init()) throws -> Report {
        precondition(part == nil, "a part gives a state, not a report")
        let (state, inputs, engine) = try run(control: control)
        return Report(state: state, inputs: inputs, options: options, engine: engine)
    }
}

extension Evaluation {
    /// Evaluates all rows of matrices in memory, returning the state (with its top-k lists)
    /// and what the report says of the inputs and the engine.
    public func run(control: RunControl = .init()) throws -> (state: PartialState, inputs: Report.Inputs, engine: Report.Engine) {
        let start = Date()
        let state = try state(control: control)
        let seconds = Date().timeIntervalSince(start)
        let flops = 2 * Double(x1.rows) * Double(x2.rows) * Double(x1.dim)
        return (state, inputs, Report.Engine(plan: plan, seconds: seconds, flops: flops))
    }

    /// The report of all rows of matrices in memory.
    public func report(control: RunControl = .init()) throws -> Report {
        let (state, inputs, engine) = try run(control: control)
        return Report(state: state, inputs: inputs, options: options, engine: engine)
    }

    /// What the report says of matrices in memory.
    var inputs: Report.Inputs {
        Report.Inputs(
            x1: .init(memory: x1, name: "x1"), x2: .init(memory: x2, name: "x2"), pairsPath: pairs.reportName,
            positives: pairs.x2Rows, similarity: options.similarity, x1WithoutPositive: pairs.x1WithoutPositive)
    }
}

extension Report.Engine {
    /// This process's engine, a run of `flops` floating-point operations in `seconds`.
    init(plan: TilePlan, seconds: Double, flops: Double) {
        self.init(backend: plan.gemm.backendName, threads: plan.threads, tile: plan.tile, seconds: seconds,
                  gflops: flops / max(seconds, 1e-9) / 1e9, peakRSSBytes: peakResidentBytes(), cpuSeconds: processCPUSeconds())
    }
}
