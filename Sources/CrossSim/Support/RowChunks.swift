import Dispatch

/// Cuts `count` rows into a fixed number of contiguous chunks and runs them on all cores: the
/// O(N·D) passes beside the tiles (norms, positives, row sums) that would otherwise hold one
/// core while the other waits. The cut does not depend on the core count, so sums folded chunk
/// by chunk in chunk order repeat bit for bit on any machine.
enum RowChunks {
    static let chunks = 64

    /// `body(chunk, rows)` for every non-empty chunk, concurrently; returns the chunk count.
    @discardableResult
    static func forEach(_ count: Int, _ body: @Sendable (Int, Range<Int>) -> Void) -> Int {
        let n = min(chunks, count)
        DispatchQueue.concurrentPerform(iterations: n) { k in
            body(k, (count * k / n)..<(count * (k + 1) / n))
        }
        return n
    }

    /// Σ over `count` rows of `dim`-vectors in binary64: each chunk sums its rows with
    /// `add(rows, sum)`, and the chunks' sums are added in order.
    static func sum(_ count: Int, dim: Int, _ add: @Sendable (Range<Int>, UnsafeMutablePointer<Double>) -> Void) -> [Double] {
        let parts = SharedBuffer<Double>(repeating: 0, count: chunks * dim)
        let n = forEach(count) { k, rows in add(rows, parts.base + k * dim) }
        var total = [Double](repeating: 0, count: dim)
        for k in 0..<n {
            for d in 0..<dim { total[d] += parts[k * dim + d] }
        }
        return total
    }
}
