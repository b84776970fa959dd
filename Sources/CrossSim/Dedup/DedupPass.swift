import Foundation

/// The tiles of one dedup run (docs/dedup.md): SET's rows `rows` against the columns (SET
/// itself above the diagonal, or OTHER), with both sets in memory (the caller's matrices, or
/// read whole from their shards) or, under `--memory-limit`, with the rows held in panels and
/// the columns streamed past each panel from their shards. Pairs go to the consumer's spill
/// either way, in the same cells.
final class DedupPass {
    let plan: TilePlan
    let consumer: ThresholdConsumer
    let rows: Range<Int>
    let similarity: Similarity
    let control: RunControl
    /// The consumer's runs of each row panel, in row order: every pair of a group has a lower
    /// row than every pair of the next.
    private(set) var runGroups: [Range<Int>] = []

    typealias Identities = (set: DedupPartHeader.SetIdentity, other: DedupPartHeader.SetIdentity?)

    init(plan: TilePlan, consumer: ThresholdConsumer, rows: Range<Int>, similarity: Similarity, control: RunControl) {
        self.plan = plan
        self.consumer = consumer
        self.rows = rows
        self.similarity = similarity
        self.control = control
    }

    private var engine: TileEngine { TileEngine(plan: plan, upperTriangle: consumer.upperOnly) }

    /// What a streaming run holds besides its panels: the process allowance, the workers' tile
    /// scratch and cell lists, the slots' pair buffers (their arrays may double once) and the
    /// decoders' buffers.
    static func fixedBytes(plan: TilePlan, dim: Int) -> Int {
        StreamingEvaluation.baselineBytes + plan.threads * plan.workerScratchBytes(dim: dim)
            + plan.threads * ThresholdConsumer.stripCells * 16
            + 2 * plan.threads * 2 * ThresholdConsumer.slotRecords * MemoryLayout<PairRecord>.stride
            + TilePlan.defaultThreads * StreamingEvaluation.readerBytes
    }

    /// Rows `rows` of `x` (checked and prepared) against `other`, or x's own later rows: one
    /// pass of the engine.
    func held(x: Embeddings, other: Embeddings?) throws {
        let columns = other ?? x
        control.progress?.expect(plan.tileCount(rows: rows.count, cols: columns.rows))
        let start = consumer.panelRuns.count
        try engine.run(rows: RowPanel(x, rows: rows), columns: RowPanel(columns, rows: 0..<columns.rows), consumer: consumer,
                       control: control)
        runGroups.append(start..<consumer.panelRuns.count)
    }

    /// Both sets read whole on all cores, then `held`.
    func read(set: ShardSet, other: ShardSet?, paths: (set: String, other: String?)) throws -> Identities {
        let (x, setIdentity) = try Self.read(set, path: paths.set, similarity: similarity)
        let columnSet = try other.map { try Self.read($0, path: paths.other!, similarity: similarity) }
        try held(x: x, other: columnSet?.matrix)
        return (setIdentity, columnSet?.identity)
    }

    /// SET's rows in panels of what the limit allows, each met by the columns it needs (SET from
    /// the panel's first row on, or all of OTHER) streamed in double-buffered panels. The sets'
    /// fingerprints take one reading pass of their own first.
    func streaming(set: ShardSet, other: ShardSet?, paths: (set: String, other: String?), memoryLimit: Int) throws -> Identities {
        let identities = (try Self.identity(set, path: paths.set, similarity: similarity),
                          try other.map { try Self.identity($0, path: paths.other!, similarity: similarity) })
        func columns(of panel: Range<Int>) -> Range<Int> { other.map { 0..<$0.rows } ?? panel.lowerBound..<set.rows }
        let panels = try StreamingEvaluation.panels(
            rows: rows.count, columns: other?.rows ?? set.rows, dim: set.dim, fixedBytes: Self.fixedBytes(plan: plan, dim: set.dim),
            memoryLimit: memoryLimit, tileColumns: plan.tile.cols)
        let rowPanels = stride(from: rows.lowerBound, to: rows.upperBound, by: panels.x1).map { $0..<min($0 + panels.x1, rows.upperBound) }
        control.progress?.expect(rowPanels.reduce(0) { total, panel in
            let columns = columns(of: panel)
            return total + stride(from: columns.lowerBound, to: columns.upperBound, by: panels.x2).reduce(0) {
                $0 + plan.tileCount(rows: panel.count, cols: min(panels.x2, columns.upperBound - $1))
            }
        })
        let rowReader = PanelReader(set: set, rows: rows, panelRows: panels.x1, similarity: similarity, depth: 1)
        for _ in rowPanels {
            let (x, xRows) = try rowReader.next()
            let columnReader = PanelReader(set: other ?? set, rows: columns(of: xRows), panelRows: panels.x2, similarity: similarity)
            let start = consumer.panelRuns.count
            for _ in 0..<columnReader.count {
                let (y, yRows) = try columnReader.next()
                try engine.run(rows: RowPanel(x, rows: 0..<xRows.count, firstIndex: xRows.lowerBound),
                               columns: RowPanel(y, rows: 0..<yRows.count, firstIndex: yRows.lowerBound),
                               consumer: consumer, control: control)
                columnReader.release()
            }
            runGroups.append(start..<consumer.panelRuns.count)
            rowReader.release()
        }
        return identities
    }

    /// A whole set in memory, read on all cores, with what identifies it.
    static func read(_ set: ShardSet, path: String, similarity: Similarity)
        throws -> (matrix: Embeddings, identity: DedupPartHeader.SetIdentity) {
        let reader = SetReader(set: set, similarity: similarity, fingerprints: true)
        let matrix = Embeddings(rows: set.rows, dim: set.dim)
        try reader.read(0..<set.rows, into: (matrix, 0))
        matrix.source = set
        return (matrix, identity(of: set, path: path, shards: reader.fingerprints!))
    }

    /// What identifies a set, from a reading pass of its own.
    static func identity(_ set: ShardSet, path: String, similarity: Similarity) throws -> DedupPartHeader.SetIdentity {
        identity(of: set, path: path, shards: try SetReader.fingerprints(of: set, similarity: similarity))
    }

    private static func identity(of set: ShardSet, path: String, shards: [ShardFingerprint]) -> DedupPartHeader.SetIdentity {
        DedupPartHeader.SetIdentity(path: path, rows: set.rows, dim: set.dim, dtype: set.dtype, shards: shards)
    }
}
