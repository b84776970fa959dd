/// For each of `count` queries, its `k` best candidates, best first: higher score, then lower
/// index (the same tie rule as ranks). Scores are exact similarities (binary64 sums of the
/// Float32 inputs), so the order is the same on every machine. Empty slots hold (−∞, Int32.max).
public struct TopKLists: Sendable, Equatable {
    public var k: Int
    public var scores: [Double]
    public var indices: [Int32]

    public init(k: Int, count: Int) {
        self.k = k
        scores = [Double](repeating: -.infinity, count: k * count)
        indices = [Int32](repeating: .max, count: k * count)
    }

    public init(k: Int, scores: [Double], indices: [Int32]) {
        self.k = k
        self.scores = scores
        self.indices = indices
    }

    public var count: Int { k == 0 ? 0 : scores.count / k }

    public func indices(of query: Int) -> ArraySlice<Int32> { indices[query * k..<(query + 1) * k] }
    public func scores(of query: Int) -> ArraySlice<Double> { scores[query * k..<(query + 1) * k] }

    static func isBetter(_ a: Double, _ ia: Int32, than b: Double, _ ib: Int32) -> Bool {
        a > b || (a == b && ia < ib)
    }

    /// Per query, the best k of both lists.
    public func merged(with other: TopKLists) -> TopKLists {
        precondition(k == other.k && count == other.count)
        var out = self
        out.merge(other, into: 0..<count)
        return out
    }

    /// Merges `other`'s query q into this one's query `queries.lowerBound + q`.
    mutating func merge(_ other: TopKLists, into queries: Range<Int>) {
        precondition(k == other.k && other.count == queries.count)
        var mine = [Double](repeating: 0, count: k), myIndices = [Int32](repeating: 0, count: k)
        for (q, query) in queries.enumerated() {
            for n in 0..<k { (mine[n], myIndices[n]) = (scores[query * k + n], indices[query * k + n]) }
            var a = 0, b = q * k
            for slot in query * k..<(query + 1) * k {
                if Self.isBetter(other.scores[b], other.indices[b], than: mine[a], myIndices[a]) {
                    scores[slot] = other.scores[b]
                    indices[slot] = other.indices[b]
                    b += 1
                } else {
                    scores[slot] = mine[a]
                    indices[slot] = myIndices[a]
                    a += 1
                }
            }
        }
    }

    /// The lists of queries `range` (for a row range of a part).
    func slice(_ range: Range<Int>) -> TopKLists {
        TopKLists(k: k, scores: Array(scores[range.lowerBound * k..<range.upperBound * k]),
                  indices: Array(indices[range.lowerBound * k..<range.upperBound * k]))
    }
}
