import CrossSim
import Foundation
import XCTest

/// The progress bar's timer against the bar's lifetime: ticks that fire while, or after, the
/// bar goes must not touch it (a freed bar made the process trap).
final class ProgressBarTests: XCTestCase {
    /// What a bar wrote, from whichever thread its timer ran on.
    final class Lines: @unchecked Sendable {
        private var lines: [String] = []
        private let lock = NSLock()
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    func testABarDrawsTheTileCount() throws {
        let lines = Lines()
        let bar = ProgressBar(ProgressCounter(), delay: 0, interval: 0.001, output: lines.append)
        let deadline = Date().addingTimeInterval(5)
        while lines.all.isEmpty && Date() < deadline { usleep(1000) }
        bar.finish()
        XCTAssertTrue(lines.all.first?.contains("0/1 tiles") == true, "\(lines.all.prefix(1))")
        XCTAssertEqual(lines.all.last, "\r\u{1B}[K", "finish clears the line, and nothing follows it")
    }

    /// Bars released while their timers tick fast, with and without `finish()`: no tick may
    /// reach a released bar, and none draws after the line is cleared.
    func testTicksRacingTheBarsReleaseNeverTouchIt() throws {
        for round in 0..<1000 {
            let lines = Lines()
            do {
                let bar = ProgressBar(ProgressCounter(), delay: 0, interval: 0.00001, output: lines.append)
                usleep(UInt32(round % 7) * 50)
                if round % 2 == 0 { bar.finish() }
            }
            if round % 2 == 0 { XCTAssertEqual(lines.all.last, "\r\u{1B}[K", "round \(round)") }
        }
        usleep(20_000)  // ticks still queued when the last bars went
        let lines = Lines()
        do { _ = ProgressBar(ProgressCounter(), delay: 0, interval: 0.0001, output: lines.append) }
        let drawn = lines.all.count
        usleep(20_000)
        XCTAssertLessThanOrEqual(lines.all.count, drawn + 1, "a released bar stops drawing (one tick may have been in flight)")
    }
}
