extension Embeddings {
    /// Reads rows `range` of a set (all rows by default) into memory on all cores, each row
    /// checked and, under cosine, normalised (see `SetReader`). Rows before the range are
    /// streamed past, not kept.
    public static func load(_ set: ShardSet, rows range: Range<Int>? = nil, similarity: Similarity) throws -> Embeddings {
        let range = range ?? 0..<set.rows
        precondition(range.lowerBound >= 0 && range.upperBound <= set.rows, "rows beyond the set")
        let matrix = Embeddings(rows: range.count, dim: set.dim)
        try SetReader(set: set, similarity: similarity).read(range, into: (matrix, range.lowerBound))
        matrix.source = set
        return matrix
    }

    /// Reads the set at `path`.
    public static func load(path: String, similarity: Similarity) throws -> Embeddings {
        try load(ShardSet.open(path), similarity: similarity)
    }
}
