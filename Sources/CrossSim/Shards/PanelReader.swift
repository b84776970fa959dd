import Foundation

/// Reads a set as consecutive panels of rows on a background thread. Two buffers deep, the
/// next panel is decoded, checked and normalised while the caller computes on one; one buffer
/// deep (for panels that are used long, where memory matters more than overlap), reading waits
/// for `release()`.
final class PanelReader: @unchecked Sendable {
    let set: ShardSet
    let panelRows: Int
    private let similarity: Similarity
    private let buffers: [Embeddings]
    private let free: DispatchSemaphore
    private let filled = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var ready: [(panel: Int, rows: Range<Int>)] = []
    private var failure: Error?
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `rows` of `set` in panels of `panelRows`, `depth` (1 or 2) buffers deep.
    init(set: ShardSet, rows: Range<Int>, panelRows: Int, similarity: Similarity, depth: Int = 2) {
        self.set = set
        self.panelRows = panelRows
        self.similarity = similarity
        buffers = (0..<depth).map { _ in Embeddings(rows: panelRows, dim: set.dim) }
        free = DispatchSemaphore(value: depth)
        Thread.detachNewThread { [self] in
            produce(rows)
            done.signal()
        }
    }

    deinit {
        lock.withLock { stopped = true }
        free.signal()
        done.wait()
    }

    private func produce(_ rows: Range<Int>) {
        do {
            let stream = RowStream(set)
            try stream.skip(rows: rows.lowerBound)
            var start = rows.lowerBound, panel = 0
            while start < rows.upperBound {
                free.wait()
                if lock.withLock({ stopped }) { return }
                let buffer = buffers[panel % buffers.count]
                let count = min(panelRows, rows.upperBound - start)
                guard try stream.read(rows: count, into: buffer.baseAddress) == count else {
                    throw InputError("truncated data: fewer rows than the headers declare", file: set.path)
                }
                try buffer.prepare(rows: 0..<count, similarity: similarity, origin: set, firstGlobalRow: start)
                lock.withLock { ready.append((panel, start..<start + count)) }
                filled.signal()
                start += count
                panel += 1
            }
        } catch {
            lock.withLock { failure = error }
            filled.signal()
        }
    }

    /// The next panel and the global rows it holds; valid until `release()`.
    func next() throws -> (matrix: Embeddings, rows: Range<Int>) {
        filled.wait()
        return try lock.withLock {
            if let failure { throw failure }
            let (panel, rows) = ready.removeFirst()
            return (buffers[panel % buffers.count], rows)
        }
    }

    /// Gives the last panel's buffer back for the reader to refill.
    func release() { free.signal() }
}
