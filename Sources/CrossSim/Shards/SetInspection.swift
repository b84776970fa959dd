import CCrossSimKernels

/// What `crosssim inspect` says of a set: its shards, shape, dtype, size on disk, the range
/// of its row norms, and every row that cosine similarity could not use.
public struct SetInspection: Sendable {
    public var set: ShardSet
    public var normMin: Double
    public var normMean: Double
    public var normMax: Double
    /// Global indices of rows with NaN or ±Inf, and of all-zero rows (at most 20 kept of each).
    public var nonFiniteRows: [Int]
    public var nonFiniteCount: Int
    public var zeroRows: [Int]
    public var zeroCount: Int

    static let keptExamples = 20

    /// Streams the whole set once.
    public init(path: String) throws {
        set = try ShardSet.open(path)
        let stream = RowStream(set)
        // At most 4096 rows or 16 MiB (whichever is less, but one row at least): D may be huge.
        let batch = max(1, min(4096, (1 << 24) / (set.dim * MemoryLayout<Float>.stride)))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: batch * set.dim)
        defer { buffer.deallocate() }
        var low = Double.infinity, high = 0.0, total = 0.0, counted = 0
        nonFiniteRows = []; zeroRows = []; nonFiniteCount = 0; zeroCount = 0
        var row = 0
        while true {
            let got = try stream.read(rows: batch, into: buffer)
            if got == 0 { break }
            for r in 0..<got {
                let squared = cs_dot_f64(buffer + r * set.dim, buffer + r * set.dim, set.dim)
                if !squared.isFinite {
                    nonFiniteCount += 1
                    if nonFiniteRows.count < Self.keptExamples { nonFiniteRows.append(row + r) }
                    continue
                }
                if squared == 0 {
                    zeroCount += 1
                    if zeroRows.count < Self.keptExamples { zeroRows.append(row + r) }
                }
                let norm = squared.squareRoot()
                low = min(low, norm); high = max(high, norm); total += norm; counted += 1
            }
            row += got
        }
        normMin = counted > 0 ? low : 0
        normMax = high
        normMean = counted > 0 ? total / Double(counted) : 0
    }

    public var json: JSONValue {
        func shardJSON(_ shard: Shard) -> JSONValue {
            .object([("path", .string(shard.path)), ("rows", .integer(shard.layout.rows)), ("dim", .integer(shard.layout.dim)),
                     ("dtype", .string(shard.layout.dtype)), ("compressed", .bool(shard.compressed)), ("bytes", .integer(shard.fileBytes))])
        }
        return .object([
            ("path", .string(set.path)), ("rows", .integer(set.rows)), ("dim", .integer(set.dim)),
            ("dtype", .string(set.dtype)), ("bytes_on_disk", .integer(set.bytesOnDisk)),
            ("shards", .array(set.shards.map(shardJSON))),
            ("norms", .object([("min", .number(normMin)), ("mean", .number(normMean)), ("max", .number(normMax))])),
            ("nan_or_inf_rows", .object([("count", .integer(nonFiniteCount)), ("first", .array(nonFiniteRows.map { .integer($0) }))])),
            ("zero_rows", .object([("count", .integer(zeroCount)), ("first", .array(zeroRows.map { .integer($0) }))])),
        ])
    }

    public var summary: String {
        var lines = ["\(set.path): \(set.rows) rows × \(set.dim), \(set.dtype), \(set.shards.count) shard\(set.shards.count == 1 ? "" : "s"), \(set.bytesOnDisk) bytes on disk"]
        for shard in set.shards {
            lines.append("  \(shard.path): \(shard.layout.rows) × \(shard.layout.dim) \(shard.layout.dtype)\(shard.compressed ? " (zstd)" : ""), \(shard.fileBytes) bytes")
        }
        lines.append("  norms: min \(normMin), mean \(normMean), max \(normMax)")
        lines.append("  rows with NaN/Inf: \(nonFiniteCount)\(nonFiniteRows.isEmpty ? "" : " (first: \(nonFiniteRows.map(String.init).joined(separator: ", ")))")")
        lines.append("  zero rows: \(zeroCount)\(zeroRows.isEmpty ? "" : " (first: \(zeroRows.map(String.init).joined(separator: ", ")))")")
        return lines.joined(separator: "\n")
    }
}
