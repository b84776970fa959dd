import Foundation

/// A pair found by `dedup`: a row of the set, a column (a row of the set, or of OTHER), and
/// their exact similarity rounded to Float32. 12 bytes, as spilled to disk.
struct PairRecord: Comparable, BitwiseCopyable {
    var row: Int32
    var column: Int32
    var similarity: Float

    /// Pairs are ordered by row, then column (each pair is found once).
    static func < (a: PairRecord, b: PairRecord) -> Bool { (a.row, a.column) < (b.row, b.column) }
}

/// Pairs on their way to the outputs, kept in a hidden temporary file beside them as sorted
/// runs, so that a threshold admitting 10⁹ pairs needs disk, not memory. The file is never
/// committed: it is removed when the spill is released, and at an interrupt with the other
/// temporary files (`AtomicFile`).
final class PairSpill: @unchecked Sendable {
    /// Records `offset ..< offset + count` of the file, sorted.
    struct Run {
        var offset: Int
        var count: Int
    }

    private let file: AtomicFile
    private let reader: FileByteStream
    private let lock = NSLock()
    /// Records written so far.
    private(set) var count = 0

    /// A spill named after `name` (hidden, with the process id) in `directory`.
    init(directory: String, name: String) throws {
        file = try AtomicFile(path: (directory as NSString).appendingPathComponent(name))
        reader = try FileByteStream(path: file.temporaryPath)
    }

    /// Appends sorted records as one run; safe to call from any thread.
    func append(_ records: UnsafeBufferPointer<PairRecord>) throws -> Run {
        try lock.withLock {
            try file.write(UnsafeRawBufferPointer(records))
            defer { count += records.count }
            return Run(offset: count, count: records.count)
        }
    }

    /// Appends the records that `write` hands to its argument as one run, with no other
    /// append in between (they block until it is done).
    func appendRun(_ write: ((UnsafeBufferPointer<PairRecord>) throws -> Void) throws -> Void) throws -> Run {
        try lock.withLock {
            let start = count
            try write { records in
                try file.write(UnsafeRawBufferPointer(records))
                count += records.count
            }
            return Run(offset: start, count: count - start)
        }
    }

    /// Reads up to `buffer.count` records of `run` from its record `from` on; returns how many.
    func read(_ run: Run, from: Int, into buffer: UnsafeMutableBufferPointer<PairRecord>) throws -> Int {
        let wanted = min(buffer.count, run.count - from)
        let stride = MemoryLayout<PairRecord>.stride
        let bytes = try reader.read(at: (run.offset + from) * stride,
                                    into: UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: wanted * stride))
        guard bytes == wanted * stride else {
            throw InternalError("the pair spill \(file.temporaryPath) ended early (\(bytes) of \(wanted * stride) bytes)")
        }
        return wanted
    }

    /// Merges `runs` (each sorted) into one sorted sequence, handed to `body` a chunk at a time.
    /// Each run is read through a buffer of `PairSpill.readRecords`, so memory is bounded by the
    /// number of runs, not their length.
    func merge(_ runs: [Run], _ body: (UnsafeBufferPointer<PairRecord>) throws -> Void) throws {
        let cursors = try runs.filter { $0.count > 0 }.map { try Cursor(spill: self, run: $0) }
        // A binary min-heap of cursor indices by their current record.
        var heap = Array(cursors.indices)
        func less(_ a: Int, _ b: Int) -> Bool { cursors[heap[a]].current < cursors[heap[b]].current }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < heap.count && less(l, smallest) { smallest = l }
                if r < heap.count && less(r, smallest) { smallest = r }
                if smallest == i { return }
                heap.swapAt(i, smallest)
                i = smallest
            }
        }
        for i in stride(from: heap.count / 2, through: 0, by: -1) { siftDown(i) }
        var out: [PairRecord] = []
        out.reserveCapacity(Self.readRecords)
        while let top = heap.first {
            out.append(cursors[top].current)
            if try !cursors[top].advance() {
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
            }
            siftDown(0)
            if out.count == Self.readRecords {
                try out.withUnsafeBufferPointer(body)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try out.withUnsafeBufferPointer(body) }
    }

    /// Records read at a time from each run being merged (48 KiB).
    static let readRecords = 4096

    /// A run read through a buffer.
    private final class Cursor {
        let spill: PairSpill
        let run: Run
        var buffer: [PairRecord]
        var start = 0, at = 0

        init(spill: PairSpill, run: Run) throws {
            self.spill = spill
            self.run = run
            buffer = []
            try fill()
        }

        var current: PairRecord { buffer[at] }

        /// Moves to the next record; false at the end of the run.
        func advance() throws -> Bool {
            at += 1
            if at < buffer.count { return true }
            start += buffer.count
            guard start < run.count else { return false }
            try fill()
            return true
        }

        private func fill() throws {
            let count = min(PairSpill.readRecords, run.count - start)
            var failure: Error?
            buffer = [PairRecord](unsafeUninitializedCapacity: count) { memory, initialized in
                do { initialized = try spill.read(run, from: start, into: memory) } catch { failure = error; initialized = 0 }
            }
            if let failure { throw failure }
            at = 0
        }
    }
}
