import ArgumentParser
import CrossSim
import Foundation

@main
struct CrossSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crosssim",
        abstract: "Contrastive losses and retrieval metrics between two large embedding sets, exactly, in bounded memory.",
        version: Provenance.version,
        subcommands: [EvalCommand.self, GradCommand.self, MergeCommand.self, CompareCommand.self, TrendCommand.self, DedupCommand.self, InspectCommand.self,
                      SynthCommand.self, BenchCommand.self, HeatmapCommand.self])

    /// The exit codes of docs/command-line.md: 2 for bad input or usage, 1 for internal
    /// failures, 130 when interrupted.
    static func main() {
        useBetterBLASKernels()
        do {
            let arguments = NegativeValues.attached(Array(CommandLine.arguments.dropFirst()), lists: EvalCommand.numberLists)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as InputError {
            fail("error: \(error)", code: 2)
        } catch let error as InterruptedError {
            fail("\(error)", code: 130)
        } catch let error as InternalError {
            fail("internal error: \(error)", code: 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            // ArgumentParser's usage errors (its code 64) are bad usage: exit 2 (docs/command-line.md).
            let isUsage = code == .validationFailure || error is ValidationError
            fail(fullMessage(for: error), code: isUsage ? 2 : code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    /// Re-runs this process once with `OPENBLAS_CORETYPE` set when the BLAS picked kernels
    /// far below what the CPU runs (see `BLAS.betterCoreType`); `CROSSSIM_KEEP_BLAS=1` opts out.
    /// The second start also sets `OPENBLAS_THREAD_TIMEOUT` (unless the caller did): OpenBLAS's
    /// idle threads otherwise spin in `sched_yield` for 2²⁸ cycles after it loads, 0.065 s of a
    /// core taken from reading and packing (2.8 % of a two-core D = 768 evaluation's wall
    /// clock); 2²⁰ cycles still keep them awake between back-to-back calls.
    static func useBetterBLASKernels() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["CROSSSIM_KEEP_BLAS"] == nil, let core = BLAS.betterCoreType(environment: environment) else { return }
        let settings = [("OPENBLAS_CORETYPE", core), ("OPENBLAS_THREAD_TIMEOUT", "20")].filter { environment[$0.0] == nil }
        for (name, value) in settings { setenv(name, value, 1) }
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // If the exec fails the run goes on with the kernels it has.
        for (name, _) in settings { unsetenv(name) }
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data(("crosssim: note: " + message + "\n").utf8))
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data(("crosssim: " + message + "\n").utf8))
        Foundation.exit(code)
    }
}
