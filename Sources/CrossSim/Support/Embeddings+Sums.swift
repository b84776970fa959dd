import CCrossSimKernels

/// Binary64 sums over rows, in an order that is the same at every vector level, so that what
/// is built from them (positives, norms, Σs) is the same on every machine.
extension Embeddings {
    /// Each row's squared L2 norm (of all rows, or of `range`).
    public func squaredNorms(rows range: Range<Int>? = nil) -> [Float] {
        let range = range ?? 0..<rows
        let norms = SharedBuffer<Float>(repeating: 0, count: range.count)
        RowChunks.forEach(range.count) { _, chunk in
            for k in chunk { norms[k] = Float(cs_dot_f64(self.row(range.lowerBound + k), self.row(range.lowerBound + k), self.dim)) }
        }
        return norms.array
    }

    /// The similarity of this matrix's row `i` and `other`'s row `j` as a binary64 sum of the
    /// Float32 products: the exact value by which ranks and positives are decided.
    public func exactDot(row i: Int, _ other: Embeddings, row j: Int) -> Double {
        precondition(dim == other.dim, "rows of different dimensions")
        return cs_dot_f64(row(i), other.row(j), dim)
    }

    /// Σ of rows `range` in binary64.
    func rowSum(rows range: Range<Int>) -> [Double] {
        RowChunks.sum(range.count, dim: dim) { chunk, sum in
            cs_add_rows_f64(self.row(range.lowerBound + chunk.lowerBound), chunk.count, self.dim, sum)
        }
    }
}
