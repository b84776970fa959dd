import CCrossSimKernels
import CrossSim
import Foundation

/// Synthetic paired sets, deterministic by seed: x1 rows are random unit vectors, and each has
/// `captions` x2 rows x2 = normalise(x1 + σ·g/√D) with g standard normal, so that σ is the
/// noise's length relative to the signal's: retrieval is neither trivial nor hopeless.
public struct SyntheticPairs: Sendable {
    public var rows: Int
    public var dim: Int
    public var noise: Double
    public var captions: Int
    public var seed: UInt64

    public init(rows: Int, dim: Int, noise: Double = 4, captions: Int = 1, seed: UInt64 = 0) {
        self.rows = rows
        self.dim = dim
        self.noise = noise
        self.captions = captions
        self.seed = seed
    }

    public func validate() throws {
        guard rows >= 1, dim >= 1, captions >= 1, noise >= 0, noise.isFinite else {
            throw InputError("bad synthetic shape: need N ≥ 1, D ≥ 1, M ≥ 1 and σ ≥ 0")
        }
    }

    /// x1 [rows, dim], x2 [rows·captions, dim] and the pairs of x2 rows to x1 rows.
    public func generate() throws -> (x1: Embeddings, x2: Embeddings, pairs: Pairs) {
        try validate()
        var random = Xoshiro256(seed: seed)
        let x1 = Embeddings(rows: rows, dim: dim)
        let x2 = Embeddings(rows: rows * captions, dim: dim)
        let scale = Float(noise / Double(dim).squareRoot())
        for i in 0..<rows {
            let a = x1.row(i)
            for d in 0..<dim { a[d] = Float(random.nextGaussian()) }
            normalise(a)
            for m in 0..<captions {
                let b = x2.row(i * captions + m)
                for d in 0..<dim { b[d] = a[d] + scale * Float(random.nextGaussian()) }
                normalise(b)
            }
        }
        let pairs = captions == 1 ? Pairs.identity(rows) : try Pairs(positiveOf: (0..<rows * captions).map { $0 / captions }, x1Rows: rows)
        return (x1, x2, pairs)
    }

    private func normalise(_ row: UnsafeMutablePointer<Float>) {
        var problem: Int32 = 0
        _ = cs_prepare_rows(row, 1, dim, 1, nil, &problem)
    }

    /// Writes `DIR/x1/part-K.npy[.zst]`, `DIR/x2/…` in `shards` shards each, and
    /// `DIR/pairs.npy` when there are several captions per row. Returns the paths written.
    @discardableResult
    public func write(to directory: String, shards: Int = 1, element: NPYWriter.Element = .float32,
                      zstdLevel: Int? = nil) throws -> [String] {
        guard shards >= 1 else { throw InputError("bad --shards \(shards): need at least 1") }
        guard element != .int64 else { throw InputError("synthetic embeddings are f16 or f32") }
        let (x1, x2, pairs) = try generate()
        var written: [String] = []
        for (name, matrix) in [("x1", x1), ("x2", x2)] {
            let folder = (directory as NSString).appendingPathComponent(name)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let count = min(shards, max(matrix.rows, 1))
            for k in 0..<count {
                let range = (matrix.rows * k / count)..<(matrix.rows * (k + 1) / count)
                let path = (folder as NSString).appendingPathComponent("part-\(k).npy" + (zstdLevel == nil ? "" : ".zst"))
                let values = UnsafeBufferPointer(start: matrix.row(range.lowerBound), count: range.count * dim)
                if element == .float16 {
                    let halves = values.map { Float16($0) }
                    try halves.withUnsafeBufferPointer {
                        try NPYWriter.write($0, shape: [range.count, dim], element: .float16, to: path, zstdLevel: zstdLevel)
                    }
                } else {
                    try NPYWriter.write(values, shape: [range.count, dim], element: .float32, to: path, zstdLevel: zstdLevel)
                }
                written.append(path)
            }
        }
        if captions > 1 {
            let path = (directory as NSString).appendingPathComponent("pairs.npy")
            let owners = pairs.positiveOf.map { Int64($0) }
            try owners.withUnsafeBufferPointer { try NPYWriter.write($0, shape: [owners.count], element: .int64, to: path) }
            written.append(path)
        }
        return written
    }
}

/// xoshiro256** seeded through SplitMix64: fast, and the same stream on every platform.
struct Xoshiro256 {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }

    /// Standard normal (Box–Muller; one of each pair is used, for simplicity of state).
    mutating func nextGaussian() -> Double {
        (-2 * log(nextUnit())).squareRoot() * cos(2 * .pi * nextUnit())
    }
}
