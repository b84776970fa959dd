import CCrossSimKernels
import Dispatch
import Foundation

/// Rows of a matrix in memory, with the global index of the first one.
struct RowPanel: @unchecked Sendable {
    var base: UnsafePointer<Float>
    var count: Int
    var dim: Int
    var firstIndex: Int

    init(_ matrix: Embeddings, rows: Range<Int>, firstIndex: Int? = nil) {
        base = UnsafePointer(matrix.row(rows.lowerBound))
        count = rows.count
        dim = matrix.dim
        self.firstIndex = firstIndex ?? rows.lowerBound
    }
}

/// Something that folds tiles of S into its reducers. The tiles of one row block go to one
/// worker, in column order, and into one of the plan's `slots`: partial sums that the engine
/// hands back to `fold` in row-block order, whichever worker finished first. Sums whose value
/// depends on their order live in slots; counts and best-k lists may stay with the worker.
protocol TileConsumer: AnyObject, Sendable {
    func consume(_ tile: cs_tile, worker: Int, slot: Int)
    /// Adds the slot's partial sums over `columns` (global x2 indices) to the totals and clears
    /// the slot. Called one at a time, in row-block order.
    func fold(slot: Int, columns: Range<Int>)
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

/// The block loop: computes S = rows·columnsᵀ tile by tile on all workers, each tile one sgemm
/// into the worker's own scratch, and hands every tile to the consumer while it is in cache.
/// Row blocks go to whichever worker is free, so a core slowed by other work on the machine
/// does fewer of them; the slots keep every sum independent of who did what.
struct TileEngine {
    let plan: TilePlan

    func run(rows: RowPanel, columns: RowPanel, consumer: some TileConsumer, control: RunControl) throws {
        guard rows.count > 0, columns.count > 0 else { return }
        precondition(rows.dim == columns.dim)
        let rowBlock = plan.rowBlock(for: rows.count)
        let rowBlocks = (rows.count + rowBlock - 1) / rowBlock
        let colBlock = min(plan.tile.cols, columns.count)
        let workers = min(plan.threads, rowBlocks)
        let columnRange = columns.firstIndex..<(columns.firstIndex + columns.count)
        control.progress?.expect(rowBlocks * ((columns.count + colBlock - 1) / colBlock))
        let cancellation = control.cancellation
        let progress = control.progress
        let timing = control.timing
        let queue = RowBlockQueue(blocks: rowBlocks, slots: plan.slots)
        try BLAS.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * colBlock)
                var sgemmNanoseconds: UInt64 = 0, epilogueNanoseconds: UInt64 = 0
                defer {
                    scratch.deallocate()
                    timing?.add(sgemm: sgemmNanoseconds, epilogue: epilogueNanoseconds)
                }
                while let next = queue.next() {
                    let (block, slot) = next
                    let r0 = block * rowBlock
                    let m = min(rowBlock, rows.count - r0)
                    for c0 in stride(from: 0, to: columns.count, by: colBlock) {
                        if cancellation?.isCancelled == true {
                            queue.abandon()
                            return
                        }
                        let n = min(colBlock, columns.count - c0)
                        let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                        BLAS.multiplyTransposed(rows.base + r0 * rows.dim, columns.base + c0 * columns.dim,
                                                into: scratch, m: m, n: n, k: rows.dim, ldc: colBlock)
                        let tile = cs_tile(data: scratch, rows: Int64(m), cols: Int64(n), ld: Int64(colBlock),
                                           row0: Int64(rows.firstIndex + r0), col0: Int64(columns.firstIndex + c0))
                        let multiplied = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                        consumer.consume(tile, worker: worker, slot: slot)
                        if timing != nil {
                            sgemmNanoseconds += multiplied - start
                            epilogueNanoseconds += DispatchTime.now().uptimeNanoseconds - multiplied
                        }
                        progress?.complete()
                    }
                    queue.finish(block: block, slot: slot) { consumer.fold(slot: $0, columns: columnRange) }
                }
            }
            try cancellation?.check()
        }
    }
}
