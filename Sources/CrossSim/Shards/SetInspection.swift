import CCrossSimKernels

/// What `crosssim inspect` says of a set: its shards, shape, dtype, size on disk, the range
/// of its row norms, and every row that `eval` would refuse under some similarity.
public struct SetInspection: Sendable {
    /// Rows of one kind: how many, and the global indices of the first few.
    public struct Rows: Sendable, Equatable {
        public var count = 0
        public var first: [Int] = []

        static let keptExamples = 20

        mutating func add(_ row: Int) {
            count += 1
            if first.count < Self.keptExamples { first.append(row) }
        }
    }

    public var set: ShardSet
    public var normMin: Double
    public var normMean: Double
    public var normMax: Double
    /// Rows with NaN or ±Inf.
    public var nonFinite = Rows()
    /// Rows of a float64 shard with a finite value beyond Float32's range (refused under any similarity).
    public var beyondFloat32 = Rows()
    /// All-zero rows (refused under cosine).
    public var zero = Rows()
    /// Rows whose norm is too large for Float32 dot similarities (refused under dot).
    public var tooLargeForDot = Rows()

    /// Streams the whole set once.
    public init(path: String) throws {
        set = try ShardSet.open(path)
        let stream = RowStream(set)
        var overflowed = Set<Int>()
        stream.onFloat32Overflow = { overflowed.insert($0) }
        // At most 4096 rows or 16 MiB (whichever is less, but one row at least): D may be huge.
        let batch = max(1, min(4096, (1 << 24) / (set.dim * MemoryLayout<Float>.stride)))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: batch * set.dim)
        defer { buffer.deallocate() }
        var low = Double.infinity, high = 0.0, total = 0.0, counted = 0
        var row = 0
        while true {
            overflowed.removeAll(keepingCapacity: true)
            let got = try stream.read(rows: batch, into: buffer)
            if got == 0 { break }
            for r in 0..<got {
                if overflowed.contains(row + r) {
                    beyondFloat32.add(row + r)
                    continue
                }
                let squared = cs_dot_f64(buffer + r * set.dim, buffer + r * set.dim, set.dim)
                if !squared.isFinite {
                    nonFinite.add(row + r)
                    continue
                }
                if squared == 0 { zero.add(row + r) }
                if !(Float(squared) < InputCheck.largestDotSquaredNorm) { tooLargeForDot.add(row + r) }
                let norm = squared.squareRoot()
                low = min(low, norm); high = max(high, norm); total += norm; counted += 1
            }
            row += got
        }
        normMin = counted > 0 ? low : 0
        normMax = high
        normMean = counted > 0 ? total / Double(counted) : 0
    }

    /// Each kind of row with its JSON key and its words in the summary.
    var kinds: [(key: String, words: String, rows: Rows)] {
        [("nan_or_inf_rows", "rows with NaN/Inf", nonFinite),
         ("beyond_float32_rows", "rows with values beyond Float32's range", beyondFloat32),
         ("zero_rows", "zero rows (refused under cosine)", zero),
         ("too_large_for_dot_rows", "rows too large for --similarity dot", tooLargeForDot)]
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
        ] + kinds.map { kind in
            (kind.key, .object([("count", .integer(kind.rows.count)), ("first", .array(kind.rows.first.map { .integer($0) }))]))
        })
    }

    public var summary: String {
        var lines = ["\(set.path): \(set.rows) rows × \(set.dim), \(set.dtype), \(set.shards.count) shard\(set.shards.count == 1 ? "" : "s"), \(set.bytesOnDisk) bytes on disk"]
        for shard in set.shards {
            lines.append("  \(shard.path): \(shard.layout.rows) × \(shard.layout.dim) \(shard.layout.dtype)\(shard.compressed ? " (zstd)" : ""), \(shard.fileBytes) bytes")
        }
        lines.append("  norms: min \(normMin), mean \(normMean), max \(normMax)")
        for kind in kinds {
            let first = kind.rows.first.isEmpty ? "" : " (first: \(kind.rows.first.map(String.init).joined(separator: ", ")))"
            lines.append("  \(kind.words): \(kind.rows.count)\(first)")
        }
        return lines.joined(separator: "\n")
    }
}
