import CCrossSimKernels
import Dispatch
import Foundation

/// Rows of a matrix in memory, with the global index of the first one. The panel holds its
/// matrix, so that its pointer cannot outlive the rows it points into.
struct RowPanel: Sendable {
    let matrix: Embeddings
    /// The matrix row of the panel's first row.
    let start: Int
    let count: Int
    let dim: Int
    let firstIndex: Int

    init(_ matrix: Embeddings, rows: Range<Int>, firstIndex: Int? = nil) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= matrix.rows, "rows beyond the matrix")
        self.matrix = matrix
        start = rows.lowerBound
        count = rows.count
        dim = matrix.dim
        self.firstIndex = firstIndex ?? rows.lowerBound
    }

    var base: UnsafePointer<Float> { UnsafePointer(matrix.row(start)) }

    var indices: Range<Int> { firstIndex..<(firstIndex + count) }

    /// Upper bounds of the rows' norms, for the tiles' error bounds.
    func norms() -> SharedBuffer<Float> {
        let norms = SharedBuffer<Float>(repeating: 0, count: count)
        let panel = self
        RowChunks.forEach(count) { _, chunk in
            cs_row_norms(panel.base + chunk.lowerBound * panel.dim, chunk.count, panel.dim, norms.base + chunk.lowerBound)
        }
        return norms
    }

    /// For each row, the panel's first row with the same values, bit for bit: the tiles'
    /// `b_class`. Rows are hashed on all cores, grouped by hash and compared within a group, so
    /// this costs a read of the panel and a sort, not the N² compares of a collapsed set's near
    /// ties (docs/definitions.md, Ranks).
    func valueClasses() -> SharedBuffer<Int32> {
        let hashes = SharedBuffer<UInt64>(uninitializedCount: count)
        let panel = self
        let rowBytes = dim * MemoryLayout<Float>.stride
        RowChunks.forEach(count) { _, chunk in
            for r in chunk { hashes[r] = XXH64.hash(UnsafeRawBufferPointer(start: panel.base + r * panel.dim, count: rowBytes)) }
        }
        let order = (0..<count).sorted { (hashes[$0], $0) < (hashes[$1], $1) }
        let classes = SharedBuffer<Int32>(uninitializedCount: count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && hashes[order[end]] == hashes[order[start]] { end += 1 }
            // Rows of one hash in increasing order: each joins the first earlier row equal to it.
            var firsts: [Int] = []
            for row in order[start..<end] {
                let same = firsts.first { memcmp(base + $0 * dim, base + row * dim, rowBytes) == 0 }
                if same == nil { firsts.append(row) }
                classes[row] = Int32(same ?? row)
            }
            start = end
        }
        return classes
    }
}

/// The steps around a tile's consumption, shared by the engine's consumer and the reducers
/// behind it. The engine walks x2 in column panels; inside a panel the tiles of one row block
/// go to one worker, in column order, and into one of the plan's slots: partial sums that the
/// engine hands back to `fold` in row-block order, whichever worker finished first. Sums whose
/// value depends on their order live in slots; counts and best-k lists may stay with the
/// worker until `endPanel`. Worker and slot state covers one panel, so it does not grow with N2.
protocol PanelSteps: AnyObject, Sendable {
    /// Bytes per panel column that each worker and each slot holds.
    var panelBytesPerColumn: (worker: Int, slot: Int) { get }
    /// Sets up state for `workers` workers and `slots` slots over panels of up to `columns`.
    func prepare(workers: Int, slots: Int, panelColumns: Int)
    /// A panel of x2 columns (global indices) starts.
    func beginPanel(_ columns: Range<Int>)
    /// Adds the slot's partial sums to the totals and clears the slot. Called one at a time,
    /// in row-block order.
    func fold(slot: Int)
    /// Every row block of the panel is folded: workers' counts and lists go to the totals.
    func endPanel()
}

extension PanelSteps {
    var panelBytesPerColumn: (worker: Int, slot: Int) { (0, 0) }
    func beginPanel(_ columns: Range<Int>) {}
    func fold(slot: Int) {}
    func endPanel() {}
}

/// Something that folds tiles of S into its reducers.
protocol TileConsumer: PanelSteps {
    /// Whether the consumer reads the tiles' `b_class` (`RowPanel.valueClasses`), which the
    /// engine makes only then (default: no).
    var readsValueClasses: Bool { get }
    func consume(_ tile: cs_tile, worker: Int, slot: Int)
    /// Under `--gemm own`: the first pass that the GEMM can do on each micro-tile while it is in
    /// registers, and whether the tile must still be stored for `consumeAfterFusion`; nil (the
    /// default) when the consumer has no such part.
    func fusion(for tile: cs_tile, worker: Int, slot: Int) -> (epilogue: cs_fused_epilogue, needsTile: Bool)?
    /// What `consume` does, less what the fused epilogue did.
    func consumeAfterFusion(_ tile: cs_tile, worker: Int, slot: Int)
    /// Whether `fusion` holds a τ of the online fold, with which fusing pays with AVX2 too
    /// (`GEMM.fusesEpilogue`; default: no).
    var fusesOnlineFold: Bool { get }
}

extension TileConsumer {
    var readsValueClasses: Bool { false }
    var fusesOnlineFold: Bool { false }
    func fusion(for tile: cs_tile, worker: Int, slot: Int) -> (epilogue: cs_fused_epilogue, needsTile: Bool)? { nil }
    /// Never called: a consumer without `fusion` gets every tile through `consume`.
    func consumeAfterFusion(_ tile: cs_tile, worker: Int, slot: Int) { consume(tile, worker: worker, slot: slot) }
}

/// Hands out row blocks in increasing order to whichever worker asks, each with a free slot,
/// and folds finished blocks' slots in block order. A worker waits only when every slot is
/// held, by blocks running or finished ahead of a slower one.
final class RowBlockQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let blocks: Int
    private var nextBlock = 0
    private var nextToFold = 0
    private var freeSlots: [Int]
    private var finished: [Int: Int] = [:]
    private var abandoned = false

    init(blocks: Int, slots: Int) {
        self.blocks = blocks
        freeSlots = Array((0..<slots).reversed())
    }

    /// The next block and its slot, or nil when none is left (or the run was abandoned).
    func next() -> (block: Int, slot: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while freeSlots.isEmpty && !abandoned && nextBlock < blocks { condition.wait() }
        guard !abandoned, nextBlock < blocks else { return nil }
        nextBlock += 1
        return (nextBlock - 1, freeSlots.removeLast())
    }

    /// Records `block` as done and folds every finished block that is next in order.
    func finish(block: Int, slot: Int, fold: (Int) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        finished[block] = slot
        while let ready = finished.removeValue(forKey: nextToFold) {
            fold(ready)
            freeSlots.append(ready)
            nextToFold += 1
        }
        condition.broadcast()
    }

    /// Stops handing out blocks (a cancelled run) and wakes every waiting worker.
    func abandon() {
        condition.lock()
        abandoned = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The own GEMM's operands packed once for the tiles that share them (`TilePlan.packsOperands`):
/// a panel's column tiles, packed by all workers when the panel starts and read by each,
/// and each worker's row block, packed when the worker takes the block. The product's bits
/// are those of packing in each call (cs_gemm_abt).
final class OperandPacking: @unchecked Sendable {
    private let dim: Int, colBlock: Int, workers: Int
    private let columnTileFloats: Int
    private let columns: SharedBuffer<Float>
    private let rows: [SharedBuffer<Float>]

    init(dim: Int, rowBlock: Int, colBlock: Int, panelColumns: Int, workers: Int) {
        self.dim = dim
        self.colBlock = colBlock
        self.workers = workers
        let columnTileFloats = GEMM.packedFloats(rows: colBlock, dim: dim, CS_GEMM_COLUMNS)
        let rowBlockFloats = GEMM.packedFloats(rows: rowBlock, dim: dim, CS_GEMM_ROWS)
        self.columnTileFloats = columnTileFloats
        columns = SharedBuffer(uninitializedCount: (panelColumns + colBlock - 1) / colBlock * columnTileFloats)
        rows = (0..<workers).map { _ in SharedBuffer(uninitializedCount: rowBlockFloats) }
    }

    /// Packs the column tiles of `panel` (columns of `set`), the workers taking every
    /// `workers`-th tile.
    func packColumns(of set: RowPanel, _ panel: Range<Int>, timing: TileTiming?) {
        let tiles = (panel.count + colBlock - 1) / colBlock
        DispatchQueue.concurrentPerform(iterations: min(workers, tiles)) { worker in
            let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            for tile in stride(from: worker, to: tiles, by: workers) {
                let c0 = panel.lowerBound + tile * colBlock, count = min(colBlock, panel.upperBound - c0)
                mapPagesForWriting(columns.base + tile * columnTileFloats,
                                   byteCount: GEMM.packedFloats(rows: count, dim: dim, CS_GEMM_COLUMNS) * MemoryLayout<Float>.size)
                cs_gemm_pack(set.base + c0 * dim, Int64(count), Int64(dim), CS_GEMM_COLUMNS, columns.base + tile * columnTileFloats)
            }
            timing?.add(sgemm: DispatchTime.now().uptimeNanoseconds - start, epilogue: 0)
        }
    }

    /// Packs `count` rows from `first` as `worker`'s row block.
    func packRows(_ first: UnsafePointer<Float>, count: Int, worker: Int) {
        cs_gemm_pack(first, Int64(count), Int64(dim), CS_GEMM_ROWS, rows[worker].base)
    }

    /// The packed operands of `worker`'s row block against the panel's column tile `tile`.
    func operands(worker: Int, tile: Int) -> cs_gemm_packed {
        cs_gemm_packed(a: UnsafePointer(rows[worker].base), b: UnsafePointer(columns.base + tile * columnTileFloats))
    }
}

/// The block loop: computes S = rows·columnsᵀ tile by tile on all workers, each tile one call
/// of the plan's GEMM into the worker's own scratch, and hands every tile to the consumer. Row
/// blocks go to whichever worker is free, so a core slowed by other work on the machine does
/// fewer of them; the slots keep every sum independent of who did what.
struct TileEngine {
    let plan: TilePlan
    /// Rows and columns index one set (row i is column i) and only the cells above the
    /// diagonal are wanted (docs/dedup.md): a tile starts at the first column right of its first
    /// row's diagonal cell, and a tile with no such column is skipped. The consumer masks the
    /// cells left of the diagonal inside the tiles that cross it.
    var upperTriangle = false

    func run(rows: RowPanel, columns: RowPanel, consumer: some TileConsumer, control: RunControl) throws {
        guard rows.count > 0, columns.count > 0 else { return }
        precondition(rows.dim == columns.dim)
        let rowBlock = plan.rowBlock(for: rows.count)
        let blockRanges = plan.rowBlockRanges(for: rows.count)
        let colBlock = min(plan.tile.cols, columns.count)
        let workers = plan.workers(for: rows.count), slots = plan.slots(for: rows.count)
        let bytes = consumer.panelBytesPerColumn
        let panel = plan.panelColumns(rows: rows.count, columns: columns.count, dim: rows.dim, workerBytes: bytes.worker,
                                      slotBytes: bytes.slot)
        consumer.prepare(workers: workers, slots: slots, panelColumns: panel)
        let rowNorms = rows.norms(), columnNorms = columns.norms()
        let columnClasses = consumer.readsValueClasses ? columns.valueClasses() : nil
        let gamma = cs_dot_error_bound(Int64(rows.dim))
        let scratch = (0..<workers).map { _ in SharedBuffer<Float>(uninitializedCount: rowBlock * colBlock) }
        // A tile of the upper triangle starts at its row's diagonal, not on a packed tile.
        let packing = plan.packsOperands(dim: rows.dim) && !upperTriangle ? OperandPacking(
            dim: rows.dim, rowBlock: rowBlock, colBlock: colBlock, panelColumns: panel, workers: workers) : nil
        let workspaceFloats = packing == nil ? plan.gemm.workspaceFloats(rows: rowBlock, cols: colBlock, dim: rows.dim) : 0
        let workspace = (0..<workers).map { _ in SharedBuffer<Float>(uninitializedCount: workspaceFloats) }
        let gemm = plan.gemm, fuses = gemm == .own && GEMM.fusesEpilogue(withOnlineFold: consumer.fusesOnlineFold)
        let cancellation = control.cancellation
        let progress = control.progress
        let timing = control.timing
        try BLAS.withThreads(1) {
            for p0 in stride(from: 0, to: columns.count, by: panel) {
                let panelColumns = p0..<min(p0 + panel, columns.count)
                consumer.beginPanel((columns.firstIndex + panelColumns.lowerBound)..<(columns.firstIndex + panelColumns.upperBound))
                packing?.packColumns(of: columns, panelColumns, timing: timing)
                let queue = RowBlockQueue(blocks: blockRanges.count, slots: slots)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let scratch = scratch[worker].base
                    let workspace = packing == nil ? workspace[worker].base : nil
                    var sgemmNanoseconds: UInt64 = 0, epilogueNanoseconds: UInt64 = 0
                    defer { timing?.add(sgemm: sgemmNanoseconds, epilogue: epilogueNanoseconds) }
                    while let (block, slot) = queue.next() {
                        let r0 = blockRanges[block].lowerBound
                        let m = blockRanges[block].count
                        if let packing {
                            let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                            packing.packRows(rows.base + r0 * rows.dim, count: m, worker: worker)
                            if timing != nil { sgemmNanoseconds += DispatchTime.now().uptimeNanoseconds - start }
                        }
                        for c0 in stride(from: panelColumns.lowerBound, to: panelColumns.upperBound, by: colBlock) {
                            if cancellation?.isCancelled == true {
                                queue.abandon()
                                return
                            }
                            let end = min(c0 + colBlock, panelColumns.upperBound)
                            let first = upperTriangle ? max(c0, rows.firstIndex + r0 + 1 - columns.firstIndex) : c0
                            guard first < end else {
                                progress?.complete()
                                continue
                            }
                            let n = end - first
                            let a = rows.base + r0 * rows.dim, b = columns.base + first * columns.dim
                            let tile = cs_tile(
                                data: scratch, rows: Int64(m), cols: Int64(n), ld: Int64(colBlock),
                                row0: Int64(rows.firstIndex + r0), col0: Int64(columns.firstIndex + first),
                                a: a, b: b, dim: Int64(rows.dim),
                                a_norms: rowNorms.base + r0, b_norms: columnNorms.base + first, gamma: gamma,
                                b_class: columnClasses.map { $0.base + first })
                            let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                            // The own GEMM does the fusable first pass in its micro-kernel (its
                            // time counts as the GEMM's) and stores the tile only if another pass
                            // still reads it.
                            let fusion = fuses ? consumer.fusion(for: tile, worker: worker, slot: slot) : nil
                            let packed = packing?.operands(worker: worker, tile: (c0 - panelColumns.lowerBound) / colBlock)
                            if let fusion {
                                GEMM.multiplyFused(tile, store: fusion.needsTile, workspace: workspace, packed: packed,
                                                   epilogue: fusion.epilogue)
                            } else {
                                gemm.multiplyTransposed(a, b, into: scratch, m: m, n: n, k: rows.dim, ldc: colBlock, workspace: workspace,
                                                        packed: packed)
                            }
                            let multiplied = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                            if let fusion {
                                if fusion.needsTile { consumer.consumeAfterFusion(tile, worker: worker, slot: slot) }
                            } else {
                                consumer.consume(tile, worker: worker, slot: slot)
                            }
                            if timing != nil {
                                sgemmNanoseconds += multiplied - start
                                epilogueNanoseconds += DispatchTime.now().uptimeNanoseconds - multiplied
                            }
                            progress?.complete()
                        }
                        queue.finish(block: block, slot: slot) { consumer.fold(slot: $0) }
                    }
                }
                try cancellation?.check()
                consumer.endPanel()
            }
        }
    }
}
