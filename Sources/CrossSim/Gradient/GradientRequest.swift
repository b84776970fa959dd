import Foundation

/// The gradient of a loss between two sets on disk, as `crosssim grad` describes it
/// (docs/gradient.md): the whole run, in memory or under a memory limit, or one part of x1's
/// rows against the column state of an evaluation of every row.
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
    /// Bytes the run may hold; nil holds both sets whole.
    public var memoryLimit: Int?

    public init(x1: String, x2: String, pairs: String? = nil, options: GradientOptions = .init(), part: PartIndex? = nil,
                columns: [String] = [], memoryLimit: Int? = nil) {
        self.x1 = x1
        self.x2 = x2
        self.pairs = pairs
        self.options = options
        self.part = part
        self.columns = columns
        self.memoryLimit = memoryLimit
    }

    /// Reads both sets and the pairs, runs pass one (unless `columns` holds it) and pass two
    /// over the part's rows (or all), writes the gradients of those rows and of every x2 row
    /// (for a part, its rows' share) to `destination`, and returns the loss's report.
    public func run(into destination: GradientDestination, control: RunControl = .init()) throws -> Report {
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
        func inputs(_ identity: InputIdentity) -> Report.Inputs {
            Report.Inputs(x1: Report.SetInfo(set1), x2: Report.SetInfo(set2), pairsPath: self.pairs, positives: set2.rows,
                          similarity: options.similarity, x1WithoutPositive: pairs.x1WithoutPositive, identity: identity)
        }
        /// The evaluation's report (its engine describes the evaluation's pass: pass one, or for
        /// SigLIP in memory the one pass).
        func report(_ state: PartialState, _ inputs: Report.Inputs) -> Report {
            let engine = Report.Engine(plan: plan, seconds: Date().timeIntervalSince(start),
                                       flops: 2 * Double(rows.count) * Double(set2.rows) * Double(set1.dim))
            return Report(state: state, inputs: inputs, options: evaluationOptions, engine: engine)
        }
        func output(_ inputs: Report.Inputs, _ report: Report) throws -> GradientOutput {
            try GradientOutput(destination, header: GradientPartFile.Header(
                part: part ?? .whole, inputs: inputs, options: options, x1Rows: set1.rows, x2Rows: set2.rows, dim: set1.dim,
                rowsLower: rows.lowerBound, rowsUpper: rows.upperBound, report: report.json.rendered(),
                loss: options.loss.value(in: report)!))
        }
        let dx2 = Embeddings(rows: set2.rows, dim: set2.dim)
        dx2.zero()

        if let memoryLimit {
            // Pass two holds x2's gradient and a tile's W per worker besides what an evaluation holds.
            let passTwoBytes = dx2.byteCount + plan.threads * plan.tile.rows * plan.tile.cols * MemoryLayout<Float>.stride
            guard memoryLimit > passTwoBytes else {
                throw InputError("--memory-limit \(ByteSize.text(memoryLimit)) is too small for the gradient: x2's gradient and the "
                                    + "tiles' weights alone take \(ByteSize.text(passTwoBytes))")
            }
            let streaming = try StreamingEvaluation(set1: set1, set2: set2, checkedOptions: evaluationOptions, pairs: pairs, plan: plan,
                                                    memoryLimit: memoryLimit - passTwoBytes)
            let run: Report, weights: TileWeights, identity: InputIdentity
            if columns.isEmpty {
                let state: PartialState
                (state, identity) = try streaming.run(rows: rows, control: control)
                run = report(state, inputs(identity))
                weights = TileWeights(loss: options.loss, state: state, options: evaluationOptions)
            } else {
                // Pass one is in the files; the inputs they name are checked against a reading pass.
                identity = InputIdentity(x1: try SetReader.fingerprints(of: set1, similarity: options.similarity),
                                         x2: try SetReader.fingerprints(of: set2, similarity: options.similarity), pairs: pairs)
                let merged = try columnState(inputs: inputs(identity))
                run = merged.report
                weights = TileWeights(loss: options.loss, state: merged.state, options: merged.options)
            }
            let output = try output(inputs(identity), run)
            // Each x1 row held twice: the rows and their gradient.
            let panels = try streaming.panels(rows: rows.count)
            let panel1 = max(1, panels.x1 / 2), panel2 = panels.x2
            // Pass two's tiles (the evaluation counted its own): every x1 panel against every x2 panel.
            let x2Tiles = stride(from: 0, to: set2.rows, by: panel2).reduce(0) { $0 + plan.tileCount(rows: 1, cols: min(panel2, set2.rows - $1)) }
            control.progress?.expect(stride(from: 0, to: rows.count, by: panel1).reduce(0) {
                $0 + plan.rowBlocks(for: min(panel1, rows.count - $1)) * x2Tiles
            })
            let pass = GradientPass(plan: plan, weights: weights)
            let x1Panels = PanelReader(set: set1, rows: rows, panelRows: panel1, similarity: options.similarity, depth: 1)
            let dx1 = Embeddings(rows: panel1, dim: set1.dim)
            for _ in 0..<x1Panels.count {
                let (x1, x1Rows) = try x1Panels.next()
                dx1.zero()
                let x2Panels = PanelReader(set: set2, rows: 0..<set2.rows, panelRows: panel2, similarity: options.similarity)
                try pass.run(x1: x1, rows: x1Rows, held: 0..<x1Rows.count, x2Panels: x2Panels, dx1: dx1, dx2: dx2, control: control)
                x1Panels.release()
                if options.similarity == .cosine { try set1.projectThroughNormalisation(dx1, rows: x1Rows) }
                try output.append(x1: dx1, count: x1Rows.count)
            }
            if options.similarity == .cosine { try set2.projectThroughNormalisation(dx2, rows: 0..<set2.rows) }
            try output.finish(dx2: dx2)
            return run
        }

        control.progress?.expect(plan.tileCount(rows: rows.count, cols: set2.rows))  // pass two's (an evaluation counts its own)
        let (evaluation, identity) = try Evaluation.reading(set1: set1, set2: set2, pairs: pairs, keep: rows,
                                                            options: evaluationOptions, plan: plan)
        let dx1 = Embeddings(rows: rows.count, dim: set1.dim)
        dx1.zero()
        let run: Report
        if columns.isEmpty {
            let state = try evaluation.gradientState(loss: options.loss, rows: rows, dx1: dx1, dx2: dx2, control: control)
            run = report(state, inputs(identity))
        } else {
            let merged = try columnState(inputs: inputs(identity))
            try GradientPass(plan: plan, weights: TileWeights(loss: options.loss, state: merged.state, options: merged.options))
                .run(x1: evaluation.x1, rows: rows, held: 0..<rows.count, x2Panels: HeldColumns(x2: evaluation.x2),
                     dx1: dx1, dx2: dx2, control: control)
            run = merged.report
        }
        let output = try output(inputs(identity), run)
        if options.similarity == .cosine {
            try set1.projectThroughNormalisation(dx1, rows: rows)
            try set2.projectThroughNormalisation(dx2, rows: 0..<set2.rows)
        }
        try output.append(x1: dx1, count: rows.count)
        try output.finish(dx2: dx2)
        return run
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
