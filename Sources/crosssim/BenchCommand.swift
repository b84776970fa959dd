import ArgumentParser
import CrossSim
import CrossSimBench

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the whole evaluation against sgemm alone over tile shapes and thread counts, and both GEMMs on one tile.")

    @Option(parsing: .unconditional, help: "Rows of each synthetic set.") var n: Int = 16384
    @Option(parsing: .unconditional, help: "Dimension.") var dim: Int = 768
    @Option(parsing: .unconditional, help: "Tile shapes, comma-separated ROWSxCOLS.") var tiles: String?
    @Option(parsing: .unconditional, help: "Thread counts, comma-separated (default: all cores).") var threads: String?
    @Option(parsing: .unconditional, help: "Rounds of timed runs: seconds are the fastest round's, ratios the median over rounds.") var repeats: Int = 2
    @Option(help: "The evaluations' matrix product: own or blas (default: \(GEMM.defaultRule); here \(GEMM.default)); the default tile also runs the other.") var gemm: GEMM = .default
    @Option(help: "Write the table as JSON here.") var json: String?

    func run() throws {
        var bench = Benchmark(rows: n, dim: dim, repeats: max(1, repeats), gemm: gemm)
        if let tiles { bench.tiles = try tiles.split(separator: ",").map { try TileShape(parsing: String($0)) } }
        if let threads {
            bench.threads = try threads.split(separator: ",").map {
                guard let t = Int($0) else { throw InputError("bad --threads '\(threads)': expected numbers such as 1,2,4") }
                return t
            }
        }
        try bench.validate()
        if let json { try OutputPath.checkFile(json, option: "--json") }
        print("N = \(n), D = \(dim), \(BLAS.name)")
        let result = try bench.run { print($0) }
        if let json { try AtomicFile.write(result.json.rendered() + "\n", to: json) }
    }
}
