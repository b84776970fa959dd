import CCrossSimKernels

/// Checking rows for a similarity (docs/inputs.md: NaN, ±Inf, zero rows under cosine, norms
/// too large under dot) and normalising them under cosine.
extension Embeddings {
    /// Checks rows for NaN, ±Inf, (under cosine) zero vectors and (under dot) norms too large
    /// for Float32 similarities, and normalises them under cosine. `origin` names the file and
    /// row of a bad row; this matrix's row 0 is the set's row `firstGlobalRow`.
    func prepare(rows: Range<Int>, similarity: Similarity, origin: ShardSet, firstGlobalRow: Int = 0) throws {
        var problem: Int32 = 0
        // Squared norms are needed (and written) only under dot.
        let dot = similarity == .dot
        let (bad, tooLarge) = withUnsafeTemporaryAllocation(of: Float.self, capacity: dot ? rows.count : 0) {
            norms -> (Int64, Int?) in
            let firstBad = cs_prepare_rows(self.row(rows.lowerBound), rows.count, dim, dot ? 0 : 1, dot ? norms.baseAddress : nil, &problem)
            let checked = firstBad >= 0 ? Int(firstBad) : rows.count
            return (firstBad, norms.prefix(checked).firstIndex { !($0 < InputCheck.largestDotSquaredNorm) })
        }
        if let tooLarge {
            let (shard, row) = origin.locate(row: firstGlobalRow + rows.lowerBound + tooLarge)
            let local = self.row(rows.lowerBound + tooLarge)
            throw InputCheck.tooLargeForDot(squaredNorm: cs_dot_f64(local, local, dim), file: shard.path, row: row)
        }
        guard bad >= 0 else { return }
        let (shard, row) = origin.locate(row: firstGlobalRow + rows.lowerBound + Int(bad))
        throw Self.badRow(problem, file: shard.path, row: row)
    }

    static func badRow(_ problem: Int32, file: String, row: Int) -> InputError {
        InputError(
            problem == Int32(CS_ROW_ZERO)
                ? "zero vector: it has no direction for cosine similarity (use --similarity dot or drop the row)"
                : "NaN or infinite value",
            file: file, row: row)
    }

    /// This matrix ready for `similarity`, with its largest squared row norm: every row checked
    /// as `prepare` checks rows read from files, and under cosine unit length — the matrix
    /// itself when its rows already are (as `load` leaves them), else a normalised copy. `name`
    /// stands for the file in errors.
    public func prepared(for similarity: Similarity, name: String) throws -> (matrix: Embeddings, largestSquaredNorm: Float) {
        let norms = squaredNorms()
        if norms.contains(where: { !$0.isFinite }) {
            // A NaN or ±Inf, or only a norm beyond Float32 (finite values near 1e20).
            var problem: Int32 = 0
            let bad = cs_prepare_rows(baseAddress, rows, dim, 0, nil, &problem)  // without normalising: reads only
            if bad >= 0 { throw Self.badRow(problem, file: name, row: Int(bad)) }
        }
        if similarity == .dot, let row = norms.firstIndex(where: { !($0 < InputCheck.largestDotSquaredNorm) }) {
            throw InputCheck.tooLargeForDot(squaredNorm: cs_dot_f64(self.row(row), self.row(row), dim), file: name, row: row)
        }
        guard similarity == .cosine, norms.contains(where: { abs($0 - 1) > 1e-5 }) else { return (self, norms.max() ?? 0) }
        let copy = Embeddings(rows: rows, dim: dim)
        copy.baseAddress.update(from: baseAddress, count: rows * dim)
        copy.source = source
        var problem: Int32 = 0
        let bad = cs_prepare_rows(copy.baseAddress, rows, dim, 1, nil, &problem)
        if bad >= 0 { throw Self.badRow(problem, file: name, row: Int(bad)) }
        return (copy, 1)
    }
}
