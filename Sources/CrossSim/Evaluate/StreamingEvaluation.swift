import Foundation

/// The evaluation under `--memory-limit`. Where x2 fits beside the rows, as in memory. Else
/// first one streaming pass for the positives (x2 held in panels, x1 streamed past them on all
/// cores), then x1's rows one panel at a time, each against x2 streamed from its shards in
/// column panels, decoded in the background. Each x1 panel is a part; parts are appended as
/// they finish, so the result is the in-memory run's within the README's accuracy (a row's
/// columns come in the same tile order).
public struct StreamingEvaluation: Sendable {
    public let set1: ShardSet
    public let set2: ShardSet
    public let pairs: Pairs
    public let options: EvaluationOptions
    public let memoryLimit: Int

    /// Process overhead the plan does not see: runtime, code, the BLAS's packing buffers and
    /// the allocator's slack (measured: a 256 MiB run at N = 65536, D = 768 peaked 19 MiB over
    /// a plan that allowed 64 MiB here).
    static let baselineBytes = 96 << 20

    /// What each core holds while it decodes a piece of a set: a staging buffer, a batch of
    /// rows and a zstd context (see `SetReader`).
    static let readerBytes = 4 << 20

    let plan: TilePlan

    /// Checks the options and that the sets and pairs fit together.
    public init(set1: ShardSet, set2: ShardSet, pairs: Pairs?, options: EvaluationOptions, memoryLimit: Int) throws {
        try options.validate()
        try self.init(set1: set1, set2: set2, checkedOptions: options, pairs: pairs, plan: TilePlan(options), memoryLimit: memoryLimit)
    }

    /// Options a request has checked, with the plan it made from them.
    init(set1: ShardSet, set2: ShardSet, checkedOptions options: EvaluationOptions, pairs: Pairs?, plan: TilePlan,
         memoryLimit: Int) throws {
        self.pairs = try InputCheck.pairs(pairs, x1: (set1.rows, set1.dim), x2: (set2.rows, set2.dim), options: options)
        guard !options.uniformity else {
            throw InputError("--uniformity needs both sets in memory: drop --memory-limit or --uniformity")
        }
        self.set1 = set1
        self.set2 = set2
        self.options = options
        self.plan = plan
        self.memoryLimit = memoryLimit
    }

    /// What a run needs besides its panels: the process allowance, per-worker and merged
    /// column state, the positives, the workers' tile scratch and packing workspace, and the
    /// decoders' buffers.
    public static func fixedBytes(set1: ShardSet, set2: ShardSet, options: EvaluationOptions) -> Int {
        fixedBytes(set1: set1, set2: set2, options: options, plan: TilePlan(options))
    }

    static func fixedBytes(set1: ShardSet, set2: ShardSet, options: EvaluationOptions, plan: TilePlan) -> Int {
        // Per column: what each section keeps of it (what one more column adds to a state),
        // with room for the merge; the workers' and slots' share is bounded by the panel plan,
        // whatever the threads. Per labelled column, its pair, positive and thresholds: under
        // `--queries-only` no column holds anything.
        func shape(columns: Int) -> StateShape {
            StateShape(x1Rows: 1, x2Rows: columns, dim: set1.dim, rows: 0..<0, options: options)
        }
        func stateBytes(columns: Int) -> Double {
            PartialState.sectionTypes(for: options).reduce(0) { $0 + $1.encodedBytes(shape(columns: columns)) }
        }
        let perColumn = 2 * Int(stateBytes(columns: 2) - stateBytes(columns: 1))
        let labelled = shape(columns: set2.rows).labelledColumns
        return baselineBytes + perColumn * set2.rows + 48 * labelled + 32 * set1.rows + TilePlan.panelStateBytes
            + plan.threads * plan.workerScratchBytes(dim: set1.dim) + TilePlan.defaultThreads * readerBytes
    }

    /// This run's fixed bytes.
    var fixedBytes: Int { Self.fixedBytes(set1: set1, set2: set2, options: options, plan: plan) }

    /// Panel sizes (rows of x1 held at once, rows of x2 per streamed panel) that keep a run of
    /// `rows` x1 rows inside the limit.
    public func panels(rows: Int) throws -> (x1: Int, x2: Int) {
        try Self.panels(rows: rows, columns: set2.rows, dim: set1.dim, fixedBytes: fixedBytes, memoryLimit: memoryLimit,
                        tileColumns: plan.tile.cols)
    }

    /// Panel sizes for `rows` rows against `columns` streamed columns of dimension `dim`, with
    /// `fixedBytes` held besides: the rows get one buffer with most of what the fixed part leaves,
    /// the columns two buffers (double buffered) of at least one tile's columns.
    static func panels(rows: Int, columns: Int, dim: Int, fixedBytes fixed: Int, memoryLimit: Int,
                       tileColumns: Int) throws -> (x1: Int, x2: Int) {
        let rowBytes = dim * 4
        let left = memoryLimit - fixed
        let x2 = max(1, min(columns, max(tileColumns, left / 8 / rowBytes)))
        let x1 = min(rows, (left - 2 * x2 * rowBytes) / rowBytes)
        guard left > 0, x1 >= 1 else {
            throw InputError("--memory-limit \(ByteSize.text(memoryLimit)) is too small for these sets: the column state and "
                                + "buffers alone need about \((fixed + (2 * x2 + 1) * rowBytes) >> 20) MiB; give at least "
                                + "\((fixed + (2 * x2 + min(rows, 256)) * rowBytes + (1 << 20) - 1) >> 20) MiB")
        }
        return (x1, x2)
    }

    /// Evaluates x1 rows `rows` against all of x2.
    public func state(rows: Range<Int>? = nil, control: RunControl = .init()) throws -> PartialState {
        try run(rows: rows ?? 0..<set1.rows, control: control).state
    }

    /// The state of x1 rows `rows`, with what identifies the data read.
    func run(rows: Range<Int>, control: RunControl) throws -> (state: PartialState, identity: InputIdentity) {
        // Where x2 fits beside the rows, holding it saves streaming it a second time.
        if fixedBytes + (set2.rows + rows.count) * set2.dim * 4 <= memoryLimit {
            let (evaluation, identity) = try Evaluation.reading(set1: set1, set2: set2, pairs: pairs, keep: rows, options: options,
                                                                plan: plan)
            return (try evaluation.state(rows: rows, control: control), identity)
        }
        let (panel1, panel2) = try panels(rows: rows.count)
        // A part whose rows fit in one panel keeps them from the positive pass.
        let pass = PositivePass(set1: set1, pairs: pairs, similarity: options.similarity, keep: rows.count <= panel1 ? rows : 0..<0)
        let (sumX2, reader2) = try positives(pass, mainPanel: panel2)
        let range = try InputCheck.similarityRange(maxSquaredNorms: (pass.largestSquaredNorm, reader2.largestSquaredNorm), options: options)
        let main = MainPass(plan: plan, options: options, positives: pass.positives(), x2Rows: set2.rows, histogramRange: range, x2Sum: sumX2)
        let x2Tiles = stride(from: 0, to: set2.rows, by: panel2).reduce(0) { $0 + plan.tileCount(rows: 1, cols: min(panel2, set2.rows - $1)) }
        control.progress?.expect(stride(from: 0, to: rows.count, by: panel1).reduce(0) {
            $0 + plan.rowBlocks(for: min(panel1, rows.count - $1)) * x2Tiles
        })
        var total: PartialState?
        let x1Panels = rows.count <= panel1 ? nil : PanelReader(set: set1, rows: rows, panelRows: panel1, similarity: options.similarity, depth: 1)
        for _ in 0..<(x1Panels?.count ?? 1) {
            let (x1, x1Rows) = try x1Panels?.next() ?? (pass.kept, rows)
            let x2Panels = PanelReader(set: set2, rows: 0..<set2.rows, panelRows: panel2, similarity: options.similarity)
            let part = try main.run(x1: x1, rows: x1Rows, held: 0..<x1Rows.count, x2Panels: x2Panels, control: control)
            x1Panels?.release()
            if total == nil { total = part } else { total!.append(part) }
        }
        return (total!, InputIdentity(x1: pass.fingerprints!, x2: reader2.fingerprints!, pairs: pairs))
    }

    /// Runs `pass` over all of x2, read once in panels as large as the limit allows: the more
    /// shards a panel spans, the more cores decode it, and the fewer times x1 streams past
    /// when the pairs' x1 rows do not rise with the column. Returns Σ_j x2_j and x2's reader.
    func positives(_ pass: PositivePass, mainPanel: Int) throws -> (sumX2: [Double], reader: SetReader) {
        let rowBytes = set2.dim * 4
        let left = memoryLimit - fixedBytes - pass.kept.byteCount
        let x2 = Embeddings(rows: min(set2.rows, max(mainPanel, left / rowBytes)), dim: set2.dim)
        let reader = SetReader(set: set2, similarity: options.similarity, fingerprints: true)
        var sum = [Double](repeating: 0, count: set2.dim)
        var start = 0
        while start < set2.rows {
            let end = pass.panelEnd(start: start, count: min(x2.rows, set2.rows - start))
            try reader.read(start..<end, into: (x2, start))
            for (d, value) in x2.rowSum(rows: 0..<end - start).enumerated() { sum[d] += value }
            try pass.add(x2, columns: start..<end)
            start = end
        }
        return (sum, reader)
    }
}
