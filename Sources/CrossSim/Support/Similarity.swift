/// How rows are compared: cosine normalises every row on read, dot uses them as they are
/// (docs/inputs.md).
public enum Similarity: String, Sendable, Codable, CaseIterable {
    case cosine, dot
}
