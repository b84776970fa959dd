import CCrossSimKernels
import Foundation

/// A tile's shape: rows of x1 by rows of x2 per sgemm call.
public struct TileShape: Sendable, Equatable, Codable, CustomStringConvertible {
    public var rows: Int
    public var cols: Int

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
    }

    /// The sweep's best on the development VM (2 cores of an AVX-512 Xeon) at D = 384 and 768
    /// (see README, "Speed").
    public static let `default` = TileShape(rows: 1024, cols: 2048)

    /// Parses `ROWSxCOLS`, e.g. `512x1024`.
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r > 0, c > 0, r <= 1 << 16, c <= 1 << 16 else {
            throw InputError("bad tile '\(text)': expected ROWSxCOLS such as 512x1024")
        }
        self.init(rows: r, cols: c)
    }

    public var description: String { "\(rows)x\(cols)" }
}

/// How a block of x1 rows against a block of x2 rows is cut into tiles and dealt to workers.
/// x2 is walked in column panels; inside a panel each row block is done by one worker, and
/// sums over row blocks are folded in block order (see `TileConsumer`). The cut depends on
/// the tile and the row count only, never on the thread count, so every reduction repeats
/// bit for bit on 1 or 256 threads; threads change only who does which block.
struct TilePlan: Sendable {
    var tile: TileShape
    var threads: Int
    var gemm: GEMM

    static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Per-worker and per-slot column state held at once, across all workers: panels are as
    /// wide as this allows (at least one tile), so the state does not grow with the threads.
    static let panelStateBytes = 64 << 20

    init(tile: TileShape?, threads: Int?, gemm: GEMM? = nil) {
        self.tile = tile ?? .default
        self.threads = max(1, threads ?? Self.defaultThreads)
        self.gemm = gemm ?? .default
    }

    /// The plan a run's options ask for: made once where a run starts, then handed down.
    init(_ options: EvaluationOptions) {
        self.init(tile: options.tile, threads: options.threads, gemm: options.gemm)
    }

    /// Whether the engine packs the own GEMM's operands once for all the tiles that share them
    /// (each column panel's tiles of x2 once, shared by the workers; each row block of x1 once
    /// per panel, by its worker) rather than in every tile's call, which packed each column
    /// tile again for every row block. Only where a worker's packed rows take no more than its
    /// tile (D ≤ the tile's columns) and a column tile packed at most half the panel state.
    func packsOperands(dim: Int) -> Bool {
        gemm == .own && dim <= tile.cols && tile.cols * dim * MemoryLayout<Float>.size <= Self.panelStateBytes / 2
    }

    /// What each worker holds while it runs: one tile of Float32 scratch and the GEMM's
    /// packing workspace (none for the BLAS, which keeps its own), or its packed rows where
    /// the engine packs them (whichever is more: a dedup run packs in each call).
    func workerScratchBytes(dim: Int) -> Int {
        let workspace = gemm.workspaceFloats(rows: tile.rows, cols: tile.cols, dim: dim)
        let packedRows = packsOperands(dim: dim) ? GEMM.packedFloats(rows: tile.rows, dim: dim, CS_GEMM_ROWS) : 0
        return (tile.rows * tile.cols + max(workspace, packedRows)) * MemoryLayout<Float>.size
    }

    /// Rows per block: the tile's rows, or fewer when that leaves fewer than 8 blocks, so
    /// that a small part still spreads over the cores (never below 64 rows, where sgemm slows).
    func rowBlock(for rows: Int) -> Int {
        let eighth = ((rows + 7) / 8 + 15) / 16 * 16
        return max(1, min(tile.rows, max(64, eighth)))
    }

    /// The row blocks, in order: `rowBlock(for:)` rows each, but the rows of the last two are
    /// cut in eighths (of at least 64 rows), so that the run's end, where the workers finish
    /// one by one, waits on an eighth of a block rather than a whole one.
    func rowBlockRanges(for rows: Int) -> [Range<Int>] {
        let block = rowBlock(for: rows)
        let eighth = max(64, (block / 8 + 15) / 16 * 16)
        let whole = eighth < block ? max(0, (rows + block - 1) / block - 2) * block : rows
        return stride(from: 0, to: whole, by: block).map { $0..<min($0 + block, rows) }
            + stride(from: whole, to: rows, by: eighth).map { $0..<min($0 + eighth, rows) }
    }

    func rowBlocks(for rows: Int) -> Int { rowBlockRanges(for: rows).count }

    /// Workers with a row block to do.
    func workers(for rows: Int) -> Int { max(1, min(threads, rowBlocks(for: rows))) }

    /// Partial sums kept for row blocks in flight or finished ahead of a slower one: twice the
    /// workers, so a fast worker can run a few blocks ahead before it waits.
    func slots(for rows: Int) -> Int { 2 * workers(for: rows) }

    /// Columns per panel for `rows` rows against `columns` columns at depth `dim`, when each
    /// worker holds `workerBytes` and each slot `slotBytes` per panel column, and the panel's
    /// columns are packed (`packsOperands`): a whole number of tiles.
    func panelColumns(rows: Int, columns: Int, dim: Int, workerBytes: Int, slotBytes: Int) -> Int {
        let packed = packsOperands(dim: dim) ? dim * MemoryLayout<Float>.size : 0
        let perColumn = max(1, workers(for: rows) * workerBytes + slots(for: rows) * slotBytes + packed)
        let tiles = max(1, Self.panelStateBytes / perColumn / tile.cols)
        return min(max(columns, 1), tiles * tile.cols)
    }

    func tileCount(rows: Int, cols: Int) -> Int {
        guard rows > 0 && cols > 0 else { return 0 }
        return rowBlocks(for: rows) * ((cols + tile.cols - 1) / tile.cols)
    }
}
