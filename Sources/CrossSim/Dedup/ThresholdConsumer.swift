import CCrossSimKernels
import Foundation
import Synchronization

/// The tile consumer of `dedup` (docs/dedup.md): finds every cell at or above the threshold
/// (cs_threshold_cells, exact at the threshold) and streams the pairs to disk in (row, column)
/// order with memory bounded by the slots' buffers.
///
/// Inside a row block a row's pairs arrive in column order, tile after tile; each slot keeps its
/// block's pairs in a buffer that is sorted and spilled as a run when full. When the block is
/// folded (in row-block order) its runs are merged onto the sorted spill, so that each column
/// panel leaves one sorted run there; the panels' runs are merged at the end.
final class ThresholdConsumer: TileConsumer, @unchecked Sendable {
    let threshold: Double
    /// A set against itself: only cells above the diagonal (the engine skips the tiles below it).
    let upperOnly: Bool
    let maxPairs: Int?
    /// Tripped when the pairs exceed `maxPairs` or a spill fails, so that the engine stops.
    let cancellation: CancellationFlag
    private let blockRuns: PairSpill
    let sorted: PairSpill
    /// The sorted spill's runs: one per column panel.
    private(set) var panelRuns: [PairSpill.Run] = []
    private var panelStart = 0
    private var scratch: [CellScratch] = []
    private var slots: [SlotPairs] = []
    private let found = Atomic<Int>(0)
    private let failure = Mutex<Error?>(nil)

    /// Pairs a slot holds in memory before it spills them as a run (3 MiB), and the runs a
    /// slot keeps before it merges them into one.
    static let slotRecords = 1 << 18
    static let slotRuns = 64
    /// Cells a worker's kernel call may report at most: a strip of a tile (2 MiB of scratch).
    static let stripCells = 1 << 17

    init(threshold: Double, upperOnly: Bool, maxPairs: Int?, cancellation: CancellationFlag, spillDirectory: String) throws {
        self.threshold = threshold
        self.upperOnly = upperOnly
        self.maxPairs = maxPairs
        self.cancellation = cancellation
        blockRuns = try PairSpill(directory: spillDirectory, name: "dedup-blocks.spill")
        sorted = try PairSpill(directory: spillDirectory, name: "dedup-pairs.spill")
    }

    /// Whether the run stopped because it found more than `maxPairs` pairs.
    var exceededMaxPairs: Bool { maxPairs.map { found.load(ordering: .relaxed) > $0 } ?? false }

    /// The error that stopped the run, if one did (a spill that could not be written).
    var error: Error? { failure.withLock { $0 } }

    func prepare(workers: Int, slots: Int, panelColumns: Int) {
        scratch = (0..<workers).map { _ in CellScratch(capacity: Self.stripCells) }
        self.slots = (0..<slots).map { _ in SlotPairs() }
    }

    func consume(_ tile: cs_tile, worker: Int, slot: Int) {
        let cells = scratch[worker]
        let stripRows = max(1, Self.stripCells / Int(max(tile.cols, 1)))
        for first in stride(from: 0, to: Int(tile.rows), by: stripRows) {
            let strip = tile.strip(fromRow: first, count: stripRows)
            let count = Int(cs_threshold_cells(strip, threshold, upperOnly ? 1 : 0, cells.rows.base, cells.columns.base, cells.scores.base))
            guard count > 0 else { continue }
            let records = (0..<count).map {
                PairRecord(row: Int32(strip.row0) + cells.rows[$0], column: Int32(tile.col0) + cells.columns[$0],
                           similarity: Float(cells.scores[$0]))
            }
            let total = found.add(count, ordering: .relaxed).newValue
            if let maxPairs, total > maxPairs {
                cancellation.cancel()
                return
            }
            record { try slots[slot].add(records, spill: blockRuns) }
        }
    }

    /// The block's pairs, sorted, go onto the sorted spill; folds come in row-block order.
    func fold(slot: Int) {
        record {
            try slots[slot].drain(spill: blockRuns) { _ = try sorted.append($0) }
        }
    }

    func endPanel() {
        panelRuns.append(PairSpill.Run(offset: panelStart, count: sorted.count - panelStart))
        panelStart = sorted.count
    }

    /// Runs `body`; its error stops the run and is kept for the caller.
    private func record(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            failure.withLock { $0 = $0 ?? error }
            cancellation.cancel()
        }
    }
}

/// What one worker's kernel call writes: row and column offsets and exact similarities.
private struct CellScratch {
    let rows: SharedBuffer<Int32>
    let columns: SharedBuffer<Int32>
    let scores: SharedBuffer<Double>

    init(capacity: Int) {
        rows = SharedBuffer(uninitializedCount: capacity)
        columns = SharedBuffer(uninitializedCount: capacity)
        scores = SharedBuffer(uninitializedCount: capacity)
    }
}

/// One row block's pairs: a buffer in memory and the runs already spilled.
private final class SlotPairs {
    var buffer: [PairRecord] = []
    var runs: [PairSpill.Run] = []

    func add(_ records: [PairRecord], spill: PairSpill) throws {
        buffer += records
        guard buffer.count >= ThresholdConsumer.slotRecords else { return }
        try spillBuffer(spill)
        if runs.count >= ThresholdConsumer.slotRuns {
            let runs = self.runs
            self.runs = [try spill.appendRun { append in try spill.merge(runs, append) }]
        }
    }

    /// Hands the block's pairs to `body` in order, a chunk at a time, and empties the slot.
    func drain(spill: PairSpill, _ body: (UnsafeBufferPointer<PairRecord>) throws -> Void) throws {
        defer { buffer.removeAll(keepingCapacity: true); runs.removeAll() }
        if runs.isEmpty {
            buffer.sort()
            try buffer.withUnsafeBufferPointer(body)
        } else {
            try spillBuffer(spill)
            try spill.merge(runs, body)
        }
    }

    private func spillBuffer(_ spill: PairSpill) throws {
        guard !buffer.isEmpty else { return }
        buffer.sort()
        runs.append(try buffer.withUnsafeBufferPointer { try spill.append($0) })
        buffer.removeAll(keepingCapacity: true)
    }
}
