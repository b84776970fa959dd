import Synchronization

/// Tiles done so far out of the run's total, readable from any thread while a run goes on
/// (the command line draws its progress bar from it).
public final class ProgressCounter: Sendable {
    private let done = Atomic<Int>(0)
    private let total = Atomic<Int>(0)

    public init() {}

    public var completed: Int { done.load(ordering: .relaxed) }
    public var expected: Int { total.load(ordering: .relaxed) }

    func expect(_ tiles: Int) { total.add(tiles, ordering: .relaxed) }
    func complete(_ tiles: Int = 1) { done.add(tiles, ordering: .relaxed) }
}

/// Set from a signal handler or another thread; the engine stops at the next tile and
/// throws `InterruptedError`.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    func check() throws {
        if isCancelled { throw InterruptedError() }
    }
}

/// Thread-seconds the workers spent in sgemm and in the epilogue, summed over tiles: the
/// split `crosssim bench` reports, measured inside the run it describes.
public final class TileTiming: Sendable {
    private let sgemm = Atomic<UInt64>(0)
    private let epilogue = Atomic<UInt64>(0)

    public init() {}

    public var sgemmSeconds: Double { Double(sgemm.load(ordering: .relaxed)) / 1e9 }
    public var epilogueSeconds: Double { Double(epilogue.load(ordering: .relaxed)) / 1e9 }

    func add(sgemm: UInt64, epilogue: UInt64) {
        self.sgemm.add(sgemm, ordering: .relaxed)
        self.epilogue.add(epilogue, ordering: .relaxed)
    }
}

/// What a run may be watched and stopped by.
public struct RunControl: Sendable {
    public var progress: ProgressCounter?
    public var cancellation: CancellationFlag?
    public var timing: TileTiming?

    public init(progress: ProgressCounter? = nil, cancellation: CancellationFlag? = nil, timing: TileTiming? = nil) {
        self.progress = progress
        self.cancellation = cancellation
        self.timing = timing
    }
}
