/// What identifies the inputs a part was computed from: the fingerprint of each shard's rows
/// as decoded to Float32, and of the pairs. `crosssim merge` joins parts whose inputs are the
/// same by this, not by comparing computed similarities, which differ in their last bits
/// between machines (README, "Beyond one machine's memory, and one machine").
public struct InputIdentity: Sendable, Equatable, Codable {
    public var x1: [ShardFingerprint]
    public var x2: [ShardFingerprint]
    public var pairs: Fingerprint

    init(x1: [ShardFingerprint], x2: [ShardFingerprint], pairs: Pairs) {
        self.x1 = x1
        self.x2 = x2
        self.pairs = pairs.positiveOf.withUnsafeBytes { Fingerprint(bytes: $0) }
    }

    /// What differs from `other` (the inputs of `otherName`), in words, or nil when nothing does.
    func difference(from other: InputIdentity, otherName: String) -> String? {
        for (set, mine, theirs) in [("x1", x1, other.x1), ("x2", x2, other.x2)] {
            guard mine.count == theirs.count else {
                return "\(set) has \(mine.count) shards here, \(theirs.count) in \(otherName)"
            }
            if let k = mine.indices.first(where: { mine[$0].fingerprint != theirs[$0].fingerprint }) {
                return "\(set)'s shard \(k) (\(mine[k].name)) holds other values: content fingerprint \(mine[k].fingerprint) here, "
                    + "\(theirs[k].fingerprint) in \(otherName)"
            }
        }
        return pairs == other.pairs ? nil : "the pairs differ: content fingerprint \(pairs) here, \(other.pairs) in \(otherName)"
    }
}
