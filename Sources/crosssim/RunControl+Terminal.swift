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

/// `[#####.....] done/total tiles, rate, ETA`, redrawn a few times a second.
final class ProgressBar: @unchecked Sendable {
    private let progress: ProgressCounter
    private let timer: DispatchSourceTimer
    private let start = Date()

    init(_ progress: ProgressCounter) {
        self.progress = progress
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.5, repeating: 0.25)
        timer.setEventHandler { [unowned self] in draw() }
        timer.resume()
    }

    private func draw() {
        let done = progress.completed, total = max(progress.expected, 1)
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = width * min(done, total) / total
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + String(format: "] %d/%d tiles, %.1f tiles/s, ETA %.0f s ", done, total, rate, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        timer.cancel()
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
