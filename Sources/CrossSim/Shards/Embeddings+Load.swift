extension Embeddings {
    /// Reads a whole set into memory, checking every row and normalising it under
    /// cosine similarity, on all cores (see `SetReader`).
    public static func load(_ set: ShardSet, similarity: Similarity) throws -> Embeddings {
        let matrix = Embeddings(rows: set.rows, dim: set.dim)
        try SetReader(set: set, similarity: similarity).read(0..<set.rows, into: (matrix, 0))
        return matrix
    }

    /// Rows decoded before they are checked and normalised: 512 KiB, so that the check finds
    /// them still in L2.
    static func batchRows(dim: Int) -> Int { max(1, (512 << 10) / (dim * MemoryLayout<Float>.stride)) }

    /// Reads the set at `path`.
    public static func load(path: String, similarity: Similarity) throws -> Embeddings {
        try load(ShardSet.open(path), similarity: similarity)
    }
}
