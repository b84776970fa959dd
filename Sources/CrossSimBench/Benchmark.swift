import CCrossSimKernels
import CrossSim
import CrossSimSynthetic
import Foundation

/// `crosssim bench`: the whole evaluation against OpenBLAS sgemm alone, on synthetic data in
/// memory, over tile shapes and thread counts, and the two GEMMs on one tile (docs/performance.md).
public struct Benchmark: Sendable {
    public var rows: Int
    public var dim: Int
    public var tiles: [TileShape]
    public var threads: [Int]
    public var repeats: Int
    /// The GEMM of the evaluations; the default tile also runs the other one.
    public var gemm: GEMM

    public init(rows: Int = 16384, dim: Int = 768, tiles: [TileShape] = Benchmark.defaultTiles,
                threads: [Int]? = nil, repeats: Int = 2, gemm: GEMM = .default) {
        self.rows = rows
        self.dim = dim
        self.tiles = tiles
        self.threads = threads ?? [ProcessInfo.processInfo.activeProcessorCount]
        self.repeats = repeats
        self.gemm = gemm
    }

    public static let defaultTiles = [
        TileShape(rows: 256, cols: 512), TileShape(rows: 512, cols: 1024), TileShape(rows: 1024, cols: 1024),
        TileShape(rows: 1024, cols: 2048), TileShape(rows: 2048, cols: 2048), TileShape(rows: 1024, cols: 4096),
    ]

    public struct Row: Sendable {
        public var tile: TileShape
        public var threads: Int
        /// What was run: "defaults", "+1 τ", "+τ 0.01", "+SigLIP", "from .zst", "gemm own" (or
        /// "gemm blas": the GEMM the others do not use).
        public var workload: String
        public var seconds: Double
        public var gflops: Double
        /// The median over rounds of (run seconds / the seconds of the round's whole-matrix sgemm).
        public var ratio: Double
        /// The median over rounds of this run over the defaults run of its round (nil for the
        /// defaults): what an extra τ or SigLIP term, or reading from .zst, adds.
        public var ratioToDefaults: Double?
        /// The same median of the process's CPU seconds (user + sys): on a machine shared with
        /// other work, the cost of the run's own work, which waiting for a core does not add to.
        public var cpuRatioToDefaults: Double?
        /// Shares of the fastest run's thread-seconds (threads × seconds) spent in the tiles'
        /// sgemm and in their epilogue; the rest went to reading, setup and the report.
        public var sgemmShare: Double
        public var epilogueShare: Double
    }

    /// One GEMM on one thread over one default tile of the synthetic sets (TileShape.default
    /// rows of x1 against as many rows of x2, at the benchmark's D).
    public struct TileGEMM: Sendable {
        public var gemm: GEMM
        public var backend: String
        /// The own GEMM given both operands packed beforehand, as the engine gives them
        /// (`TilePlan.packsOperands`): the micro-kernel and its loops alone, packing left out.
        public var operandsPacked: Bool
        /// The fastest round's.
        public var gflops: Double
        /// The median over rounds of this GEMM's CPU seconds over the BLAS's in the same round.
        public var ratioToBLAS: Double
        /// `gflops` over the FMA peak of one core at the process's vector level.
        public var peakShare: Double
    }

    /// The own GEMM on one default tile, its operands packed beforehand as the engine packs
    /// them, with the defaults' first pass (ranks both ways, the negatives' Σ s and Σ s², one
    /// τ = 0.05) fused into its micro-kernel and the tile not stored, against the same GEMM
    /// storing the tile and that pass's kernels reading it in
    /// 512 KiB strips as the reducers do (cs_count_ranks, cs_lse_fixed_shift).
    public struct FusedTile: Sendable {
        /// 2·m·n·D over the fastest round's thread CPU seconds.
        public var fusedGFLOPS: Double
        public var unfusedGFLOPS: Double
        /// The median over rounds of the fused CPU seconds over the unfused.
        public var ratio: Double
    }

    public struct Result: Sendable {
        public var rows: Int
        public var dim: Int
        public var backend: String
        /// One sgemm over the whole x1·x2ᵀ with the BLAS on all threads.
        public var sgemmSeconds: Double
        /// One core's FMA peak at the process's vector level, measured (`fmaPeakGFLOPS`).
        public var fmaPeakGFLOPS: Double
        public var tileGEMMs: [TileGEMM]
        public var fusedTile: FusedTile
        public var table: [Row]
        /// Decoded Float32 bytes per second reading float16 .npy.zst shards: on one core into a
        /// reused buffer (decoding, conversion and normalisation alone), and on all cores into a
        /// fresh matrix, as `eval` reads (the first touch of new memory included).
        public var readerBytesPerSecondPerCore: Double
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

    /// Refuses thread counts a run would refuse, before any data is made.
    public func validate() throws {
        for threadCount in threads { try EvaluationOptions.checkThreads(threadCount) }
    }

    public func run(progress: (String) -> Void = { _ in }) throws -> Result {
        try validate()
        let synthetic = SyntheticPairs(rows: rows, dim: dim)
        let (x1, x2, pairs) = try synthetic.generate()
        let folder = NSTemporaryDirectory() + "crosssim-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try synthetic.write(to: folder, shards: 4, element: .float16, zstdLevel: 3)
        let readerRate = Double(x2.byteCount) / (try best { _ = try Embeddings.load(path: folder + "/x2", similarity: .cosine) })
        let perCore = Double(x2.byteCount) / (try best { try decodeOnOneCore(ShardSet.open(folder + "/x2")) })
        progress(String(format: "reader, float16 .npy.zst → normalised Float32: %.0f MB/s on one core (reused buffer), "
                            + "%.0f MB/s on all cores into fresh memory", perCore / 1e6, readerRate / 1e6))
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
        let peak = Self.fmaPeakGFLOPS()
        progress(String(format: "FMA peak of one core at this vector level: %.1f GFLOP/s", peak))
        let tileGEMMs = timeTileGEMMs(x1: x1, x2: x2, peak: peak)
        for t in tileGEMMs {
            progress(String(format: "one %@x%d tile, one thread, %@%@: %.1f GFLOP/s, %.0f %% of the FMA peak, %.3f × the BLAS's CPU time",
                            TileShape.default.description, dim, t.backend, t.operandsPacked ? ", operands packed beforehand" : "",
                            t.gflops, 100 * t.peakShare, t.ratioToBLAS))
        }
        let fusedTile = timeFusedTile(x1: x1, x2: x2)
        progress(String(format: "the same tile with ranks, Σ s² and one τ, own GEMM: fused %.1f GFLOP/s, unfused %.1f GFLOP/s, "
                            + "fused/unfused CPU time %.3f", fusedTile.fusedGFLOPS, fusedTile.unfusedGFLOPS, fusedTile.ratio))
        var table: [Row] = []
        for threadCount in threads {
            for tile in tiles {
                var options = EvaluationOptions()
                options.tile = tile
                options.threads = threadCount
                options.gemm = gemm
                var workloads = [("defaults", options)]
                if tile == TileShape.default {
                    var twoTaus = options
                    twoTaus.temperatures = [0.05, 0.07]
                    // τ < 0.025 takes the general path: running maxima, two exps per element.
                    var smallTau = options
                    smallTau.temperatures = [0.05, 0.01]
                    var siglip = options
                    siglip.siglip = [SigLIPTerm(scale: 10, bias: -10)]
                    // The own GEMM fuses the defaults' first pass into its micro-kernel.
                    var otherGEMM = options
                    otherGEMM.gemm = gemm == .own ? .blas : .own
                    workloads += [("+1 τ", twoTaus), ("+τ 0.01", smallTau), ("+SigLIP", siglip), ("from .zst", options),
                                  (otherGEMM.gemm == .own ? "gemm own, fused" : "gemm blas", otherGEMM)]
                }
                // Runs go in rounds: a whole-matrix sgemm, then each workload once, starting one
                // further along each round so that no workload always runs first or last. A ratio
                // is the median over rounds of a run over a neighbour in its round: on a shared
                // machine the clock rate drifts between runs, and neighbours share most of it.
                var runs = [[(seconds: Double, cpuSeconds: Double, timing: TileTiming)]](repeating: [], count: workloads.count)
                var references: [Double] = []
                for round in 0..<repeats {
                    references.append(time(wholeSgemm))
                    for w in workloads.indices.map({ ($0 + round) % workloads.count }) {
                        let (name, workload) = workloads[w]
                        let timing = TileTiming()
                        let control = RunControl(timing: timing)
                        let cpuStart = processCPUSeconds()
                        let elapsed = try time {
                            if name == "from .zst" {
                                _ = try EvaluationRequest(x1: folder + "/x1", x2: folder + "/x2", options: workload).run(control: control)
                            } else {
                                _ = try Evaluation(x1: x1, x2: x2, pairs: pairs, options: workload).state(control: control)
                            }
                        }
                        runs[w].append((elapsed, processCPUSeconds() - cpuStart, timing))
                    }
                }
                for (w, (name, _)) in workloads.enumerated() {
                    let fastest = runs[w].min { $0.seconds < $1.seconds }!
                    let threadSeconds = fastest.seconds * Double(threadCount)
                    let row = Row(tile: tile, threads: threadCount, workload: name, seconds: fastest.seconds,
                                  gflops: flops / fastest.seconds / 1e9,
                                  ratio: Self.median(zip(runs[w], references).map { $0.seconds / $1 }),
                                  ratioToDefaults: w == 0 ? nil : Self.median(zip(runs[w], runs[0]).map { $0.seconds / $1.seconds }),
                                  cpuRatioToDefaults: w == 0 ? nil : Self.median(zip(runs[w], runs[0]).map { $0.cpuSeconds / $1.cpuSeconds }),
                                  sgemmShare: fastest.timing.sgemmSeconds / threadSeconds,
                                  epilogueShare: fastest.timing.epilogueSeconds / threadSeconds)
                    table.append(row)
                    progress(Self.format(row))
                }
            }
        }
        return Result(rows: rows, dim: dim, backend: BLAS.name, sgemmSeconds: sgemm, fmaPeakGFLOPS: peak, tileGEMMs: tileGEMMs, fusedTile: fusedTile,
                      table: table,
                      readerBytesPerSecondPerCore: perCore, readerBytesPerSecond: readerRate)
    }

    /// Each GEMM on one thread over one default tile (clipped to the sets), and the own GEMM
    /// again with its operands packed beforehand, in rounds that alternate the three: 5 ×
    /// `repeats` rounds, a tile taking milliseconds. Timed in this thread's CPU time, which
    /// time spent waiting for a core on a shared machine does not inflate.
    func timeTileGEMMs(x1: Embeddings, x2: Embeddings, peak: Double) -> [TileGEMM] {
        let m = min(TileShape.default.rows, rows), n = min(TileShape.default.cols, rows)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { product.deallocate() }
        let ways: [(gemm: GEMM, packed: Bool)] = GEMM.allCases.map { ($0, false) } + [(.own, true)]
        let workspace = UnsafeMutablePointer<Float>.allocate(capacity: max(1, GEMM.own.workspaceFloats(rows: m, cols: n, dim: dim)))
        defer { workspace.deallocate() }
        var seconds = [[Double]](repeating: [], count: ways.count)
        Self.withPackedTile(x1: x1, x2: x2, rows: m, cols: n) { packed in
            BLAS.withThreads(1) {
                for _ in 0..<(5 * repeats) {
                    for (w, way) in ways.enumerated() {
                        seconds[w].append(Self.threadCPUTime {
                            way.gemm.multiplyTransposed(x1.baseAddress, x2.baseAddress, into: product, m: m, n: n, k: dim, ldc: n,
                                                        workspace: workspace, packed: way.packed ? packed : nil)
                        })
                    }
                }
            }
        }
        let blas = seconds[ways.firstIndex { $0.gemm == .blas }!]
        let flops = 2 * Double(m) * Double(n) * Double(dim)
        return ways.enumerated().map { w, way in
            TileGEMM(gemm: way.gemm, backend: way.gemm.backendName, operandsPacked: way.packed, gflops: flops / seconds[w].min()! / 1e9,
                     ratioToBLAS: Self.median(zip(seconds[w], blas).map { $0 / $1 }),
                     peakShare: flops / seconds[w].min()! / 1e9 / peak)
        }
    }

    /// Times `FusedTile`'s two ways on one thread, alternating, 5 × `repeats` rounds. The
    /// synthetic pairs are identity pairs: column j's positive is x1 row j.
    func timeFusedTile(x1: Embeddings, x2: Embeddings) -> FusedTile {
        let m = min(TileShape.default.rows, rows), n = min(TileShape.default.cols, rows)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { product.deallocate() }
        let aNorms = UnsafeMutablePointer<Float>.allocate(capacity: m), bNorms = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { aNorms.deallocate(); bNorms.deallocate() }
        cs_row_norms(x1.baseAddress, m, dim, aNorms)
        cs_row_norms(x2.baseAddress, n, dim, bNorms)
        let positiveOf = (0..<n).map { Int32($0) }
        let exact = (0..<n).map { cs_dot_f64(x1.row($0), x2.row($0), dim) }
        var lower = [Float](repeating: 0, count: n), upper = [Float](repeating: 0, count: n)
        cs_f32_bounds(exact, n, &lower, &upper)
        var rowBeaten = [Int32](repeating: 0, count: m), columnBeaten = [Int32](repeating: 0, count: n)
        var moments = [0.0, 0.0], rowSum = [Double](repeating: 0, count: m), columnSum = [Double](repeating: 0, count: n)
        var columnPart = [Float](repeating: 0, count: n)
        let scale: Float = 20
        let stripRows = max(2, (512 << 10) / (4 * n) & ~1)
        var seconds: [(fused: Double, unfused: Double)] = []
        Self.withPackedTile(x1: x1, x2: x2, rows: m, cols: n) { packed in
            var packed = packed
            exact.withUnsafeBufferPointer { exact in
                lower.withUnsafeBufferPointer { lower in
                    upper.withUnsafeBufferPointer { upper in
                        positiveOf.withUnsafeBufferPointer { positiveOf in
                            let thresholds = cs_thresholds(exact: exact.baseAddress, lower: lower.baseAddress, upper: upper.baseAddress,
                                                           index: positiveOf.baseAddress)
                            func tile(rows: Range<Int>) -> cs_tile {
                                cs_tile(data: product + rows.lowerBound * n, rows: Int64(rows.count), cols: Int64(n), ld: Int64(n),
                                        row0: Int64(rows.lowerBound), col0: 0, a: x1.row(rows.lowerBound), b: x2.baseAddress,
                                        dim: Int64(dim), a_norms: aNorms + rows.lowerBound, b_norms: bNorms,
                                        gamma: cs_dot_error_bound(Int64(dim)), b_class: nil)
                            }
                            for _ in 0..<(5 * repeats) {
                                let fused = Self.threadCPUTime {
                                    rowBeaten.withUnsafeMutableBufferPointer { rowBeaten in
                                        columnBeaten.withUnsafeMutableBufferPointer { columnBeaten in
                                            moments.withUnsafeMutableBufferPointer { moments in
                                                rowSum.withUnsafeMutableBufferPointer { rowSum in
                                                    columnSum.withUnsafeMutableBufferPointer { columnSum in
                                                        let sums = [rowSum.baseAddress, columnSum.baseAddress]
                                                        withUnsafePointer(to: scale) { scale in
                                                            sums.withUnsafeBufferPointer { sums in
                                                                var epilogue = cs_fused_epilogue(
                                                                    positive_of_col: positiveOf.baseAddress, rows: thresholds, cols: thresholds,
                                                                    row_beaten: rowBeaten.baseAddress, col_beaten: columnBeaten.baseAddress,
                                                                    moments: moments.baseAddress, lse_count: 1, scales: scale,
                                                                    row_sums: sums.baseAddress, col_sums: sums.baseAddress! + 1, online: cs_online_lse(),
                                                                    softplus_scale: 0, softplus_bias: 0, softplus_sum: nil, top: cs_topk_lists())
                                                                cs_gemm_abt_fused(tile(rows: 0..<m), product, 0, nil, &packed, &epilogue)
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                                let unfused = Self.threadCPUTime {
                                    cs_gemm_abt(x1.baseAddress, x2.baseAddress, product, Int64(m), Int64(n), Int64(dim), Int64(n), nil, &packed)
                                    for first in stride(from: 0, to: m, by: stripRows) {
                                        let strip = tile(rows: first..<min(first + stripRows, m))
                                        cs_count_ranks(strip, thresholds, thresholds, &rowBeaten[first], &columnBeaten, &moments)
                                        cs_lse_fixed_shift(strip, positiveOf.baseAddress, scale, &rowSum[first], &columnSum, &columnPart)
                                    }
                                }
                                seconds.append((fused, unfused))
                            }
                        }
                    }
                }
            }
        }
        let flops = 2 * Double(m) * Double(n) * Double(dim)
        return FusedTile(fusedGFLOPS: flops / seconds.map(\.fused).min()! / 1e9,
                         unfusedGFLOPS: flops / seconds.map(\.unfused).min()! / 1e9,
                         ratio: Self.median(seconds.map { $0.fused / $0.unfused }))
    }

    /// `body` given x1's first `rows` rows and x2's first `cols` packed for the own GEMM as the
    /// engine packs a tile's operands (cs_gemm_pack).
    static func withPackedTile<R>(x1: Embeddings, x2: Embeddings, rows: Int, cols: Int, _ body: (cs_gemm_packed) -> R) -> R {
        let dim = x1.dim
        let a = UnsafeMutablePointer<Float>.allocate(capacity: GEMM.packedFloats(rows: rows, dim: dim, CS_GEMM_ROWS))
        let b = UnsafeMutablePointer<Float>.allocate(capacity: GEMM.packedFloats(rows: cols, dim: dim, CS_GEMM_COLUMNS))
        defer { [a, b].forEach { $0.deallocate() } }
        cs_gemm_pack(x1.baseAddress, Int64(rows), Int64(dim), CS_GEMM_ROWS, a)
        cs_gemm_pack(x2.baseAddress, Int64(cols), Int64(dim), CS_GEMM_COLUMNS, b)
        return body(cs_gemm_packed(a: a, b: b))
    }

    /// One core's FMA peak at the process's vector level: the own GEMM's micro-kernel without
    /// its loads (cs_fma_peak_loop, about 40 ms a run), the best of fifteen runs in this
    /// thread's CPU time, as other work on the machine slows a run but never speeds one.
    static func fmaPeakGFLOPS() -> Double {
        let blocks = cs_gemm_blocks_for(1)
        let iterations: Int64 = 10_000_000
        let flops = Double(iterations) * Double(blocks.mr * blocks.nr) * 2
        let seconds = (0..<15).map { _ in threadCPUTime { _ = cs_fma_peak_loop(iterations) } }.min()!
        return flops / seconds / 1e9
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    static func threadCPUTime(_ body: () -> Void) -> Double {
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let start = now()
        body()
        return now() - start
    }

    /// Reads every row of `set` into one reused buffer, a batch at a time as the reader checks
    /// and normalises them: each batch inside one compressed shard decodes on this thread (a
    /// batch that straddles two shards decodes its two pieces at once).
    func decodeOnOneCore(_ set: ShardSet) throws {
        let reader = SetReader(set: set, similarity: .cosine)
        let batch = Embeddings(rows: SetReader.batchRows(dim: set.dim), dim: set.dim)
        for first in stride(from: 0, to: set.rows, by: batch.rows) {
            try reader.read(first..<min(first + batch.rows, set.rows), into: (batch, first))
        }
    }

    static func format(_ r: Row) -> String {
        // Padded here, not by %-10@, which counts UTF-8 bytes (τ is two).
        func padded(_ text: String) -> String { text + String(repeating: " ", count: max(0, 10 - text.count)) }
        return String(format: "%@ %2d  %@ %7.3f s %6.1f GFLOP/s  sgemm %5.1f %%  epilogue %5.1f %%  other %5.1f %%  ratio %.3f",
               padded(r.tile.description), r.threads, padded(r.workload), r.seconds, r.gflops,
               100 * r.sgemmShare, 100 * r.epilogueShare, 100 * (1 - r.sgemmShare - r.epilogueShare), r.ratio)
            + (r.ratioToDefaults.map { String(format: "  (defaults × %.3f, CPU × %.3f)", $0, r.cpuRatioToDefaults ?? .nan) } ?? "")
    }
}

extension Benchmark.Result {
    public var json: JSONValue {
        .object([
            ("n", .integer(rows)), ("dim", .integer(dim)), ("backend", .string(backend)),
            ("sgemm_seconds", .number(sgemmSeconds)), ("fma_peak_gflops", .number(fmaPeakGFLOPS)), ("reader_bytes_per_second_per_core", .number(readerBytesPerSecondPerCore)),
            ("reader_bytes_per_second", .number(readerBytesPerSecond)),
            ("tile_gemm", .array(tileGEMMs.map {
                .object([("gemm", .string($0.gemm.rawValue)), ("backend", .string($0.backend)), ("operands_packed", .bool($0.operandsPacked)),
                         ("gflops", .number($0.gflops)), ("ratio_to_blas", .number($0.ratioToBLAS)),
                         ("peak_share", .number($0.peakShare))])
            })),
            ("fused_tile", .object([("fused_gflops", .number(fusedTile.fusedGFLOPS)),
                                    ("unfused_gflops", .number(fusedTile.unfusedGFLOPS)), ("ratio", .number(fusedTile.ratio))])),
            ("tiles", .array(table.map(\.json))),
        ])
    }
}

extension Benchmark.Row {
    var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("tile", .array([.integer(tile.rows), .integer(tile.cols)])), ("threads", .integer(threads)),
            ("workload", .string(workload)), ("seconds", .number(seconds)), ("gflops", .number(gflops)),
            ("sgemm_share", .number(sgemmShare)), ("epilogue_share", .number(epilogueShare)), ("ratio", .number(ratio)),
        ]
        if let ratioToDefaults { fields.append(("ratio_to_defaults", .number(ratioToDefaults))) }
        if let cpuRatioToDefaults { fields.append(("cpu_ratio_to_defaults", .number(cpuRatioToDefaults))) }
        return .object(fields)
    }
}
