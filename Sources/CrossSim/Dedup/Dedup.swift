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
        try validate()
        let xSet = try ShardSet.open(set)
        let otherSet = try against.map { try ShardSet.open($0) }
        try checkDimensions(xSet.dim, otherSet?.dim)
        let rows = part.map { Self.rows(of: $0, total: xSet.rows, triangle: otherSet == nil) } ?? 0..<xSet.rows
        return try search(rows: rows, setRows: xSet.rows, against: otherSet != nil, started: started, control: control) { pass in
            let held = (xSet.rows + (otherSet?.rows ?? 0)) * xSet.dim * MemoryLayout<Float>.stride
            let identities = if let memoryLimit, DedupPass.fixedBytes(plan: pass.plan, dim: xSet.dim) + held > memoryLimit {
                try pass.streaming(set: xSet, other: otherSet, paths: (set, against), memoryLimit: memoryLimit)
            } else {
                try pass.read(set: xSet, other: otherSet, paths: (set, against))
            }
            return part.map {
                DedupPartHeader(part: $0, rows: [rows.lowerBound, rows.upperBound], set: identities.set, against: identities.other,
                                similarity: similarity, threshold: threshold, pairs: 0)
            }
        }
    }

    /// The same run over matrices in memory, which stay the caller's: rows checked as files'
    /// rows are (docs/inputs.md) and, under cosine, normalised into copies unless they are
    /// unit length already. `set` and `against` are the names messages give them; a part
    /// needs files (its header records their fingerprints).
    public func run(x: Embeddings, against other: Embeddings?, control: RunControl = RunControl()) throws -> DedupResult {
        let started = DispatchTime.now().uptimeNanoseconds
        try validate()
        guard part == nil else { throw InputError("a dedup part reads its set from files: give a path for --part") }
        guard x.rows > 0 else { throw InputError("empty set: it has no rows", file: set) }
        let prepared = try x.prepared(for: similarity, name: set).matrix
        let preparedOther = try other.map { try $0.prepared(for: similarity, name: against ?? "against").matrix }
        try checkDimensions(x.dim, other?.dim)
        return try search(rows: 0..<x.rows, setRows: x.rows, against: other != nil, started: started, control: control) { pass in
            try pass.held(x: prepared, other: preparedOther)
            return nil
        }
    }

    private func validate() throws {
        guard threshold.isFinite else { throw InputError("bad --threshold \(threshold): it must be a finite number") }
        if let maxPairs, maxPairs < 0 { throw InputError("bad --max-pairs \(maxPairs): it must be ≥ 0") }
    }

    private func checkDimensions(_ dim: Int, _ otherDim: Int?) throws {
        if let otherDim, otherDim != dim {
            throw InputError("dimension mismatch between sets: SET has D = \(dim), OTHER has D = \(otherDim)", file: against)
        }
    }

    /// Rows `rows` of SET (of `setRows`) against OTHER or SET's own later rows: `tiles` runs the
    /// pass's tiles and returns a part's header (else nil); the pairs become a part's files
    /// with it, else the whole run's.
    private func search(rows: Range<Int>, setRows: Int, against: Bool, started: UInt64, control: RunControl,
                        tiles: (DedupPass) throws -> DedupPartHeader?) throws -> DedupResult {
        let cancellation = control.cancellation ?? CancellationFlag()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let consumer = try ThresholdConsumer(threshold: threshold, upperOnly: !against, maxPairs: maxPairs,
                                             cancellation: cancellation, spillDirectory: directory)
        let pass = DedupPass(plan: TilePlan(tile: tile, threads: threads), consumer: consumer, rows: rows, similarity: similarity,
                             control: RunControl(progress: control.progress, cancellation: cancellation, timing: control.timing))
        let partHeader: DedupPartHeader?
        do {
            partHeader = try tiles(pass)
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
        var result = DedupResult(counts: nil, pairs: count, rows: setRows, part: part, directory: directory, seconds: 0)
        if var header = partHeader {
            header.pairs = count
            let files = try PairFiles(directory: directory, count: count)
            try merge(files.write)
            try header.write(to: directory)
            try files.commit()
        } else {
            result.counts = try DedupOutput.write(directory: directory, rows: setRows, against: against, pairs: count, source: merge)
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
