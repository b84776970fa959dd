import CCrossSimKernels
import Dispatch

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

/// Something that folds tiles of S into its reducers. Each worker gets its own index; tiles
/// of one row block always go to the same worker, in column order.
protocol TileConsumer: AnyObject, Sendable {
    func consume(_ tile: cs_tile, worker: Int)
}

/// The block loop: computes S = rows·columnsᵀ tile by tile on all workers, each tile one sgemm
/// into the worker's own scratch, and hands every tile to the consumer while it is in cache.
struct TileEngine {
    let plan: TilePlan

    func run(rows: RowPanel, columns: RowPanel, consumer: some TileConsumer, control: RunControl) throws {
        guard rows.count > 0, columns.count > 0 else { return }
        precondition(rows.dim == columns.dim)
        let rowBlock = plan.rowBlock(for: rows.count)
        let rowBlocks = (rows.count + rowBlock - 1) / rowBlock
        let colBlock = min(plan.tile.cols, columns.count)
        let colBlocks = (columns.count + colBlock - 1) / colBlock
        let workers = min(plan.threads, rowBlocks)
        control.progress?.expect(rowBlocks * colBlocks)
        let cancellation = control.cancellation
        let progress = control.progress
        let timing = control.timing
        try BLAS.withThreads(1) {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rowBlock * colBlock)
                var sgemmNanoseconds: UInt64 = 0, epilogueNanoseconds: UInt64 = 0
                defer {
                    scratch.deallocate()
                    timing?.add(sgemm: sgemmNanoseconds, epilogue: epilogueNanoseconds)
                }
                for block in stride(from: worker, to: rowBlocks, by: workers) {
                    let r0 = block * rowBlock
                    let m = min(rowBlock, rows.count - r0)
                    for c0 in stride(from: 0, to: columns.count, by: colBlock) {
                        if cancellation?.isCancelled == true { return }
                        let n = min(colBlock, columns.count - c0)
                        let start = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                        BLAS.multiplyTransposed(rows.base + r0 * rows.dim, columns.base + c0 * columns.dim,
                                                into: scratch, m: m, n: n, k: rows.dim, ldc: colBlock)
                        let tile = cs_tile(data: scratch, rows: Int64(m), cols: Int64(n), ld: Int64(colBlock),
                                           row0: Int64(rows.firstIndex + r0), col0: Int64(columns.firstIndex + c0))
                        let multiplied = timing == nil ? 0 : DispatchTime.now().uptimeNanoseconds
                        consumer.consume(tile, worker: worker)
                        if timing != nil {
                            sgemmNanoseconds += multiplied - start
                            epilogueNanoseconds += DispatchTime.now().uptimeNanoseconds - multiplied
                        }
                        progress?.complete()
                    }
                }
            }
            try cancellation?.check()
        }
    }
}
