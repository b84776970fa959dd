import ArgumentParser
import CrossSim

/// `--neighbors-format npy|bigann` on `eval` and `merge`.
extension NeighborsFormat: ExpressibleByArgument {}

/// The neighbour options shared by `eval` and `merge`.
struct NeighborsOptions: ParsableArguments {
    @Option(help: "Write the top-k lists and hard negatives here (with --top-k or --hard-negatives on eval; from parts that kept them on merge).")
    var neighbors: String?
    @Option(name: .customLong("neighbors-format"),
            help: "npy (indices and scores .npy per direction, the default) or bigann (x1_to_x2.gt and x2_to_x1.gt, big-ann-benchmarks' ground truth).")
    var format: NeighborsFormat?

    /// Checks the options and the directory before a run.
    func check() throws {
        if format != nil && neighbors == nil { throw InputError("--neighbors-format needs --neighbors DIR") }
        if let neighbors { try OutputPath.checkDirectory(neighbors, option: "--neighbors") }
    }

    func write(_ state: PartialState, options: EvaluationOptions) throws {
        if let neighbors { try Neighbors.write(state, options: options, to: neighbors, format: format ?? .npy) }
    }
}
