import Foundation

/// The gradient of a loss between two sets on disk, as `crosssim grad` describes it
/// (docs/gradient.md): the whole run, or one part of x1's rows against the column state of an
/// evaluation of every row.
public struct GradientRequest: Sendable {
    public var x1: String
    public var x2: String
    public var pairs: String?
    public var options: GradientOptions
    /// Only this range of x1 rows; needs `columns`.
    public var part: PartIndex?
    /// State files of an evaluation of every x1 row with the loss among its figures (one whole
    /// run's, or every part's): pass one, already done.
    public var columns: [String]

    public init(x1: String, x2: String, pairs: String? = nil, options: GradientOptions = .init(), part: PartIndex? = nil,
                columns: [String] = []) {
        self.x1 = x1
        self.x2 = x2
        self.pairs = pairs
        self.options = options
        self.part = part
        self.columns = columns
    }

    /// Reads both sets and the pairs, runs pass one (unless `columns` holds it) and pass two
    /// over the part's rows (or all), and returns the gradients of those rows and of every x2
    /// row (for a part, its rows' share of it).
    public func run(control: RunControl = .init()) throws -> GradientResult {
        try options.validate()
        if part != nil && columns.isEmpty {
            throw InputError("--part needs --columns: a part's gradient needs the column log-sum-exps of every x1 row, "
                                + "from `crosssim eval` (its parts, or one whole run) with --state")
        }
        let evaluationOptions = options.evaluation
        let set1 = try ShardSet.open(x1), set2 = try ShardSet.open(x2)
        let loaded = try self.pairs.map { try Pairs.load(path: $0, x1Rows: set1.rows, x2Rows: set2.rows) }
        let pairs = try InputCheck.pairs(loaded, x1: (set1.rows, set1.dim), x2: (set2.rows, set2.dim), options: evaluationOptions)
        let rows = part?.rows(of: set1.rows) ?? 0..<set1.rows
        let plan = TilePlan(evaluationOptions)
        let start = Date()
        let (evaluation, identity) = try Evaluation.reading(set1: set1, set2: set2, pairs: pairs, keep: rows,
                                                            options: evaluationOptions, plan: plan)
        let inputs = Report.Inputs(x1: Report.SetInfo(set1), x2: Report.SetInfo(set2), pairsPath: self.pairs, positives: set2.rows,
                                   similarity: options.similarity, x1WithoutPositive: pairs.x1WithoutPositive, identity: identity)
        control.progress?.expect(plan.tileCount(rows: rows.count, cols: set2.rows))  // pass two's (an evaluation counts its own)
        let state: PartialState, stateOptions: EvaluationOptions, merged: MergedRun?
        if columns.isEmpty {
            (state, stateOptions, merged) = (try evaluation.state(rows: rows, control: control), evaluationOptions, nil)
        } else {
            let run = try columnState(inputs: inputs)
            (state, stateOptions, merged) = (run.state, run.options, run)
        }
        let dx1 = Embeddings(rows: rows.count, dim: set1.dim), dx2 = Embeddings(rows: set2.rows, dim: set2.dim)
        dx1.zero()
        dx2.zero()
        try GradientPass(plan: plan, weights: TileWeights(loss: options.loss, state: state, options: stateOptions))
            .run(x1: evaluation.x1, rows: rows, held: 0..<rows.count, x2Panels: HeldColumns(x2: evaluation.x2),
                 dx1: dx1, dx2: dx2, control: control)
        if options.similarity == .cosine {
            dx1.projectThroughNormalisation(unit: evaluation.x1, unitRows: 0..<rows.count, norms: try set1.rawNorms(rows: rows))
            dx2.projectThroughNormalisation(unit: evaluation.x2, unitRows: 0..<set2.rows, norms: try set2.rawNorms(rows: 0..<set2.rows))
        }
        let passes = merged == nil ? 4.0 : 3.0  // S in pass one, then S, W·x2 and Wᵀ·x1 in pass two
        let engine = Report.Engine(plan: plan, seconds: Date().timeIntervalSince(start),
                                   flops: passes * 2 * Double(rows.count) * Double(set2.rows) * Double(set1.dim))
        let report = merged?.report ?? Report(state: state, inputs: inputs, options: evaluationOptions, engine: engine)
        return GradientResult(report: report, loss: options.loss.value(in: report)!, inputs: inputs, engine: engine,
                              rows: rows, dx1: dx1, dx2: dx2)
    }

    /// The evaluation in `columns`, checked to be of these inputs and to hold the loss.
    func columnState(inputs: Report.Inputs) throws -> MergedRun {
        let run = try MergedRun(paths: columns)
        let names = columns.joined(separator: ", ")
        guard MergedRun.sameInputs(run.inputs, inputs) else {
            throw InputError("--columns: the state's inputs (shapes, dtypes, pairs or similarity) differ from these", file: names)
        }
        if let difference = MergedRun.difference(run.inputs.identity, inputs.identity, otherName: "these inputs") {
            throw InputError("--columns: the state is of other inputs: \(difference)", file: names)
        }
        guard options.loss.isComputed(by: run.options) else {
            throw InputError("--columns: the state does not hold \(options.loss): give `eval` the same --tau or --siglip", file: names)
        }
        return run
    }
}

/// A gradient run's result: the loss's report (the evaluation's), the gradient of the run's x1
/// rows and of every x2 row (a part's share of it, for a part).
public struct GradientResult: Sendable {
    public var report: Report
    public var loss: Double
    public var inputs: Report.Inputs
    public var engine: Report.Engine
    /// The x1 rows `dx1` holds.
    public var rows: Range<Int>
    public var dx1: Embeddings
    public var dx2: Embeddings

    /// The names of the outputs in a directory (docs/gradient.md).
    public static let x1File = "x1.grad.npy", x2File = "x2.grad.npy", reportFile = "report.json"

    /// Writes `x1.grad.npy`, `x2.grad.npy` (float32, the inputs' shapes) and `report.json` into
    /// `directory`, made if needed.
    public func write(to directory: String) throws {
        precondition(rows == 0..<inputs.x1.rows, "a part writes its state, not the gradients")
        try Self.write(dx1: dx1, dx2: dx2, report: report.json.rendered(), to: directory)
    }

    static func write(dx1: Embeddings, dx2: Embeddings, report: String, to directory: String) throws {
        let matrices = [(x1File, dx1), (x2File, dx2)]
        guard matrices.allSatisfy({ $0.1.buffer.allSatisfy(\.isFinite) }) else {
            throw InternalError("the gradient holds a number that is not finite; nothing was written")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, matrix) in matrices {
            try NPYWriter.write(UnsafeBufferPointer(matrix.buffer), shape: [matrix.rows, matrix.dim], element: .float32,
                                to: (directory as NSString).appendingPathComponent(name))
        }
        try AtomicFile.write(report + "\n", to: (directory as NSString).appendingPathComponent(reportFile))
    }
}
