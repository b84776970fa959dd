import CCrossSimKernels
import Dispatch
import Synchronization

/// Under cosine the tiles see x̂ = x/‖x‖, and the gradient with respect to the raw row x is
/// (g − (g·x̂)·x̂)/‖x‖ = g/‖x‖ − (g·x)·x/‖x‖³ for g = dL/dx̂ (docs/gradient.md), taken here
/// from the raw rows in binary64.
extension Embeddings {
    /// Turns rows `rows` of this gradient with respect to unit rows into the gradient with
    /// respect to `raw` (one raw row per gradient row, rows·dim values).
    func projectThroughNormalisation(rows: Range<Int>, raw: UnsafePointer<Float>) {
        for (k, r) in rows.enumerated() {
            let g = row(r), x = raw + k * dim
            let squaredNorm = cs_dot_f64(x, x, dim), along = cs_dot_f64(g, x, dim)
            let inverse = 1 / squaredNorm.squareRoot(), radial = along * inverse * inverse * inverse
            for d in 0..<dim { g[d] = Float(Double(g[d]) * inverse - radial * Double(x[d])) }
        }
    }

    /// The same for every row, with `raw` the raw rows in memory.
    func projectThroughNormalisation(raw: Embeddings) {
        precondition(raw.rows == rows && raw.dim == dim)
        RowChunks.forEach(rows) { _, chunk in
            self.projectThroughNormalisation(rows: chunk, raw: raw.row(chunk.lowerBound))
        }
    }
}

extension ShardSet {
    /// Projects `gradient` (its row r is the set's row `rows.lowerBound + r`) through the
    /// normalisation of the set's rows `rows`, read raw, as the files hold them; shards are
    /// read at once, one per core. The rows are not checked again: the run that normalised
    /// them did.
    func projectThroughNormalisation(_ gradient: Embeddings, rows range: Range<Int>) throws {
        precondition(gradient.rows >= range.count && gradient.dim == dim)
        let starts = shards.reduce(into: [0]) { $0.append($0.last! + $1.layout.rows) }
        let pieces = shards.indices.filter { starts[$0] < range.upperBound && starts[$0 + 1] > range.lowerBound }
        let failure = Mutex<InputError?>(nil)
        let batch = SetReader.batchRows(dim: dim)
        DispatchQueue.concurrentPerform(iterations: pieces.count) { p in
            let k = pieces[p]
            let rows = max(range.lowerBound, starts[k])..<min(range.upperBound, starts[k + 1])
            do {
                let stream = RowStream(ShardSet(path: path, shards: [shards[k]]))
                try stream.skip(rows: rows.lowerBound - starts[k])
                let buffer = Embeddings(rows: batch, dim: dim)
                for first in stride(from: rows.lowerBound, to: rows.upperBound, by: batch) {
                    let count = min(batch, rows.upperBound - first)
                    guard try stream.read(rows: count, into: buffer.baseAddress) == count else {
                        throw InputError("truncated data: fewer rows than the header declares", file: shards[k].path)
                    }
                    let local = first - range.lowerBound
                    gradient.projectThroughNormalisation(rows: local..<(local + count), raw: buffer.baseAddress)
                }
            } catch {
                // Reading rows that were read once already fails only as a file does (changed, unreadable).
                let reason = error as? InputError ?? InputError("\(error)", file: shards[k].path)
                failure.withLock { $0 = $0 ?? reason }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
