import CCrossSimKernels

/// Pass two of the gradient (docs/gradient.md): the engine recomputes each tile of S, the
/// weights turn it into W = dL/dS, and two sgemms fold it into dL/dx1 += W·x2_block and
/// dL/dx2 += Wᵀ·x1_block, with respect to the rows as the tiles see them (normalised under
/// cosine). A row block's x1 gradient belongs to the one worker that runs the block, which adds
/// its tiles in column order; x2's gradient is a sum over row blocks, so each block writes its
/// share of the panel into its slot and the slots are added in row-block order: repeats are
/// bit-identical at any thread count.
final class GradientTiles: TileConsumer, @unchecked Sendable {
    let weights: TileWeights
    /// The evaluation's figures, gathered from the same tiles before they become W, when pass
    /// two is the only pass (SigLIP).
    let figures: ReducerSet?
    let dim: Int
    /// The gradient of the run's x1 rows: global row `firstRow + r` is row r.
    let dx1: Embeddings
    let firstRow: Int
    /// The gradient of every x2 row, summed over the run's rows.
    let dx2: Embeddings
    private let tile: TileShape
    /// Per worker: the tile's W.
    private var scratch: [SharedBuffer<Float>] = []
    /// Per slot: its row block's Wᵀ·x1 over the current panel's columns.
    private var slots: [SharedBuffer<Float>] = []
    private var panel = 0..<0

    /// Accumulates into `dx1` (rows from `firstRow`) and `dx2`, which the caller has zeroed.
    init(weights: TileWeights, figures: ReducerSet?, plan: TilePlan, dx1: Embeddings, firstRow: Int, dx2: Embeddings) {
        precondition(dx1.dim == dx2.dim)
        self.weights = weights
        self.figures = figures
        dim = dx1.dim
        self.dx1 = dx1
        self.firstRow = firstRow
        self.dx2 = dx2
        tile = plan.tile
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) {
        let theirs = figures?.panelBytesPerColumn ?? (worker: 0, slot: 0)
        return (theirs.worker, theirs.slot + dim * MemoryLayout<Float>.stride)
    }

    func prepare(workers: Int, slots count: Int, panelColumns: Int) {
        figures?.prepare(workers: workers, slots: count, panelColumns: panelColumns)
        let tileValues = tile.rows * tile.cols, panelValues = panelColumns * dim
        if scratch.count != workers { scratch = (0..<workers).map { _ in SharedBuffer(uninitializedCount: tileValues) } }
        if slots.count != count || slots.first?.count != panelValues {
            slots = (0..<count).map { _ in SharedBuffer(uninitializedCount: panelValues) }
        }
    }

    func beginPanel(_ columns: Range<Int>) {
        panel = columns
        figures?.beginPanel(columns)
    }

    func consume(_ tile: cs_tile, worker: Int, slot: Int) {
        figures?.consume(tile, worker: worker, slot: slot)
        addGradient(of: tile, worker: worker, slot: slot)
    }

    /// The figures' first pass as the evaluation fuses it, so that the loss is the evaluation's
    /// to the bit; the tile is stored either way, for W.
    func fusion(for tile: cs_tile, worker: Int, slot: Int) -> (epilogue: cs_fused_epilogue, needsTile: Bool)? {
        figures?.fusion(for: tile, worker: worker, slot: slot).map { ($0.epilogue, true) }
    }

    func consumeAfterFusion(_ tile: cs_tile, worker: Int, slot: Int) {
        figures?.consumeAfterFusion(tile, worker: worker, slot: slot)
        addGradient(of: tile, worker: worker, slot: slot)
    }

    private func addGradient(of tile: cs_tile, worker: Int, slot: Int) {
        let (m, n, ld) = (Int(tile.rows), Int(tile.cols), Int(tile.ld))
        let w = scratch[worker].base
        weights.weights(of: tile, into: w, ldw: ld)
        BLAS.multiply(w, transposingA: false, lda: ld, tile.b, ldb: dim, into: dx1.row(Int(tile.row0) - firstRow),
                      m: m, n: dim, k: n, ldc: dim, accumulate: true)
        // Every column of the panel is written once per row block: no clearing between blocks.
        BLAS.multiply(w, transposingA: true, lda: ld, tile.a, ldb: dim,
                      into: slots[slot].base + (Int(tile.col0) - panel.lowerBound) * dim,
                      m: n, n: dim, k: m, ldc: dim, accumulate: false)
    }

    func fold(slot: Int) {
        figures?.fold(slot: slot)
        let from = slots[slot].base, to = dx2.row(panel.lowerBound)
        for v in 0..<(panel.count * dim) { to[v] += from[v] }
    }

    func endPanel() { figures?.endPanel() }
}

/// Runs pass two over x1 rows `rows` (held as rows `held` of `x1`) against the x2 panels that
/// `x2Panels` hands out, as `MainPass` runs the evaluation.
struct GradientPass {
    let plan: TilePlan
    let weights: TileWeights
    var figures: ReducerSet? = nil

    func run(x1: Embeddings, rows: Range<Int>, held: Range<Int>, x2Panels: some ColumnPanels,
             dx1: Embeddings, dx2: Embeddings, control: RunControl) throws {
        let tiles = GradientTiles(weights: weights, figures: figures, plan: plan, dx1: dx1, firstRow: rows.lowerBound, dx2: dx2)
        let engine = TileEngine(plan: plan)
        for _ in 0..<x2Panels.count {
            let (x2, columns) = try x2Panels.next()
            try engine.run(rows: RowPanel(x1, rows: held, firstIndex: rows.lowerBound),
                           columns: RowPanel(x2, rows: 0..<columns.count, firstIndex: columns.lowerBound),
                           consumer: tiles, control: control)
            x2Panels.release()
        }
    }
}

extension Evaluation {
    /// The state of x1 rows `rows` (held as all of `x1`) and, from the same tiles, the gradient
    /// with `weights`, which need no pass before (SigLIP's): the evaluation's figures are
    /// gathered from each tile before it becomes W.
    func stateAndGradient(rows: Range<Int>, weights: TileWeights, dx1: Embeddings, dx2: Embeddings,
                          control: RunControl) throws -> PartialState {
        precondition(x1Rows == rows && !options.uniformity)
        let figures = ReducerSet(rows: rows, x2Rows: x2.rows, positives: positives, options: options, plan: plan, histogramRange: histogramRange)
        try GradientPass(plan: plan, weights: weights, figures: figures)
            .run(x1: x1, rows: rows, held: 0..<rows.count, x2Panels: HeldColumns(x2: x2), dx1: dx1, dx2: dx2, control: control)
        let similaritySum = zip(x1.rowSum(rows: 0..<rows.count), x2.rowSum(rows: 0..<x2.rows)).reduce(0) { $0 + $1.0 * $1.1 }
        return figures.state(positives: positives, similaritySum: similaritySum)
    }
}
