import Foundation

/// `crosssim bench`: the whole evaluation against OpenBLAS sgemm alone, on synthetic data in
/// memory, over tile shapes and thread counts (SPEC §7, issue 4).
public struct Benchmark: Sendable {
    public var rows: Int
    public var dim: Int
    public var tiles: [TileShape]
    public var threads: [Int]
    public var repeats: Int

    public init(rows: Int = 16384, dim: Int = 768, tiles: [TileShape] = Benchmark.defaultTiles,
                threads: [Int]? = nil, repeats: Int = 2) {
        self.rows = rows
        self.dim = dim
        self.tiles = tiles
        self.threads = threads ?? [TilePlan.defaultThreads]
        self.repeats = repeats
    }

    public static let defaultTiles = [
        TileShape(rows: 256, cols: 512), TileShape(rows: 512, cols: 1024), TileShape(rows: 1024, cols: 1024),
        TileShape(rows: 1024, cols: 2048), TileShape(rows: 2048, cols: 2048), TileShape(rows: 1024, cols: 4096),
    ]

    public struct Row: Sendable {
        public var tile: TileShape
        public var threads: Int
        /// What was run: "defaults", "+1 τ", "+SigLIP", "from .zst".
        public var workload: String
        public var seconds: Double
        public var gflops: Double
        /// The median over runs of (run seconds / the seconds of a whole-matrix sgemm timed
        /// just before it).
        public var ratio: Double
        /// Shares of the fastest run's thread-seconds (threads × seconds) spent in the tiles'
        /// sgemm and in their epilogue; the rest went to reading, setup and the report.
        public var sgemmShare: Double
        public var epilogueShare: Double
    }

    public struct Result: Sendable {
        public var rows: Int
        public var dim: Int
        public var backend: String
        /// One sgemm over the whole x1·x2ᵀ with the BLAS on all threads.
        public var sgemmSeconds: Double
        public var table: [Row]
        /// Decoded Float32 bytes per second reading float16 .npy.zst shards (decoded on all cores).
        public var readerBytesPerSecond: Double
    }

    func time(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    func best(_ body: () throws -> Void) rethrows -> Double {
        try (0..<repeats).map { _ in try time(body) }.min()!
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> Result {
        let synthetic = SyntheticPairs(rows: rows, dim: dim)
        let (x1, x2, pairs) = try synthetic.generate()
        let folder = NSTemporaryDirectory() + "crosssim-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try synthetic.write(to: folder, shards: 4, element: .float16, zstdLevel: 3)
        let reading = try best { _ = try Embeddings.load(path: folder + "/x2", similarity: .cosine) }
        let readerRate = Double(x2.byteCount) / reading
        progress(String(format: "reader, float16 .npy.zst → Float32 (shards on all cores): %.0f MB/s", readerRate / 1e6))
        let flops = 2 * Double(rows) * Double(rows) * Double(dim)
        let maxThreads = threads.max() ?? 1
        let product = UnsafeMutablePointer<Float>.allocate(capacity: rows * rows)
        defer { product.deallocate() }
        func wholeSgemm() {
            BLAS.withThreads(maxThreads) {
                BLAS.multiplyTransposed(x1.baseAddress, x2.baseAddress, into: product, m: rows, n: rows, k: dim, ldc: rows)
            }
        }
        let sgemm = best(wholeSgemm)
        progress(String(format: "whole-matrix sgemm: %.3f s, %.1f GFLOP/s", sgemm, flops / sgemm / 1e9))
        var table: [Row] = []
        for threadCount in threads {
            for tile in tiles {
                var options = EvaluationOptions()
                options.tile = tile
                options.threads = threadCount
                var workloads = [("defaults", options)]
                if tile == TileShape.default {
                    var twoTaus = options
                    twoTaus.temperatures = [0.05, 0.07]
                    var siglip = options
                    siglip.siglip = [SigLIPTerm(scale: 10, bias: -10)]
                    workloads += [("+1 τ", twoTaus), ("+SigLIP", siglip), ("from .zst", options)]
                }
                for (name, workload) in workloads {
                    // Each run is timed right after a whole-matrix sgemm, and the ratio is the
                    // median of those pairs: on a shared machine the clock rate drifts between
                    // runs, and a ratio of neighbours cancels most of the drift.
                    var seconds = Double.infinity
                    var fastest = TileTiming()
                    var ratios: [Double] = []
                    for _ in 0..<repeats {
                        let reference = time(wholeSgemm)
                        let timing = TileTiming()
                        let control = RunControl(timing: timing)
                        let elapsed = try time {
                            if name == "from .zst" {
                                _ = try EvaluationRequest(x1: folder + "/x1", x2: folder + "/x2", options: workload).run(control: control)
                            } else {
                                _ = try Evaluation(x1: x1, x2: x2, pairs: pairs, options: workload).state(control: control)
                            }
                        }
                        if elapsed < seconds { (seconds, fastest) = (elapsed, timing) }
                        ratios.append(elapsed / reference)
                    }
                    let threadSeconds = seconds * Double(threadCount)
                    let row = Row(tile: tile, threads: threadCount, workload: name, seconds: seconds, gflops: flops / seconds / 1e9,
                                  ratio: ratios.sorted()[ratios.count / 2], sgemmShare: fastest.sgemmSeconds / threadSeconds,
                                  epilogueShare: fastest.epilogueSeconds / threadSeconds)
                    table.append(row)
                    progress(Self.format(row))
                }
            }
        }
        return Result(rows: rows, dim: dim, backend: BLAS.name, sgemmSeconds: sgemm, table: table,
                      readerBytesPerSecond: readerRate)
    }

    static func format(_ r: Row) -> String {
        String(format: "%-10@ %2d  %-10@ %8.3f s %7.1f GFLOP/s  sgemm %5.1f %%  epilogue %5.1f %%  other %5.1f %%  ratio %.3f",
               r.tile.description, r.threads, r.workload, r.seconds, r.gflops,
               100 * r.sgemmShare, 100 * r.epilogueShare, 100 * (1 - r.sgemmShare - r.epilogueShare), r.ratio)
    }
}

extension Benchmark.Result {
    public var json: JSONValue {
        .object([
            ("n", .integer(rows)), ("dim", .integer(dim)), ("backend", .string(backend)),
            ("sgemm_seconds", .number(sgemmSeconds)), ("reader_bytes_per_second", .number(readerBytesPerSecond)),
            ("tiles", .array(table.map { r in
                .object([("tile", .array([.integer(r.tile.rows), .integer(r.tile.cols)])), ("threads", .integer(r.threads)),
                         ("workload", .string(r.workload)), ("seconds", .number(r.seconds)),
                         ("gflops", .number(r.gflops)), ("sgemm_share", .number(r.sgemmShare)),
                         ("epilogue_share", .number(r.epilogueShare)), ("ratio", .number(r.ratio))])
            })),
        ])
    }
}
