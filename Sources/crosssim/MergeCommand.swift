import ArgumentParser
import CrossSim
import CrossSimPlot

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the state files of all parts of a run (any order) into the run's report.")

    @Argument(help: "State files written by `eval --part I/K --state F`.")
    var states: [String]
    @Option(help: "Write the full JSON report here.")
    var json: String?
    @Option(help: "Draw histograms (if the parts gathered them), recall and losses on one SVG page here.")
    var plot: String?
    @Option(name: .customLong("per-query"), help: "Write each query's rank, best positive, best negative and losses here as .npy files.")
    var perQuery: String?
    @OptionGroup var neighbors: NeighborsOptions
    @Option(help: "Gradient parts (`grad --part`): write x1.grad.npy, x2.grad.npy and report.json here.")
    var out: String?

    func run() throws {
        if try mergeGradientParts() { return }
        for (option, path) in [("--json", json), ("--plot", plot)] {
            if let path { try OutputPath.checkFile(path, option: option) }
        }
        if let perQuery { try OutputPath.checkDirectory(perQuery, option: "--per-query") }
        try neighbors.check()
        let merged = try MergedRun(paths: states)
        if neighbors.neighbors != nil && merged.options.topK == nil && merged.options.hardNegatives == nil {
            throw InputError("--neighbors needs parts run with --top-k or --hard-negatives")
        }
        try neighbors.write(merged.state, options: merged.options)
        var report = merged.report
        if let perQuery {
            try PerQuery(state: merged.state, options: merged.options).write(to: perQuery)
            report.perQueryPath = perQuery
        }
        try report.write(json: json, plot: plot)
        print(report.summary)
        for note in report.notes { CrossSimCommand.note(note) }
    }
}
