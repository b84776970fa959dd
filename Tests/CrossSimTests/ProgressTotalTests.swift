import CrossSim
import Foundation
import XCTest

/// The progress bar's ETA rests on the run's total tiles: it must be known from the first tile
/// on, not grow as panels (a memory limit) or the uniformity pass start. Each engine run used
/// to add its own tiles when it began.
final class ProgressTotalTests: XCTestCase {
    final class Samples: @unchecked Sendable {
        private let lock = NSLock()
        private var totals: Set<Int> = []
        func add(_ total: Int) { lock.withLock { _ = totals.insert(total) } }
        var all: Set<Int> { lock.withLock { totals } }
    }

    /// Runs `body` on another thread and records the expected total whenever a tile is done.
    func totalsSeen(_ progress: ProgressCounter, _ body: @escaping @Sendable () throws -> Void) throws -> Set<Int> {
        let samples = Samples()
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Thread.detachNewThread {
            do { try body() } catch { failure = error }
            done.signal()
        }
        while done.wait(timeout: .now() + .microseconds(200)) == .timedOut {
            if progress.completed > 0 { samples.add(progress.expected) }
        }
        if let failure { throw failure }
        return samples.all
    }

    func testTheTotalIsKnownFromTheFirstTile() throws {
        let x1 = TestMatrix.gaussian(rows: 1200, dim: 32, seed: 60)
        let x2 = TestMatrix.noisy(x1, owner: Array(0..<1200), sigma: 0.8, seed: 61)
        let dir = try temporaryDirectory(self)
        try x1.writeNPY(to: dir + "/x1.npy")
        try x2.writeNPY(to: dir + "/x2.npy")
        var options = EvaluationOptions()
        options.tile = TileShape(rows: 16, cols: 32)
        let set1 = try ShardSet.open(dir + "/x1.npy"), set2 = try ShardSet.open(dir + "/x2.npy")
        let limit = StreamingEvaluation.fixedBytes(set1: set1, set2: set2, options: options) + (x1.values.count + x2.values.count) * 4 / 8
        let streaming = try StreamingEvaluation(set1: set1, set2: set2, pairs: nil, options: options, memoryLimit: limit)
        XCTAssertLessThan(try streaming.panels(rows: 1200).x1, 600, "x1 in several panels")
        let limited = ProgressCounter()
        let totals = try totalsSeen(limited) { _ = try streaming.state(control: RunControl(progress: limited)) }
        XCTAssertEqual(totals, [limited.completed], "under a memory limit")

        options.uniformity = true
        let evaluation = try Evaluation(x1: x1.embeddings(.cosine), x2: x2.embeddings(.cosine), options: options)
        let inMemory = ProgressCounter()
        let uniformityTotals = try totalsSeen(inMemory) { _ = try evaluation.state(control: RunControl(progress: inMemory)) }
        XCTAssertEqual(uniformityTotals, [inMemory.completed], "with uniformity")
    }
}
