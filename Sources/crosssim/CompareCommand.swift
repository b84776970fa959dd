import ArgumentParser
import CrossSim
import CrossSimPlot

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two reports of the same queries: per metric, the difference with a paired bootstrap interval and a verdict.",
        discussion: """
            Both reports need per-query results (eval --per-query DIR) over the same queries: the same \
            N1, N2 and pairs. Exit codes: 0, 2 for reports that cannot be compared (the reason names \
            the file), 3 with --fail-on-regression when a metric regressed.
            """)

    @Argument(help: "The report to compare against (the last good one).")
    var base: String
    @Argument(help: "The report of the model to judge.")
    var new: String
    @Option(parsing: .unconditional, help: "Bootstrap resamples B.")
    var bootstrap: Int = 10_000
    @Option(parsing: .unconditional, help: "Confidence C of the percentile intervals.")
    var confidence: Double = 0.95
    @Option(parsing: .unconditional, help: "Seed of the resampling (the same seed gives the same intervals).")
    var seed: UInt64 = 0
    @Option(parsing: .unconditional, help: "A verdict needs the whole interval beyond ±X (in each metric's units).")
    var tolerance: Double = 0
    @Flag(name: .customLong("fail-on-regression"), help: "Exit with code 3 when any metric regressed.")
    var failOnRegression = false
    @Option(help: "Write the comparison as JSON (schema crosssim.compare/1) here.")
    var json: String?
    @Option(help: "Draw the differences with their intervals as SVG here.")
    var plot: String?

    func run() throws {
        for (option, path) in [("--json", json), ("--plot", plot)] {
            if let path { try OutputPath.checkFile(path, option: option) }
        }
        var options = Comparison.Options()
        options.resamples = bootstrap
        options.confidence = confidence
        options.seed = seed
        options.tolerance = tolerance
        let comparison = try Comparison(base: base, new: new, options: options)
        if let json { try comparison.write(json: json) }
        if let plot { try AtomicFile.write(ComparisonPlot.svg(comparison), to: plot) }
        print(comparison.table)
        for note in comparison.notes { CrossSimCommand.note(note) }
        if failOnRegression && comparison.hasRegression {
            CrossSimCommand.fail("regressed: " + comparison.metrics.filter { $0.verdict == .regressed }.map(\.name).joined(separator: ", "),
                                 code: 3)
        }
    }
}
