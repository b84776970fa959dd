import ArgumentParser
import CrossSim
import Foundation

struct GradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "The gradient of InfoNCE or SigLIP with respect to the raw rows of x1 and x2, without holding S.")

    @Argument(help: "The first set: a shard, a directory of shards, or a .txt manifest.")
    var x1: String
    @Argument(help: "The second set.")
    var x2: String
    @Option(help: "A .npy of integers: x2 row j is a positive of x1 row pairs[j].")
    var pairs: String?
    @Option(help: "cosine (the gradient goes through the row normalisation) or dot.")
    var similarity: Similarity = .cosine
    @Option(parsing: .unconditional, help: "The symmetric InfoNCE at temperature τ.")
    var tau: Double?
    @Option(parsing: .unconditional, help: "The SigLIP loss with SCALE:BIAS, e.g. 10:-10.")
    var siglip: String?
    @Option(help: "Write x1.grad.npy, x2.grad.npy and report.json here.")
    var out: String?
    @Option(parsing: .unconditional, help: "Tile shape ROWSxCOLS (default 1024x2048).")
    var tile: String?
    @Option(parsing: .unconditional, help: "Worker threads (default: all cores).")
    var threads: Int?
    @Option(name: .customLong("memory-limit"), parsing: .unconditional, help: "Hold at most this much (e.g. 2G): x1 in panels, x2 streamed from its shards; x2's gradient is held.")
    var memoryLimit: String?
    @Option(parsing: .unconditional, help: "Compute only the I-th of K equal ranges of x1 rows (0-based) and write its state.")
    var part: String?
    @Option(parsing: .unconditional, help: "K parts, the index taken from JOB_COMPLETION_INDEX (or SLURM_ARRAY_TASK_ID).")
    var parts: Int?
    @Option(parsing: .upToNextOption, help: "State files of `eval` over every x1 row with the same loss: a part's column log-sum-exps.")
    var columns: [String] = []
    @Option(help: "With --part: write the part's gradients here, for `crosssim merge`.")
    var state: String?
    @Flag(help: "No progress bar.")
    var quiet = false

    func options() throws -> GradientOptions {
        var options = GradientOptions()
        options.similarity = similarity
        switch (tau, siglip) {
        case (let tau?, nil): options.loss = .infonce(tau: tau)
        case (nil, let term?): options.loss = .siglip(try SigLIPTerm(parsing: term))
        default: throw InputError("give the loss: --tau T (InfoNCE) or --siglip SCALE:BIAS, one of them")
        }
        options.tile = try tile.map(TileShape.init(parsing:))
        options.threads = threads
        return options
    }

    func run() throws {
        let options = try options()
        let part = try PartIndex.resolve(part: part, parts: parts,
                                         environment: state == nil && self.part == nil && parts == nil ? [:] : ProcessInfo.processInfo.environment)
        switch (part, state, out) {
        case (_?, _?, nil), (nil, nil, _?): break
        case (_?, nil, _): throw InputError("--part needs --state F: a part's gradients are a state to merge")
        case (_?, _?, _?): throw InputError("a part writes only its --state; --out comes from `crosssim merge`")
        case (nil, _, _): throw InputError("give --out DIR for the gradients (--state is for parts)")
        }
        if let state { try OutputPath.checkFile(state, option: "--state") }
        if let out { try OutputPath.checkDirectory(out, option: "--out") }
        let request = GradientRequest(x1: x1, x2: x2, pairs: pairs, options: options, part: part, columns: columns,
                                      memoryLimit: try memoryLimit.map(ByteSize.parse))
        let destination = state.map(GradientDestination.part) ?? .directory(out!)
        let report = try withRunControl(quiet: quiet) { try request.run(into: destination, control: $0) }
        if let part, let state {
            print("part \(part) of \(x1): x1 rows \(part.rows(of: report.inputs.x1.rows)) → \(state)")
            return
        }
        print(report.summary)
        print("\n\(options.loss): \(options.loss.value(in: report)!); gradients in \(out!)")
    }
}

extension MergeCommand {
    /// `merge` of gradient parts, told from eval states by their magic: sums them into `--out`.
    /// Returns false when the files are eval states (and `--out` was not given).
    func mergeGradientParts() throws -> Bool {
        guard try states.contains(where: GradientPartFile.isGradientPart) else {
            if out != nil { throw InputError("--out is for gradient parts (from `grad --part`); eval states merge into --json") }
            return false
        }
        guard let out, json == nil, plot == nil, perQuery == nil, neighbors.neighbors == nil else {
            throw InputError("gradient parts merge into --out DIR, which holds their report: --json, --plot, --per-query and --neighbors are for eval states")
        }
        try OutputPath.checkDirectory(out, option: "--out")
        let merged = try GradientPartFile.merge(paths: states, into: out)
        print("merged \(merged.parts) gradient parts → \(out)")
        return true
    }
}
