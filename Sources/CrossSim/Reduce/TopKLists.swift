/// For each of `count` queries, its `k` best candidates, best first: higher score, then lower
/// index (the same tie rule as ranks). Empty slots hold (−∞, Int32.max).
public struct TopKLists: Sendable, Equatable {
    public var k: Int
    public var scores: [Float]
    public var indices: [Int32]

    public init(k: Int, count: Int) {
        self.k = k
        scores = [Float](repeating: -.infinity, count: k * count)
        indices = [Int32](repeating: .max, count: k * count)
    }

    public init(k: Int, scores: [Float], indices: [Int32]) {
        self.k = k
        self.scores = scores
        self.indices = indices
    }

    public var count: Int { k == 0 ? 0 : scores.count / k }

    public func indices(of query: Int) -> ArraySlice<Int32> { indices[query * k..<(query + 1) * k] }
    public func scores(of query: Int) -> ArraySlice<Float> { scores[query * k..<(query + 1) * k] }

    static func isBetter(_ a: Float, _ ia: Int32, than b: Float, _ ib: Int32) -> Bool {
        a > b || (a == b && ia < ib)
    }

    /// Per query, the best k of both lists.
    public func merged(with other: TopKLists) -> TopKLists {
        precondition(k == other.k && count == other.count)
        var out = self
        for q in 0..<count {
            var a = q * k, b = q * k
            for slot in q * k..<(q + 1) * k {
                if Self.isBetter(other.scores[b], other.indices[b], than: scores[a], indices[a]) {
                    out.scores[slot] = other.scores[b]
                    out.indices[slot] = other.indices[b]
                    b += 1
                } else {
                    out.scores[slot] = scores[a]
                    out.indices[slot] = indices[a]
                    a += 1
                }
            }
        }
        return out
    }

    /// The lists of queries `range` (for a row range of a part).
    func slice(_ range: Range<Int>) -> TopKLists {
        TopKLists(k: k, scores: Array(scores[range.lowerBound * k..<range.upperBound * k]),
                  indices: Array(indices[range.lowerBound * k..<range.upperBound * k]))
    }
}
