import Foundation

/// What a dedup run writes and reports (docs/dedup.md).
public struct DedupResult: Sendable {
    public struct Counts: Sendable, Equatable {
        /// Within a set: clusters of more than one row; nil against OTHER.
        public var clusters: Int?
        /// Against OTHER: rows of the set with a match; nil within a set.
        public var matchedRows: Int?
        /// Rows that `keep.npy` drops.
        public var dropped = 0
    }

    /// nil for a part, whose pairs only `merge` turns into clusters.
    public var counts: Counts?
    /// Pairs this run (or part) found.
    public var pairs: Int
    public var rows: Int
    public var part: PartIndex?
    public var directory: String
    public var seconds: Double

    /// The summary line of docs/dedup.md.
    public var summary: String {
        let time = String(format: "%.2f s", seconds)
        guard let counts else {
            return "part \(part!): \(pairs) pairs → \(directory) (\(time)); merge the parts with `crosssim dedup --merge`"
        }
        let found = counts.matchedRows.map { "\($0) of \(rows) rows match a row of OTHER" }
            ?? "\(counts.clusters!) cluster\(counts.clusters == 1 ? "" : "s") of more than one row"
        return "\(pairs) pairs; \(found); keep.npy drops \(counts.dropped) of \(rows) rows, keeps \(rows - counts.dropped)"
            + " → \(directory) (\(time))"
    }
}

/// `crosssim dedup SET --threshold T --out DIR [--against OTHER]` as a library call: the pairs
/// of rows whose exact similarity reaches T, within SET (above the diagonal) or against OTHER.
public struct DedupRequest: Sendable {
    public var set: String
    public var against: String?
    public var threshold: Double
    public var similarity: Similarity = .cosine
    public var maxPairs: Int?
    public var part: PartIndex?
    public var tile: TileShape?
    public var threads: Int?
    /// `--memory-limit`: where the sets do not fit, SET's rows are held in panels and the
    /// columns streamed past them from their shards.
    public var memoryLimit: Int?
    public var directory: String

    public init(set: String, against: String? = nil, threshold: Double, directory: String) {
        self.set = set
        self.against = against
        self.threshold = threshold
        self.directory = directory
    }

    public func run(control: RunControl = RunControl()) throws -> DedupResult {
        let started = DispatchTime.now().uptimeNanoseconds
        guard threshold.isFinite else { throw InputError("bad --threshold \(threshold): it must be a finite number") }
        if let maxPairs, maxPairs < 0 { throw InputError("bad --max-pairs \(maxPairs): it must be ≥ 0") }
        let plan = TilePlan(tile: tile, threads: threads)
        let xSet = try ShardSet.open(set)
        let otherSet = try against.map { try ShardSet.open($0) }
        if let otherSet, otherSet.dim != xSet.dim {
            throw InputError("dimension mismatch between sets: SET has D = \(xSet.dim), OTHER has D = \(otherSet.dim)", file: against)
        }
        let rows = part.map { Self.rows(of: $0, total: xSet.rows, triangle: otherSet == nil) } ?? 0..<xSet.rows
        let cancellation = control.cancellation ?? CancellationFlag()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let consumer = try ThresholdConsumer(threshold: threshold, upperOnly: otherSet == nil, maxPairs: maxPairs,
                                             cancellation: cancellation, spillDirectory: directory)
        let pass = DedupPass(plan: plan, consumer: consumer, rows: rows, set: xSet, other: otherSet, similarity: similarity,
                             control: RunControl(progress: control.progress, cancellation: cancellation, timing: control.timing))
        let identities: (set: DedupPartHeader.SetIdentity, other: DedupPartHeader.SetIdentity?)
        do {
            let held = (xSet.rows + (otherSet?.rows ?? 0)) * xSet.dim * MemoryLayout<Float>.stride
            if let memoryLimit, DedupPass.fixedBytes(plan: plan, dim: xSet.dim) + held > memoryLimit {
                identities = try pass.streaming(memoryLimit: memoryLimit, paths: (set, against))
            } else {
                identities = try pass.held(paths: (set, against))
            }
        } catch is InterruptedError where consumer.exceededMaxPairs || consumer.error != nil {
            if let error = consumer.error { throw error }
            throw InputError("more than --max-pairs \(maxPairs!) pairs reach the threshold \(threshold): raise the threshold or --max-pairs; nothing was written")
        }
        let count = consumer.sorted.count
        // Each group of runs holds rows below the next group's: merged group by group, the pairs
        // come out in order with one read buffer per run of a group only.
        let merge = { (body: (UnsafeBufferPointer<PairRecord>) throws -> Void) in
            for group in pass.runGroups { try consumer.sorted.merge(Array(consumer.panelRuns[group]), body) }
        }
        var result = DedupResult(counts: nil, pairs: count, rows: xSet.rows, part: part, directory: directory, seconds: 0)
        if let part {
            let header = DedupPartHeader(part: part, rows: [rows.lowerBound, rows.upperBound], set: identities.set,
                                         against: identities.other, similarity: similarity, threshold: threshold, pairs: count)
            let files = try PairFiles(directory: directory, count: count)
            try merge(files.write)
            try header.write(to: directory)
            try files.commit()
        } else {
            result.counts = try DedupOutput.write(directory: directory, rows: xSet.rows, against: otherSet != nil, pairs: count, source: merge)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return result
    }

    /// The rows of part I of K. Within a set each row i meets the N − 1 − i rows after it, so the
    /// cuts fall where each part holds an equal share of those cells; against OTHER every row
    /// meets all of OTHER, and the parts are equal ranges.
    public static func rows(of part: PartIndex, total n: Int, triangle: Bool) -> Range<Int> {
        guard triangle else { return part.rows(of: n) }
        // Cells before row i: i·(N−1) − i(i−1)/2, in binary64 (N < 2³¹ keeps it exact enough
        // to cut; the cut need only be the same on every machine, which it is).
        func cut(_ k: Int) -> Int {
            if k == 0 { return 0 }
            if k == part.count { return n }
            let total = Double(n) * Double(n - 1) / 2
            let target = total * Double(k) / Double(part.count)
            // i² − (2N − 1)·i + 2·target = 0, the smaller root.
            let b = Double(2 * n - 1)
            let root = (b - (b * b - 8 * target).squareRoot()) / 2
            return min(n, max(0, Int(root.rounded(.up))))
        }
        return cut(part.index)..<cut(part.index + 1)
    }
}
