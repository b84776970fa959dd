import Foundation

/// `pairs.npy` (int64 [P, 2]) and `similarity.npy` (float32 [P]) written as the pairs stream
/// past in (row, column) order, each atomically; P is known before the first pair.
final class PairFiles {
    private let pairs: AtomicFile
    private let similarity: AtomicFile
    private let expected: Int
    private var written = 0

    init(directory: String, count: Int) throws {
        expected = count
        pairs = try AtomicFile(path: (directory as NSString).appendingPathComponent("pairs.npy"))
        similarity = try AtomicFile(path: (directory as NSString).appendingPathComponent("similarity.npy"))
        try pairs.write(NPYWriter.header(shape: [count, 2], element: .int64))
        try similarity.write(NPYWriter.header(shape: [count], element: .float32))
    }

    func write(_ records: UnsafeBufferPointer<PairRecord>) throws {
        let indices = records.flatMap { [Int64($0.row).littleEndian, Int64($0.column).littleEndian] }
        let scores = records.map { $0.similarity.bitPattern.littleEndian }
        try indices.withUnsafeBytes { try pairs.write($0) }
        try scores.withUnsafeBytes { try similarity.write($0) }
        written += records.count
    }

    func commit() throws {
        precondition(written == expected, "\(written) pairs written of the \(expected) the header declares")
        try pairs.commit()
        try similarity.commit()
    }
}

/// What the pairs say of each row of the set, built as they stream past.
enum PairSummary {
    /// Within one set: connected components by union-find, each named by its smallest row
    /// (the root is always a component's smallest row).
    final class Clusters {
        private var parent: [Int32]

        init(rows: Int) { parent = (0..<rows).map { Int32($0) } }

        func find(_ row: Int32) -> Int32 {
            var x = row
            while parent[Int(x)] != x {
                parent[Int(x)] = parent[Int(parent[Int(x)])]
                x = parent[Int(x)]
            }
            return x
        }

        func add(_ records: UnsafeBufferPointer<PairRecord>) {
            for pair in records {
                let a = find(pair.row), b = find(pair.column)
                if a != b { parent[Int(max(a, b))] = min(a, b) }
            }
        }

        /// Each row's cluster (its smallest row).
        func clusters() -> [Int64] { parent.indices.map { Int64(find(Int32($0))) } }
    }

    /// Against OTHER: each row's best match, by the similarity written (higher, then the lower
    /// OTHER row), or −1.
    final class Matches {
        private(set) var matched: [Int64]
        private var best: [Float]

        init(rows: Int) {
            matched = Array(repeating: -1, count: rows)
            best = Array(repeating: -.infinity, count: rows)
        }

        func add(_ records: UnsafeBufferPointer<PairRecord>) {
            // Columns rise within a row: a later column replaces only a strictly better match.
            for pair in records where matched[Int(pair.row)] < 0 || pair.similarity > best[Int(pair.row)] {
                matched[Int(pair.row)] = Int64(pair.column)
                best[Int(pair.row)] = pair.similarity
            }
        }
    }
}

/// Writes a finished dedup's files (docs/dedup.md) from its pairs, handed over in order by
/// `source`, and returns what the summary says.
enum DedupOutput {
    static func write(directory: String, rows: Int, against: Bool, pairs count: Int,
                      source: ((UnsafeBufferPointer<PairRecord>) throws -> Void) throws -> Void) throws -> DedupResult.Counts {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let files = try PairFiles(directory: directory, count: count)
        let clusters = against ? nil : PairSummary.Clusters(rows: rows)
        let matches = against ? PairSummary.Matches(rows: rows) : nil
        try source { records in
            try files.write(records)
            clusters?.add(records)
            matches?.add(records)
        }
        let keep: [Bool]
        var counts = DedupResult.Counts()
        if let clusters {
            let cluster = clusters.clusters()
            keep = cluster.indices.map { cluster[$0] == Int64($0) }
            var sizes = [Int32](repeating: 0, count: rows)
            for c in cluster { sizes[Int(c)] += 1 }
            counts.clusters = sizes.lazy.filter { $0 > 1 }.count
            try write(cluster, element: .int64, name: "cluster.npy", in: directory)
        } else {
            keep = matches!.matched.map { $0 < 0 }
            counts.matchedRows = keep.lazy.filter { !$0 }.count
            try write(matches!.matched, element: .int64, name: "matched.npy", in: directory)
        }
        counts.dropped = keep.lazy.filter { !$0 }.count
        try write(keep, element: .bool, name: "keep.npy", in: directory)
        try files.commit()
        return counts
    }

    static func write<T>(_ values: [T], element: NPYWriter.Element, name: String, in directory: String) throws {
        try values.withUnsafeBufferPointer {
            try NPYWriter.write($0, shape: [values.count], element: element, to: (directory as NSString).appendingPathComponent(name))
        }
    }
}
