import CCrossSimKernels
import Dispatch
import Synchronization

/// Under cosine the tiles see x̂ = x/‖x‖, and the gradient with respect to the raw row x is
/// (g − (g·x̂)·x̂)/‖x‖ for g = dL/dx̂ (docs/gradient.md): the rows' raw norms are what it needs.
extension Embeddings {
    /// Each row's Euclidean norm in binary64, as it lies in memory.
    func rowNorms() -> [Double] {
        let norms = SharedBuffer<Double>(repeating: 0, count: rows)
        RowChunks.forEach(rows) { _, chunk in
            for i in chunk { norms[i] = cs_dot_f64(self.row(i), self.row(i), self.dim).squareRoot() }
        }
        return norms.array
    }

    /// Turns this gradient with respect to the unit rows `unit` (row r of this matrix is row
    /// `unitRows.lowerBound + r` of `unit`) into the gradient with respect to rows of norms
    /// `norms` (one per row of this matrix).
    func projectThroughNormalisation(unit: Embeddings, unitRows: Range<Int>, norms: [Double]) {
        precondition(unitRows.count == rows && norms.count == rows && unit.dim == dim)
        RowChunks.forEach(rows) { _, chunk in
            for r in chunk {
                let g = self.row(r), x = unit.row(unitRows.lowerBound + r)
                let along = cs_dot_f64(g, x, self.dim), inverse = 1 / norms[r]
                for d in 0..<self.dim { g[d] = Float((Double(g[d]) - along * Double(x[d])) * inverse) }
            }
        }
    }
}

extension ShardSet {
    /// The Euclidean norm of each of rows `range` as the files hold them (before cosine's
    /// normalisation), in binary64; shards are read at once, one per core. The rows are not
    /// checked again: the evaluation that read them first did.
    func rawNorms(rows range: Range<Int>) throws -> [Double] {
        let starts = shards.reduce(into: [0]) { $0.append($0.last! + $1.layout.rows) }
        let pieces = shards.indices.filter { starts[$0] < range.upperBound && starts[$0 + 1] > range.lowerBound }
        let norms = SharedBuffer<Double>(repeating: 0, count: range.count)
        let failure = Mutex<Error?>(nil)
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
                    for r in 0..<count {
                        norms[first + r - range.lowerBound] = cs_dot_f64(buffer.row(r), buffer.row(r), dim).squareRoot()
                    }
                }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return norms.array
    }
}
