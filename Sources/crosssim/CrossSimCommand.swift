import ArgumentParser
import CrossSim
import Foundation

@main
struct CrossSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crosssim",
        abstract: "Contrastive losses and retrieval metrics between two large embedding sets, exactly, in bounded memory.",
        version: Provenance.version,
        subcommands: [EvalCommand.self, MergeCommand.self, CompareCommand.self, TrendCommand.self, DedupCommand.self, InspectCommand.self,
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
    static func useBetterBLASKernels() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["CROSSSIM_KEEP_BLAS"] == nil, let core = BLAS.betterCoreType(environment: environment) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // If the exec fails the run goes on with the kernels it has.
        unsetenv("OPENBLAS_CORETYPE")
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data(("crosssim: note: " + message + "\n").utf8))
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data(("crosssim: " + message + "\n").utf8))
        Foundation.exit(code)
    }
}
