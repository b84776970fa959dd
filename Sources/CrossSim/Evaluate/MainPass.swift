/// The main pass of every evaluation: a panel of x1 rows against all of x2, which comes one
/// panel of columns at a time, into the reducers the options ask for. An in-memory run is one
/// x1 panel against one x2 panel; under `--memory-limit` x2's panels stream from its shards.
struct MainPass {
    let plan: TilePlan
    let options: EvaluationOptions
    let positives: Positives
    /// x2's rows: the columns of S (its labelled ones are `positives`', none under `--queries-only`).
    let x2Rows: Int
    let histogramRange: (lower: Float, upper: Float)
    /// Σ_j x2_j in binary64: with the panel's row sums it gives Σ s without a tile pass.
    let x2Sum: [Double]

    /// The state of x1 rows `rows`, held as rows `held` of `x1`, against the x2 panels that
    /// `x2Panels` hands out (`count` of them, in order).
    func run(x1: Embeddings, rows: Range<Int>, held: Range<Int>, x2Panels: some ColumnPanels,
             control: RunControl) throws -> PartialState {
        let reducers = ReducerSet(rows: rows, x2Rows: x2Rows, positives: positives, options: options, plan: plan, histogramRange: histogramRange)
        let engine = TileEngine(plan: plan)
        var geometry = options.health ? SetGeometry(dim: x1.dim) : nil
        geometry?.add(x1, rows: held, toSet: 1, threads: plan.threads)
        // x2's rows in the same share as these x1 rows are of x1's, so that parts add up.
        let x2Share = PartShare(rows: rows, of: positives.rowCount.count).scaled(to: x2Rows)
        for _ in 0..<x2Panels.count {
            let (x2, columns) = try x2Panels.next()
            let shared = columns.clamped(to: x2Share)
            geometry?.add(x2, rows: (shared.lowerBound - columns.lowerBound)..<(shared.upperBound - columns.lowerBound),
                          toSet: 2, threads: plan.threads)
            try engine.run(rows: RowPanel(x1, rows: held, firstIndex: rows.lowerBound),
                           columns: RowPanel(x2, rows: 0..<columns.count, firstIndex: columns.lowerBound),
                           consumer: reducers, control: control)
            x2Panels.release()
        }
        let similaritySum = zip(x1.rowSum(rows: held), x2Sum).reduce(0) { $0 + $1.0 * $1.1 }
        var state = reducers.state(positives: positives, similaritySum: similaritySum)
        if let geometry { state.insert(geometry) }
        return state
    }
}

/// Where x2's rows come from, a panel at a time.
protocol ColumnPanels {
    var count: Int { get }
    /// The next panel: a matrix whose row 0 is column `columns.lowerBound`.
    func next() throws -> (matrix: Embeddings, rows: Range<Int>)
    /// The caller is done with the panel `next` gave.
    func release()
}

/// All of x2 in memory, as one panel.
struct HeldColumns: ColumnPanels {
    let x2: Embeddings
    var count: Int { 1 }
    func next() -> (matrix: Embeddings, rows: Range<Int>) { (x2, 0..<x2.rows) }
    func release() {}
}

extension PanelReader: ColumnPanels {}
