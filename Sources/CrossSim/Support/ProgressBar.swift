import Dispatch
import Foundation

/// `[#####.....] done/total tiles, rate, ETA`, redrawn a few times a second by a timer while a
/// run goes on (the command line's bar on stderr, docs/command-line.md).
///
/// The timer holds the bar weakly and is cancelled when the bar goes: a tick that races the
/// bar's release either finds nothing or holds the bar until it has drawn, so it never reads a
/// freed bar. Drawing and `finish()` take one lock, so no line follows the one that clears it.
public final class ProgressBar: @unchecked Sendable {
    private let progress: ProgressCounter
    private let output: @Sendable (String) -> Void
    private let timer: DispatchSourceTimer
    private let start = Date()
    private let lock = NSLock()
    private var finished = false  // under `lock`

    /// Starts drawing `progress` to `output` after `delay` seconds, then every `interval`.
    public init(_ progress: ProgressCounter, delay: Double = 0.5, interval: Double = 0.25,
                output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.progress = progress
        self.output = output
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + delay, repeating: interval)
        timer.setEventHandler { [weak self] in self?.draw() }
        timer.resume()
    }

    deinit { timer.cancel() }

    private func draw() {
        let done = progress.completed, total = max(progress.expected, 1)
        let elapsed = Date().timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = width * min(done, total) / total
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + String(format: "] %d/%d tiles, %.1f tiles/s, ETA %.0f s ", done, total, rate, eta)
        lock.withLock { if !finished { output(line) } }
    }

    /// Stops drawing and clears the line.
    public func finish() {
        timer.cancel()
        lock.withLock {
            finished = true
            output("\r\u{1B}[K")
        }
    }
}
