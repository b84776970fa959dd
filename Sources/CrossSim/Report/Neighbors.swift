import Foundation

/// How `--neighbors DIR` writes the top-k lists (docs/definitions.md, Top-k).
public enum NeighborsFormat: String, Sendable, CaseIterable {
    /// `x1_to_x2.indices.npy` (int64 [N1, K]), `x1_to_x2.scores.npy` (float32), the same for x2_to_x1.
    case npy
    /// `x1_to_x2.gt` and `x2_to_x1.gt` in big-ann-benchmarks' ground-truth layout.
    case bigann
}

/// Writes the top-k lists of a whole run (or of a merge) in either format, and its hard
/// negatives (as .npy), each file atomically.
public enum Neighbors {
    public static func write(_ state: PartialState, options: EvaluationOptions, to directory: String,
                             format: NeighborsFormat = .npy) throws {
        let neighbors = state[NearestNeighbors.self], hard = state[HardNegatives.self]
        guard neighbors != nil || hard != nil else { throw InputError("--neighbors needs --top-k or --hard-negatives") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let neighbors {
            // Under --queries-only x2's rows asked nothing: no x2_to_x1 file.
            let directions = [("x1_to_x2", neighbors.rows)] + (options.queriesOnly ? [] : [("x2_to_x1", neighbors.columns)])
            for (name, lists) in directions {
                let base = (directory as NSString).appendingPathComponent(name)
                switch format {
                case .npy: try writeNPY(lists, base: base)
                case .bigann: try writeGroundTruth(lists, to: base + ".gt")
                }
            }
        }
        if let hard, let rule = options.hardNegatives {
            let selected = hard.selected(rule)
            for (name, lists) in [("x1_to_x2", selected.x1ToX2), ("x2_to_x1", selected.x2ToX1)] {
                let base = (directory as NSString).appendingPathComponent(name + ".hard_negatives")
                let queries = lists.indices.count / rule.count
                try lists.indices.withUnsafeBufferPointer {
                    try NPYWriter.write($0, shape: [queries, rule.count], element: .int64, to: base + ".indices.npy")
                }
                // An empty slot's score is NaN, beside its index −1.
                try lists.scores.map { $0 == -.infinity ? .nan : Float($0) }.withUnsafeBufferPointer {
                    try NPYWriter.write($0, shape: [queries, rule.count], element: .float32, to: base + ".scores.npy")
                }
            }
        }
    }

    static func writeNPY(_ lists: TopKLists, base: String) throws {
        let indices = lists.indices.map { Int64($0) }
        try indices.withUnsafeBufferPointer {
            try NPYWriter.write($0, shape: [lists.count, lists.k], element: .int64, to: base + ".indices.npy")
        }
        try lists.scores.map { Float($0) }.withUnsafeBufferPointer {
            try NPYWriter.write($0, shape: [lists.count, lists.k], element: .float32, to: base + ".scores.npy")
        }
    }

    /// big-ann-benchmarks' ground truth (what its `knn_result_read` reads): uint32 queries,
    /// uint32 K, queries×K int32 ids, then queries×K float32 scores, all little-endian. The
    /// scores are similarities (higher is nearer), exact as in the npy lists.
    static func writeGroundTruth(_ lists: TopKLists, to path: String) throws {
        let file = try AtomicFile(path: path)
        var header: [UInt8] = []
        for value in [UInt32(lists.count), UInt32(lists.k)] { withUnsafeBytes(of: value.littleEndian) { header += $0 } }
        try file.write(header)
        // A few MiB at a time: the lists may span 10⁸ queries.
        let chunk = 1 << 20
        for start in stride(from: 0, to: lists.indices.count, by: chunk) {
            let ids = lists.indices[start..<min(start + chunk, lists.indices.count)].map { $0.littleEndian }
            try ids.withUnsafeBytes { try file.write($0) }
        }
        for start in stride(from: 0, to: lists.scores.count, by: chunk) {
            let scores = lists.scores[start..<min(start + chunk, lists.scores.count)].map { Float($0).bitPattern.littleEndian }
            try scores.withUnsafeBytes { try file.write($0) }
        }
        try file.commit()
    }
}
