import ArgumentParser
import CrossSim
import CrossSimPlot
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate x1 against x2: InfoNCE, SigLIP, ranks and diagnostics, without holding S.")

    @Argument(help: "The first set: a shard, a directory of shards, or a .txt manifest.")
    var x1: String
    @Argument(help: "The second set.")
    var x2: String
    @Option(help: "A .npy of integers (or an .ibin of int32 ids): x2 row j is a positive of x1 row pairs[j].")
    var pairs: String?
    @Option(help: "cosine (rows normalised on read) or dot.")
    var similarity: Similarity = .cosine
    @Option(parsing: .upToNextOption, help: "Temperatures τ (default 0.05).")
    var tau: [Double] = []
    @Option(name: .customLong("logit-scale"), parsing: .upToNextOption, help: "Logit scales S (τ = 1/S).")
    var logitScale: [Double] = []
    @Option(parsing: .upToNextOption, help: "SigLIP terms SCALE:BIAS, e.g. 10:-10.")
    var siglip: [String] = []
    @Option(parsing: .unconditional, help: "The k of recall@k, comma-separated (default 1,5,10).")
    var k: String?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the K best candidates per query both ways.")
    var topK: Int?
    @Flag(name: .customLong("queries-only"), help: "Only x1→x2, unlabelled: each x1 row's --top-k best x2 rows (exact ground truth), with no pairs, no labelled figures and nothing kept per x2 row.")
    var queriesOnly = false
    @OptionGroup var neighbors: NeighborsOptions
    @Option(name: .customLong("hard-negatives"), parsing: .unconditional, help: "Mine K hard negatives per query both ways (written with --neighbors DIR).")
    var hardNegatives: Int?
    @Option(parsing: .unconditional, help: "With --hard-negatives: a negative must score below the best positive by M.")
    var margin: Double?
    @Option(name: .customLong("relative-margin"), parsing: .unconditional, help: "With --hard-negatives: a negative must score below p − |p|·R, p the best positive.")
    var relativeMargin: Double?
    @Option(name: .customLong("range-min"), parsing: .unconditional, help: "With --hard-negatives: skip the A best negatives.")
    var rangeMin: Int?
    @Option(name: .customLong("range-max"), parsing: .unconditional, help: "With --hard-negatives: consider only the B best negatives.")
    var rangeMax: Int?
    @Option(name: .customLong("per-query"), help: "Write each query's rank, best positive, best negative and losses here as .npy files.")
    var perQuery: String?
    @Flag(name: .customLong("keep-per-query"), help: "Keep what per-query results need in the --state (implied by --per-query; give it to parts whose merge will write them).")
    var keepPerQuery = false
    @Flag(help: "Also report health without labels: effective rank (RankMe), modality gap and hubness.")
    var health = false
    @Option(name: .customLong("hubness-k"), parsing: .unconditional, help: "The k of hubness's k-occurrence (default 10).")
    var hubnessK: Int?
    @Flag(help: "Also report each set's uniformity (Wang & Isola, t = 2).")
    var uniformity = false
    @Option(help: "Write the full JSON report here.")
    var json: String?
    @Option(help: "Draw histograms, recall and losses on one SVG page here.")
    var plot: String?
    @Flag(help: "Gather the similarity histograms (implied by --plot; give it to parts whose merge will be plotted).")
    var histogram = false
    @Option(parsing: .unconditional, help: "Tile shape ROWSxCOLS (default 1024x2048).")
    var tile: String?
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int?
    @Option(help: "The tiles' matrix product: own (CrossSim's packed GEMM, with AVX-512 the first pass fused into it) or blas (default: \(GEMM.defaultRule); here \(GEMM.default)).")
    var gemm: GEMM?
    @Option(name: .customLong("memory-limit"), parsing: .unconditional, help: "Hold at most this much (e.g. 2G): x1 in panels, x2 streamed from its shards.")
    var memoryLimit: String?
    @Option(parsing: .unconditional, help: "Compute only the I-th of K equal ranges of x1 rows (0-based) and write its state.")
    var part: String?
    @Option(parsing: .unconditional, help: "K parts, the index taken from JOB_COMPLETION_INDEX (or SLURM_ARRAY_TASK_ID).")
    var parts: Int?
    @Option(help: "Write this run's partial state here, for `crosssim merge`.")
    var state: String?
    @Flag(help: "No progress bar.")
    var quiet = false

    /// The options that take several values, some of which may be negative (see `NegativeValues`).
    static let numberLists: Set<String> = ["--tau", "--logit-scale", "--siglip"]

    func options() throws -> EvaluationOptions {
        var options = EvaluationOptions()
        options.similarity = similarity
        for s in logitScale where !(s > 0) { throw InputError("bad --logit-scale \(s): S must be > 0, as τ = 1/S must be") }
        let taus = tau + logitScale.map { 1 / $0 }
        if queriesOnly, !taus.isEmpty || k != nil {
            throw InputError("--tau, --logit-scale and --k cannot go with --queries-only: its queries are unlabelled")
        }
        if !taus.isEmpty { options.temperatures = taus }
        options.siglip = try siglip.map(SigLIPTerm.init(parsing:))
        if let k {
            options.recallAt = try k.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let v = Int($0.trimmingCharacters(in: .whitespaces)) else { throw InputError("bad --k '\(k)': expected numbers such as 1,5,10") }
                return v
            }
        }
        options.topK = topK
        options.queriesOnly = queriesOnly
        options.uniformity = uniformity
        options.perQuery = perQuery != nil || keepPerQuery
        options.health = health
        try options.setHardNegativesAndHubness(count: hardNegatives, margin: margin, relativeMargin: relativeMargin,
                                               rangeMin: rangeMin, rangeMax: rangeMax, hubnessK: hubnessK)
        options.histogramBins = histogram || plot != nil ? SummaryPlot.histogramBins : nil
        options.tile = try tile.map(TileShape.init(parsing:))
        options.threads = threads
        options.gemm = gemm
        return options
    }

    func run() throws {
        if neighbors.neighbors != nil && topK == nil && hardNegatives == nil {
            throw InputError("--neighbors needs --top-k or --hard-negatives")
        }
        if hardNegatives != nil && neighbors.neighbors == nil && state == nil {
            throw InputError("--hard-negatives needs --neighbors DIR to write them (or --state, for a merge to write them)")
        }
        // The environment of an array job names the part only when a state is to be written.
        let part = try PartIndex.resolve(part: part, parts: parts,
                                         environment: state == nil && self.part == nil && parts == nil ? [:] : ProcessInfo.processInfo.environment)
        if let part, state == nil { throw InputError("--part \(part) needs --state F: a part's result is a state to merge") }
        if part != nil, json != nil || neighbors.neighbors != nil || plot != nil || perQuery != nil {
            throw InputError("a part writes only its --state; --json, --plot, --neighbors and --per-query come from `crosssim merge` (give parts --histogram for its plot, --top-k or --hard-negatives for its neighbours and --keep-per-query for its --per-query)")
        }
        for (option, path) in [("--json", json), ("--plot", plot), ("--state", state)] {
            if let path { try OutputPath.checkFile(path, option: option) }
        }
        try neighbors.check()
        if let perQuery { try OutputPath.checkDirectory(perQuery, option: "--per-query") }
        let request = EvaluationRequest(x1: x1, x2: x2, pairs: pairs, options: try options(), part: part,
                                        memoryLimit: try memoryLimit.map(ByteSize.parse))
        let (state, inputs, engine) = try withRunControl(quiet: quiet) { try request.run(control: $0) }
        if let path = self.state {
            try StateFile(part: part ?? PartIndex.whole, inputs: inputs, options: request.options, engine: engine, state: state)
                .write(to: path)
            if part != nil {
                print("part \(part!) of \(x1): x1 rows \(state.rows) → \(path)")
                return
            }
        }
        try neighbors.write(state, options: request.options)
        var report = Report(state: state, inputs: inputs, options: request.options, engine: engine)
        if let perQuery {
            try PerQuery(state: state, options: request.options).write(to: perQuery)
            report.perQueryPath = perQuery
        }
        try report.write(json: json, plot: plot)
        print(report.summary)
        for note in report.notes { CrossSimCommand.note(note) }
    }
}
