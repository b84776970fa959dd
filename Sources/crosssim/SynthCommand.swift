import ArgumentParser
import CrossSim
import CrossSimSynthetic

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic pair of sharded sets: x2 = normalise(x1 + σ·noise), deterministic by seed.")

    @Argument(help: "Output directory (x1/, x2/, and pairs.npy with --captions > 1).")
    var directory: String
    @Option(parsing: .unconditional, help: "Rows of x1.") var n: Int
    @Option(parsing: .unconditional, help: "Dimension.") var dim: Int
    @Option(parsing: .unconditional, help: "Noise length relative to the signal.") var noise: Double = 4
    @Option(parsing: .unconditional, help: "x2 rows per x1 row.") var captions: Int = 1
    @Option(parsing: .unconditional, help: "Shards per set.") var shards: Int = 1
    @Option(help: "f16 or f32.") var dtype: String = "f32"
    @Option(parsing: .unconditional, help: "Compress each shard with zstd at this level.") var zstd: Int?
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 0

    func run() throws {
        let element: NPYWriter.Element
        switch dtype {
        case "f16": element = .float16
        case "f32": element = .float32
        default: throw InputError("bad --dtype '\(dtype)': f16 or f32")
        }
        try OutputPath.checkDirectory(directory, option: "DIR")
        let synthetic = SyntheticPairs(rows: n, dim: dim, noise: noise, captions: captions, seed: seed)
        let written = try synthetic.write(to: directory, shards: shards, element: element, zstdLevel: zstd)
        print("wrote \(written.count) files under \(directory): x1 \(n) × \(dim), x2 \(n * captions) × \(dim)")
    }
}
