import CCrossSimKernels

/// One figure (or a family sharing a kernel pass) of the main tile pass. It alone knows what it
/// keeps per worker, per slot and in total; `ReducerSet` hands it every strip of every tile and
/// calls its other steps as `PanelSteps` describes them (slots fold in row-block order, so the
/// result depends only on the tile plan). `prepare` comes only when the panel shape changes.
protocol Reducer: PanelSteps {
    /// What it leaves in a part's state.
    associatedtype Section: StateSection
    init(run: ReducerRun)
    func consume(_ strip: Strip, worker: Int, slot: Int)
    /// Sees a stored tile whole before its strips come, where the reducer has not fused it.
    func beginTile(_ tile: Strip, worker: Int)
    /// Under `--gemm own`: sets in `epilogue` the part of its pass over `tile` (a strip of the
    /// whole tile) that cs_gemm_abt_fused does on each micro-tile as it leaves the registers, and
    /// says how much of the pass that is. Its `consume` then skips that part of the tile's strips,
    /// which come marked `fused`.
    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare
    /// The run's result.
    func finish() -> Section
    /// Whether the options ask for this figure (its section's answer).
    static func isAsked(by options: EvaluationOptions) -> Bool
    static var sectionType: any StateSection.Type { get }
}

extension Reducer {
    func fuse(into epilogue: inout cs_fused_epilogue, tile: Strip, worker: Int, slot: Int) -> FusedShare { .none }
    func beginTile(_ tile: Strip, worker: Int) {}
    static func isAsked(by options: EvaluationOptions) -> Bool { Section.isAsked(by: options) }
    static var sectionType: any StateSection.Type { Section.self }
}

/// How much of a reducer's pass over a tile the fused epilogue does: none, part (`consume` does
/// the rest) or the whole (the tile need not be stored for it).
enum FusedShare {
    case none, part, whole
}

/// Rows of a tile that every reducer reads before the next rows' turn, with where they sit.
struct Strip {
    var tile: cs_tile
    /// The first row's offset in the run's rows.
    var row: Int
    /// The first column's offset in the current panel (`tile.col0` is its global index).
    var local: Int
    /// Each column's positive row (global), from the strip's first column on (none in an
    /// unlabelled run, whose reducers never read it).
    var positiveOf: UnsafePointer<Int32>
    /// `positiveOf` where a positive pair falls in the strip, else nil: most strips hold none,
    /// and their kernels skip the positive mask.
    var owners: UnsafePointer<Int32>?
    /// Whether the GEMM's fused epilogue has done the reducer's part (`fuse`) of these rows.
    var fused = false
}

/// What the reducers of one run share: its rows, the tie rule's thresholds, the current panel.
final class ReducerRun: @unchecked Sendable {
    let options: EvaluationOptions
    let rows: Range<Int>
    /// x2's rows, the columns of S.
    let columns: Int
    /// Whether x2's rows are queries too (x2→x1), so that reducers keep state per column:
    /// not under `--queries-only`, where a reducer makes no column state at all, neither
    /// totals nor per-panel lists.
    let keepsColumns: Bool
    let tileColumns: Int
    let histogramRange: (lower: Float, upper: Float)
    let columnThresholds: Thresholds
    let rowThresholds: Thresholds
    fileprivate(set) var panel = 0..<0

    init(rows: Range<Int>, x2Rows: Int, positives: Positives, options: EvaluationOptions, plan: TilePlan,
         histogramRange: (lower: Float, upper: Float)) {
        self.options = options
        self.rows = rows
        columns = x2Rows
        keepsColumns = !options.queriesOnly
        tileColumns = plan.tile.cols
        self.histogramRange = histogramRange
        columnThresholds = Thresholds(exact: positives.similarity, index: positives.positiveOf)
        rowThresholds = Thresholds(exact: Array(positives.rowBest[rows]), index: Array(positives.rowBestColumn[rows]))
    }

    /// Exact thresholds of the tie rule with their Float32 bounds (see `cs_thresholds`).
    struct Thresholds {
        let exact: SharedBuffer<Double>
        let lower: SharedBuffer<Float>
        let upper: SharedBuffer<Float>
        let index: SharedBuffer<Int32>

        init(exact: [Double], index: [Int32]) {
            self.exact = SharedBuffer(exact)
            self.index = SharedBuffer(index)
            lower = SharedBuffer(repeating: 0, count: exact.count)
            upper = SharedBuffer(repeating: 0, count: exact.count)
            cs_f32_bounds(self.exact.base, exact.count, lower.base, upper.base)
        }

        func at(_ offset: Int) -> cs_thresholds {
            cs_thresholds(exact: exact.base + offset, lower: lower.base + offset, upper: upper.base + offset,
                          index: index.base + offset)
        }
    }
}

/// The consumer of the main pass: cuts each tile into strips and runs every asked reducer on a
/// strip before the next, in registry order.
final class ReducerSet: TileConsumer, @unchecked Sendable {
    let run: ReducerRun
    let reducers: [any Reducer]
    private var shape: (workers: Int, slots: Int, panelColumns: Int)?
    /// Per worker, whether each reducer fused a part of the worker's current tile (row
    /// `worker`, one column per reducer): workers write their own rows at once.
    private var fusedParts = SharedBuffer<Bool>(repeating: false, count: 0)

    init(rows: Range<Int>, x2Rows: Int, positives: Positives, options: EvaluationOptions, plan: TilePlan,
         histogramRange: (lower: Float, upper: Float)) {
        let run = ReducerRun(rows: rows, x2Rows: x2Rows, positives: positives, options: options, plan: plan, histogramRange: histogramRange)
        self.run = run
        reducers = Self.registry.filter { $0.isAsked(by: options) }.map { $0.init(run: run) }
    }

    var panelBytesPerColumn: (worker: Int, slot: Int) {
        reducers.reduce((0, 0)) { ($0.0 + $1.panelBytesPerColumn.worker, $0.1 + $1.panelBytesPerColumn.slot) }
    }

    /// The rank counts and the best-k lists decide near ties on exact similarities, which
    /// equal columns share.
    var readsValueClasses: Bool { true }

    var fusesOnlineFold: Bool { reducers.contains { ($0 as? InfoNCEReducer)?.fusedOnline != nil } }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        guard shape.map({ $0 != (workers, slots, panelColumns) }) ?? true else { return }
        shape = (workers, slots, panelColumns)
        fusedParts = SharedBuffer(repeating: false, count: workers * reducers.count)
        for r in reducers { r.prepare(workers: workers, slots: slots, panelColumns: panelColumns) }
    }

    func beginPanel(_ columns: Range<Int>) {
        run.panel = columns
        for r in reducers { r.beginPanel(columns) }
    }

    /// Rows of a tile that each pass covers before the next pass starts: 64 rows of 2048
    /// columns (512 KiB) stay in L2, so only the first pass reads a strip from memory.
    static let stripBytes = 512 << 10

    func consume(_ tile: cs_tile, worker: Int, slot: Int) {
        consume(tile, worker: worker, slot: slot, fused: nil)
    }

    /// Every reducer's fusable part, or nil when none has one (docs/performance.md, "Own GEMM").
    func fusion(for tile: cs_tile, worker: Int, slot: Int) -> (epilogue: cs_fused_epilogue, needsTile: Bool)? {
        let whole = strip(of: tile, holdsPositives: true)
        var epilogue = cs_fused_epilogue()
        epilogue.positive_of_col = whole.positiveOf
        let shares = reducers.map { $0.fuse(into: &epilogue, tile: whole, worker: worker, slot: slot) }
        for (n, share) in shares.enumerated() { fusedParts[worker * reducers.count + n] = share != .none }
        return shares.contains { $0 != .none } ? (epilogue, shares.contains { $0 != .whole }) : nil
    }

    func consumeAfterFusion(_ tile: cs_tile, worker: Int, slot: Int) {
        consume(tile, worker: worker, slot: slot, fused: fusedParts.base + worker * reducers.count)
    }

    /// A strip as the reducers see it: where it sits in the run and the panel, and its columns'
    /// positives (as owners only where it holds some).
    private func strip(of part: cs_tile, holdsPositives: Bool) -> Strip {
        let c = Int(part.col0)
        let positiveOf = UnsafePointer(run.columnThresholds.index.base + c)
        return Strip(tile: part, row: Int(part.row0) - run.rows.lowerBound, local: c - run.panel.lowerBound,
                     positiveOf: positiveOf, owners: holdsPositives ? positiveOf : nil)
    }

    /// `fused`: per reducer, whether it fused a part of the tile (nil: none did).
    private func consume(_ tile: cs_tile, worker: Int, slot: Int, fused: UnsafePointer<Bool>?) {
        let whole = strip(of: tile, holdsPositives: true)
        for (n, r) in reducers.enumerated() where !(fused?[n] ?? false) { r.beginTile(whole, worker: worker) }
        // An even count keeps cs_count_ranks' row pairs whole.
        let rows = max(2, Self.stripBytes / (4 * Int(max(tile.cols, 1))) & ~1)
        for first in stride(from: 0, to: Int(tile.rows), by: rows) {
            let part = tile.strip(fromRow: first, count: rows)
            var strip = strip(of: part, holdsPositives: holdsPositives(part))
            for (n, r) in reducers.enumerated() {
                strip.fused = fused?[n] ?? false
                r.consume(strip, worker: worker, slot: slot)
            }
        }
    }

    func fold(slot: Int) {
        for r in reducers { r.fold(slot: slot) }
    }

    func endPanel() {
        for r in reducers { r.endPanel() }
    }

    /// Whether a positive pair falls in the tile (never in an unlabelled run).
    func holdsPositives(_ tile: cs_tile) -> Bool {
        guard run.columnThresholds.index.count > 0 else { return false }
        let rows = Int32(tile.row0)..<Int32(tile.row0 + tile.rows)
        return (Int(tile.col0)..<Int(tile.col0 + tile.cols)).contains { rows.contains(run.columnThresholds.index[$0]) }
    }

    /// The part's state: what each reducer holds, with the sums known without a tile pass.
    func state(positives: Positives, similaritySum: Double) -> PartialState {
        var state = PartialState(x1Rows: positives.rowCount.count, x2Rows: run.columns, rows: run.rows, positives: positives,
                                 similaritySum: similaritySum)
        for r in reducers { state.insert(r.finish()) }
        return state
    }
}
