import ArgumentParser
import CrossSim

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the state files of all parts of a run (any order) into the run's report.")

    @Argument(help: "State files written by `eval --part I/K --state F`.")
    var states: [String]
    @Option(help: "Write the full JSON report here.")
    var json: String?

    func run() throws {
        let merged = try MergedRun(paths: states)
        let report = merged.report
        if let json { try AtomicFile.write(report.json.rendered() + "\n", to: json) }
        print(report.summary)
    }
}
