import Foundation

/// Writes the top-k lists as docs/definitions.md names them: `x1_to_x2.indices.npy` (int64 [N1, K]),
/// `x1_to_x2.scores.npy` (float32), and the same for x2_to_x1.
public enum Neighbors {
    public static func write(_ state: PartialState, to directory: String) throws {
        guard let neighbors = state[NearestNeighbors.self] else {
            throw InputError("--neighbors needs --top-k")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, lists) in [("x1_to_x2", neighbors.rows), ("x2_to_x1", neighbors.columns)] {
            let base = (directory as NSString).appendingPathComponent(name)
            let indices = lists.indices.map { Int64($0) }
            try indices.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [lists.count, lists.k], element: .int64, to: base + ".indices.npy")
            }
            try lists.scores.map { Float($0) }.withUnsafeBufferPointer {
                try NPYWriter.write($0, shape: [lists.count, lists.k], element: .float32, to: base + ".scores.npy")
            }
        }
    }
}
