import CrossSim
import Dispatch
import Foundation

/// Runs `body` with a progress bar on stderr (when it is a terminal and not `quiet`) and with
/// SIGINT/SIGTERM turned into a clean stop: the engine halts at its next tile, nothing is
/// written, and the process exits 130. Work that does not look at the flag (reading a large
/// shard) is cut off after a grace period, as is everything at a second signal; outputs are
/// only ever renamed into place whole, so exiting then leaves none half-written.
func withRunControl<T>(quiet: Bool, _ body: (RunControl) throws -> T) throws -> T {
    let progress = ProgressCounter()
    let cancellation = CancellationFlag()
    let signals = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if cancellation.isCancelled { exitInterrupted() }
            cancellation.cancel()
            DispatchQueue.global().asyncAfter(deadline: .now() + 3) { exitInterrupted() }
        }
        source.resume()
        return source
    }
    defer { signals.forEach { $0.cancel() } }
    let bar = !quiet && isatty(STDERR_FILENO) == 1 ? ProgressBar(progress) : nil
    defer { bar?.finish() }
    return try body(RunControl(progress: progress, cancellation: cancellation))
}

private func exitInterrupted() -> Never {
    AtomicFile.removePendingFiles()
    FileHandle.standardError.write(Data("\ncrosssim: interrupted; no output was written\n".utf8))
    exit(130)
}
