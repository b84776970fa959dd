import CCrossSimKernels
import Foundation

/// The evaluation under `--memory-limit` (SPEC §4, issue 5): x1 is held one panel of rows at
/// a time, and for every panel x2 is streamed from its shards in column panels, decoded in
/// the background. Each x1 panel is a part; parts are appended as they finish, so the result
/// is the in-memory run's within SPEC §3 (the tile order of a row's columns is the same).
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

    public init(set1: ShardSet, set2: ShardSet, pairs: Pairs?, options: EvaluationOptions, memoryLimit: Int) throws {
        self.pairs = try InputCheck.pairs(pairs, x1: (set1.rows, set1.dim), x2: (set2.rows, set2.dim), options: options)
        guard !options.uniformity else {
            throw InputError("--uniformity needs both sets in memory: drop --memory-limit or --uniformity")
        }
        self.set1 = set1
        self.set2 = set2
        self.options = options
        self.memoryLimit = memoryLimit
    }

    /// What a run needs besides its panels: the process allowance, per-worker and merged
    /// column state, the positives, and the workers' tile scratch.
    public static func fixedBytes(set1: ShardSet, set2: ShardSet, options: EvaluationOptions) -> Int {
        let plan = TilePlan(tile: options.tile, threads: options.threads)
        // Per column: the totals' counts, best-k lists and log-sum-exp pairs, with room for the
        // merge; the workers' and slots' share is bounded by the panel plan, whatever the threads.
        let perColumn = 2 * (4 + 12 * (options.topK ?? 0) + 16 * options.temperatures.count)
        return baselineBytes + perColumn * set2.rows + 48 * set2.rows + 32 * set1.rows + TilePlan.panelStateBytes
            + plan.threads * plan.tile.rows * plan.tile.cols * 4
    }

    /// Panel sizes (rows of x1 held at once, rows of x2 per streamed panel) that keep a run of
    /// `rows` x1 rows inside the limit: x1 gets one buffer with most of what the fixed part
    /// leaves, x2 two buffers (double buffered) of at least one tile's columns.
    public func panels(rows: Int) throws -> (x1: Int, x2: Int) {
        let plan = TilePlan(tile: options.tile, threads: options.threads)
        let rowBytes = set1.dim * 4
        let fixed = Self.fixedBytes(set1: set1, set2: set2, options: options)
        let left = memoryLimit - fixed
        let x2 = min(set2.rows, max(plan.tile.cols, left / 8 / rowBytes))
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
        let rows = rows ?? 0..<set1.rows
        let (panel1, panel2) = try panels(rows: rows.count)
        let (positives, sumX2, norms) = try positivePass(panelRows: panel1, batchRows: panel2)
        let range = try InputCheck.similarityRange(maxSquaredNorms: norms, options: options)
        let plan = TilePlan(tile: options.tile, threads: options.threads)
        let engine = TileEngine(plan: plan)
        let x2Tiles = stride(from: 0, to: set2.rows, by: panel2).reduce(0) { $0 + plan.tileCount(rows: 1, cols: min(panel2, set2.rows - $1)) }
        control.progress?.expect(stride(from: 0, to: rows.count, by: panel1).reduce(0) {
            $0 + plan.rowBlocks(for: min(panel1, rows.count - $1)) * x2Tiles
        })
        var total: PartialState?
        let x1Panels = PanelReader(set: set1, rows: rows, panelRows: panel1, similarity: options.similarity, depth: 1)
        for _ in 0..<(rows.count + panel1 - 1) / panel1 {
            let (x1, x1Rows) = try x1Panels.next()
            let epilogue = Epilogue(rows: x1Rows, positives: positives, options: options, plan: plan, histogramRange: range)
            let x2Panels = PanelReader(set: set2, rows: 0..<set2.rows, panelRows: panel2, similarity: options.similarity)
            for _ in 0..<(set2.rows + panel2 - 1) / panel2 {
                let (x2, x2Rows) = try x2Panels.next()
                try engine.run(rows: RowPanel(x1, rows: 0..<x1Rows.count, firstIndex: x1Rows.lowerBound),
                               columns: RowPanel(x2, rows: 0..<x2Rows.count, firstIndex: x2Rows.lowerBound),
                               consumer: epilogue, control: control)
                x2Panels.release()
            }
            let sumX1 = x1.rowSum(rows: 0..<x1Rows.count)
            x1Panels.release()
            let part = epilogue.state(positives: positives, similaritySum: zip(sumX1, sumX2).reduce(0) { $0 + $1.0 * $1.1 })
            if total == nil { total = part } else { total!.append(part) }
        }
        return total!
    }

    /// The positive pairs' similarities, Σ_j x2_j and both sets' largest squared norms, in
    /// bounded memory: x1 panel by panel, x2 streamed past each panel (identity pairs need
    /// one pass over both in step).
    func positivePass(panelRows: Int, batchRows: Int) throws -> (Positives, [Double], (Float, Float)) {
        let dim = set1.dim, n1 = set1.rows, n2 = set2.rows
        var similarity = [Double](repeating: 0, count: n2)
        var alignment = 0.0
        var sumX2 = [Double](repeating: 0, count: dim)
        var norm1: Float = 0, norm2: Float = 0
        let x1Panels = PanelReader(set: set1, rows: 0..<n1, panelRows: panelRows, similarity: options.similarity, depth: 1)
        var firstPass = true
        for _ in 0..<(n1 + panelRows - 1) / panelRows {
            let (x1, x1Rows) = try x1Panels.next()
            norm1 = max(norm1, x1.squaredNorms(rows: 0..<x1Rows.count).max() ?? 0)
            // Identity pairs: x2 row j needs x1 row j, so only x1's rows of this panel matter.
            let x2Range = pairs.isIdentity ? x1Rows : 0..<n2
            let x2Panels = PanelReader(set: set2, rows: x2Range, panelRows: batchRows, similarity: options.similarity)
            for _ in 0..<(x2Range.count + batchRows - 1) / batchRows {
                let (x2, x2Rows) = try x2Panels.next()
                if firstPass || pairs.isIdentity {
                    norm2 = max(norm2, x2.squaredNorms(rows: 0..<x2Rows.count).max() ?? 0)
                    for (d, value) in x2.rowSum(rows: 0..<x2Rows.count).enumerated() { sumX2[d] += value }
                }
                for (local, j) in x2Rows.enumerated() {
                    let i = Int(pairs.positiveOf[j])
                    guard x1Rows.contains(i) else { continue }
                    let a = x1.row(i - x1Rows.lowerBound), b = x2.row(local)
                    similarity[j] = cs_dot_f64(a, b, dim)
                    alignment += cs_squared_distance_f64(a, b, dim)
                }
                x2Panels.release()
            }
            firstPass = false
            x1Panels.release()
        }
        return (Positives(positiveOf: pairs.positiveOf, similarity: similarity, alignmentSum: alignment, x1Rows: n1),
                sumX2, (norm1, norm2))
    }
}
