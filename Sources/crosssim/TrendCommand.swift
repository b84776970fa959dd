import ArgumentParser
import CrossSim
import CrossSimPlot

struct TrendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trend",
        abstract: "Draw metrics over a history of reports, in the order they were made, marking changes of input data.",
        discussion: """
            Metrics are named as compare names them: x1_to_x2.recall@K, x2_to_x1.mrr, x1_to_x2.mean_rank, \
            x1_to_x2.median_rank, x1_to_x2.infonce@TAU, x1_to_x2.dcl@TAU, symmetric.infonce@TAU, \
            symmetric.dcl@TAU. Default: recall@1 both ways and the symmetric InfoNCE at the first τ. A file \
            that is not a CrossSim report, or one without a "created" time, is exit 2.
            """)

    @Argument(help: "Reports (eval or merge --json), in any order.")
    var reports: [String]
    @Option(help: "Write the SVG here.")
    var out: String
    @Option(parsing: .upToNextOption, help: "Metrics to draw, one panel each.")
    var metric: [String] = []

    func run() throws {
        try OutputPath.checkFile(out, option: "--out")
        let trend = try Trend(paths: reports, metrics: try metric.map(ReportMetric.init(parsing:)))
        try AtomicFile.write(TrendPlot.svg(trend), to: out)
        print(trend.table)
        for note in trend.notes { CrossSimCommand.note(note) }
    }
}
