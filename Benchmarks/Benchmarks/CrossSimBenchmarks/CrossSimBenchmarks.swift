import Benchmark
import CrossSim
import CrossSimSynthetic
import Foundation

/// Sizes small enough for many iterations, large enough that tiles are full.
let rows = Int(ProcessInfo.processInfo.environment["CROSSSIM_BENCH_N"] ?? "") ?? 4096
let dim = Int(ProcessInfo.processInfo.environment["CROSSSIM_BENCH_D"] ?? "") ?? 768

/// Synthetic sets in memory, and the same sets as float16 .npy.zst shards on disk.
let synthetic = SyntheticPairs(rows: rows, dim: dim)
let sample = try! synthetic.generate()
let shards: String = {
    let directory = NSTemporaryDirectory() + "crosssim-bench-\(rows)x\(dim)"
    if !FileManager.default.fileExists(atPath: directory + "/x1") {
        try! synthetic.write(to: directory, shards: 4, element: .float16, zstdLevel: 3)
    }
    return directory
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(10), maxIterations: 20)
    let gflopsMetric = BenchmarkMetric.custom("GFLOP/s", polarity: .prefersLarger, useScalingFactor: false)
    let decodedMetric = BenchmarkMetric.custom("decoded MB/s", polarity: .prefersLarger, useScalingFactor: false)

    // The whole evaluation (one τ, ranks both ways, diagnostics) with its rate in GFLOP/s
    // (2·N²·D per run).
    let flops = 2 * Double(rows) * Double(rows) * Double(dim)
    func evaluation(_ name: String, _ options: EvaluationOptions) {
        Benchmark(name, configuration: .init(metrics: [.wallClock, .peakMemoryResident, gflopsMetric])) { benchmark in
            for _ in benchmark.scaledIterations {
                let start = ContinuousClock.now
                blackHole(try Evaluation(x1: sample.x1, x2: sample.x2, options: options).state())
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                benchmark.measurement(gflopsMetric, Int(flops / seconds / 1e9))
            }
        }
    }
    // The tile sweep, the default 1024x2048 among them.
    for tile in ["128x128", "256x512", "512x1024", "1024x1024", "1024x2048", "2048x2048"] {
        var options = EvaluationOptions()
        options.tile = try! TileShape(parsing: tile)
        evaluation("Evaluation tile \(tile) N=\(rows) D=\(dim)", options)
    }
    // The tiles' two matrix products (`--gemm`) at the default tile.
    for gemm in GEMM.allCases {
        var options = EvaluationOptions()
        options.gemm = gemm
        evaluation("Evaluation --gemm \(gemm) N=\(rows) D=\(dim)", options)
    }

    // The reader (shards decode on all cores): decoded Float32 MB/s from float16 .npy.zst shards
    // (target ≥ 1000 MB/s per core), normalisation included.
    Benchmark("Reader f16 .npy.zst → Float32 (\(rows)×\(dim), 4 shards)",
              configuration: .init(metrics: [.wallClock, .peakMemoryResident, decodedMetric])) { benchmark in
        for _ in benchmark.scaledIterations {
            let start = ContinuousClock.now
            let matrix = try Embeddings.load(path: shards + "/x2", similarity: .cosine)
            let seconds = (ContinuousClock.now - start) / .seconds(1)
            benchmark.measurement(decodedMetric, Int(Double(matrix.byteCount) / seconds / 1e6))
            blackHole(matrix)
        }
    }
}
