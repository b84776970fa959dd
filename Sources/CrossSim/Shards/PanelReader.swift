import Foundation
import Synchronization

/// Reads a set as consecutive panels of rows on a background thread. Two buffers deep, the
/// next panel is decoded, checked and normalised while the caller computes on one; one buffer
/// deep (for panels that are used long, where memory matters more than overlap), reading waits
/// for `release()`. The thread holds only the panels, never the reader: when the reader goes
/// away (its run finished, failed or was cancelled) the thread ends and the buffers are freed.
final class PanelReader: Sendable {
    private let panels: Panels
    /// How many panels `next()` gives.
    let count: Int

    /// Starts reading `rows` of `set` in panels of `panelRows`, `depth` (1 or 2) buffers deep.
    init(set: ShardSet, rows: Range<Int>, panelRows: Int, similarity: Similarity, depth: Int = 2) {
        let panels = Panels(reader: SetReader(set: set, similarity: similarity), panelRows: panelRows, depth: depth)
        self.panels = panels
        count = (rows.count + panelRows - 1) / panelRows
        Thread.detachNewThread { panels.produce(rows) }
    }

    deinit { panels.stop() }

    /// The next panel and the global rows it holds; valid until `release()`.
    func next() throws -> (matrix: Embeddings, rows: Range<Int>) { try panels.next() }

    /// Gives the last panel's buffer back for the reader to refill.
    func release() { panels.release() }
}

/// The buffers and hand-over between `PanelReader`'s thread and its caller.
private final class Panels: Sendable {
    private let reader: SetReader
    private let panelRows: Int
    private let buffers: [Embeddings]
    /// Created at 0 and signalled once per buffer: libdispatch traps when a semaphore is freed
    /// below its initial value, as this one is when the caller stops while it holds a panel.
    private let free = DispatchSemaphore(value: 0)
    private let filled = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    private struct State {
        var ready: [(panel: Int, rows: Range<Int>)] = []
        var failure: Error?
        var stopped = false
    }

    init(reader: SetReader, panelRows: Int, depth: Int) {
        self.reader = reader
        self.panelRows = panelRows
        buffers = (0..<depth).map { _ in Embeddings(rows: panelRows, dim: reader.set.dim) }
        for _ in 0..<depth { free.signal() }
    }

    func produce(_ rows: Range<Int>) {
        defer { finished.signal() }
        do {
            var start = rows.lowerBound, panel = 0
            while start < rows.upperBound {
                free.wait()
                if state.withLock({ $0.stopped }) { return }
                let count = min(panelRows, rows.upperBound - start)
                try reader.read(start..<start + count, into: (buffers[panel % buffers.count], start))
                state.withLock { $0.ready.append((panel, start..<start + count)) }
                filled.signal()
                start += count
                panel += 1
            }
        } catch {
            state.withLock { $0.failure = error }
            filled.signal()
        }
    }

    /// Ends the thread (waking it if it waits for a buffer) and waits for it, so that the
    /// buffers go with the reader that owned them.
    func stop() {
        state.withLock { $0.stopped = true }
        free.signal()
        finished.wait()
    }

    func next() throws -> (matrix: Embeddings, rows: Range<Int>) {
        filled.wait()
        return try state.withLock {
            if let failure = $0.failure { throw failure }
            let (panel, rows) = $0.ready.removeFirst()
            return (buffers[panel % buffers.count], rows)
        }
    }

    func release() { free.signal() }
}
