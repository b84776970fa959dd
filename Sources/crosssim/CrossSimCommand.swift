import ArgumentParser
import CrossSim
import Foundation

@main
struct CrossSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crosssim",
        abstract: "Contrastive losses and retrieval metrics between two large embedding sets, exactly, in bounded memory.",
        version: "0.1.0",
        subcommands: [EvalCommand.self, MergeCommand.self, InspectCommand.self, SynthCommand.self])

    /// SPEC §4's exit codes: 2 for bad input or usage, 1 for internal failures, 130 when
    /// interrupted.
    static func main() {
        do {
            var command = try parseAsRoot()
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
            // ArgumentParser's usage errors (its code 64) are bad usage: exit 2 as SPEC says.
            let isUsage = code == .validationFailure || error is ValidationError
            fail(fullMessage(for: error), code: isUsage ? 2 : code.rawValue == 0 ? 1 : code.rawValue)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data(("crosssim: " + message + "\n").utf8))
        Foundation.exit(code)
    }
}
