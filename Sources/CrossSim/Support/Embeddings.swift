/// A row-major [rows, dim] Float32 matrix in one buffer (64-byte aligned when this object
/// allocates it): the form in which the tile engine reads embeddings. Rows are unit length
/// when loaded for cosine similarity.
public final class Embeddings: @unchecked Sendable {
    public let rows: Int
    public let dim: Int
    /// Start of row 0. Valid while this object lives: owned by it, or borrowed from the caller
    /// (`init(borrowing:rows:dim:)`).
    public let baseAddress: UnsafeMutablePointer<Float>
    /// Whether `baseAddress` was allocated here (and is freed with this object).
    private let ownsStorage: Bool
    /// The set the rows were read from, if they were: a report names it (path, shards, dtype).
    public internal(set) var source: ShardSet?

    /// Uninitialised storage for rows×dim values.
    public init(rows: Int, dim: Int) {
        precondition(rows >= 0 && dim > 0)
        self.rows = rows
        self.dim = dim
        let count = max(rows * dim, 1)
        baseAddress = UnsafeMutableRawPointer
            .allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        ownsStorage = true
    }

    /// The caller's rows·dim row-major values, read in place, without a copy (a matrix handed
    /// over from another language). They must stay valid and unchanged while this object
    /// lives; CrossSim never writes to them (`prepared(for:name:)` normalises into a copy).
    public init(borrowing values: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        precondition(rows >= 0 && dim > 0)
        self.rows = rows
        self.dim = dim
        baseAddress = values
        ownsStorage = false
    }

    /// A copy of row-major `values` (count rows·dim).
    public convenience init(rows: Int, dim: Int, values: [Float]) {
        precondition(values.count == rows * dim, "values must hold rows·dim numbers")
        self.init(rows: rows, dim: dim)
        values.withUnsafeBufferPointer { baseAddress.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit {
        if ownsStorage { UnsafeMutableRawPointer(baseAddress).deallocate() }
    }

    public func row(_ i: Int) -> UnsafeMutablePointer<Float> { baseAddress + i * dim }

    public subscript(row: Int, column: Int) -> Float { baseAddress[row * dim + column] }

    /// All values, row-major (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: baseAddress, count: rows * dim)) }

    public var byteCount: Int { rows * dim * MemoryLayout<Float>.stride }

    /// Maps the pages of rows `range` before they are first written (`mapPagesForWriting`).
    func mapPages(rows range: Range<Int>) {
        mapPagesForWriting(row(range.lowerBound), byteCount: range.count * dim * MemoryLayout<Float>.stride)
    }
}
