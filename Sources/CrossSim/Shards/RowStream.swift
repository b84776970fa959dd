import CCrossSimKernels

/// Reads the rows of a shard set in order, as Float32, one shard open at a time: the
/// streaming reader under both whole-set loading and panel-by-panel runs.
public final class RowStream {
    public let set: ShardSet
    /// Global index of the next row to be read.
    public private(set) var nextRow = 0
    private var shardIndex = -1
    private var rowsLeftInShard = 0
    private var stream: ByteStream?
    private var staging: UnsafeMutableRawPointer
    private static let stagingBytes = 1 << 20
    /// Called with the global row of each float64 value that is finite but beyond Float32's
    /// range (it is read as ±Inf); nil makes such a value a read error naming file and row.
    /// `inspect` counts these rows rather than stopping at the first.
    public var onFloat32Overflow: ((Int) -> Void)?

    public init(_ set: ShardSet) {
        self.set = set
        staging = UnsafeMutableRawPointer.allocate(byteCount: Self.stagingBytes, alignment: 64)
    }

    deinit { staging.deallocate() }

    /// Reads up to `count` rows into `destination` (count·dim floats); fewer only at the end.
    public func read(rows count: Int, into destination: UnsafeMutablePointer<Float>) throws -> Int {
        var done = 0
        while done < count {
            if rowsLeftInShard == 0 {
                guard try openNextShard() else { break }
                continue
            }
            let take = min(count - done, rowsLeftInShard)
            try readShardRows(take, into: destination + done * set.dim)
            done += take
            rowsLeftInShard -= take
            nextRow += take
            if rowsLeftInShard == 0 { try finishShard() }
        }
        return done
    }

    /// Skips `count` rows: uncompressed shards seek past them, compressed ones are decoded
    /// (they cannot seek).
    public func skip(rows count: Int) throws {
        let chunkRows = max(1, Self.stagingBytes / (set.dim * MemoryLayout<Float>.stride))
        var scratch: UnsafeMutablePointer<Float>?
        defer { scratch?.deallocate() }
        var left = count
        while left > 0 {
            if rowsLeftInShard == 0 {
                guard try openNextShard() else { break }
                continue
            }
            let take = min(left, rowsLeftInShard)
            if let file = stream as? FileByteStream {
                let layout = set.shards[shardIndex].layout
                try file.skip(bytes: take * layout.dim * layout.element.byteCount)
                rowsLeftInShard -= take
                nextRow += take
                if rowsLeftInShard == 0 { try finishShard() }
                left -= take
            } else {
                if scratch == nil { scratch = .allocate(capacity: chunkRows * set.dim) }
                let got = try read(rows: min(take, chunkRows), into: scratch!)
                if got == 0 { break }
                left -= got
            }
        }
    }

    private func openNextShard() throws -> Bool {
        stream = nil
        shardIndex += 1
        guard shardIndex < set.shards.count else { return false }
        let expected = set.shards[shardIndex]
        let (shard, stream) = try Shard.openStream(expected.path)
        guard shard.layout == expected.layout else {
            throw InputError("the file changed while it was being read", file: shard.path)
        }
        self.stream = stream
        rowsLeftInShard = shard.layout.rows
        return true
    }

    private func finishShard() throws {
        guard let stream, try stream.isAtEnd() else {
            throw InputError("trailing data after the \(set.shards[shardIndex].layout.rows) rows the header declares",
                             file: set.shards[shardIndex].path)
        }
    }

    private func readShardRows(_ rows: Int, into destination: UnsafeMutablePointer<Float>) throws {
        let shard = set.shards[shardIndex]
        let layout = shard.layout
        let stream = self.stream!
        let firstRow = layout.rows - rowsLeftInShard
        let what = "row \(firstRow)–\(firstRow + rows - 1) of \(layout.rows)"
        if layout.element == .float32 {
            try stream.readExactly(into: UnsafeMutableRawBufferPointer(start: destination, count: rows * layout.dim * 4), what: what)
            if layout.bigEndian { cs_byteswap(destination, rows * layout.dim, 4) }
            return
        }
        let size = layout.element.byteCount
        let valuesPerChunk = Self.stagingBytes / size
        var done = 0
        let total = rows * layout.dim
        while done < total {
            let n = min(valuesPerChunk, total - done)
            try stream.readExactly(into: UnsafeMutableRawBufferPointer(start: staging, count: n * size), what: what)
            if layout.bigEndian { cs_byteswap(staging, n, size) }
            switch layout.element {
            case .float16: cs_f16_to_f32(staging.assumingMemoryBound(to: UInt16.self), destination + done, n)
            case .float64:
                let source = staging.assumingMemoryBound(to: Double.self)
                cs_f64_to_f32(source, destination + done, n)
                try checkConversion(from: source, to: destination + done, count: n, firstValue: done, firstRow: firstRow)
            case .uint8: cs_u8_to_f32(staging.assumingMemoryBound(to: UInt8.self), destination + done, n)
            case .int8: cs_i8_to_f32(staging.assumingMemoryBound(to: Int8.self), destination + done, n)
            case .float32: break
            }
            done += n
        }
    }

    /// A finite float64 that became ±Inf as Float32 is too large for CrossSim, which computes
    /// in Float32 (docs/inputs.md): not a NaN or ±Inf of the file.
    private func checkConversion(from source: UnsafePointer<Double>, to converted: UnsafePointer<Float>, count: Int,
                                 firstValue: Int, firstRow: Int) throws {
        for k in 0..<count where converted[k].isInfinite && source[k].isFinite {
            let row = (firstValue + k) / set.dim
            guard let onFloat32Overflow else {
                throw InputError("value \(source[k]) is beyond Float32's range (±3.4e38), in which CrossSim computes: scale the set down",
                                 file: set.shards[shardIndex].path, row: firstRow + row)
            }
            onFloat32Overflow(nextRow + row)
        }
    }
}
