/// The fingerprints a report gives its inputs (docs/report.md): XXH64 of the content
/// fingerprints that `merge` compares (docs/state-format.md), each as 8 little-endian bytes.
/// Those are taken while the rows are read, on all cores, so the report's cost no extra pass.
extension InputIdentity {
    /// Of a set: XXH64 of its shards' fingerprints, in set order.
    static func setFingerprint(_ shards: [ShardFingerprint]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 * shards.count)
        for shard in shards { withUnsafeBytes(of: shard.fingerprint.value.littleEndian) { bytes += $0 } }
        return XXH64.text(XXH64.hash(bytes))
    }

    public var x1Fingerprint: String { Self.setFingerprint(x1) }
    public var x2Fingerprint: String { Self.setFingerprint(x2) }
    /// Of the pairs: XXH64 of their content fingerprint.
    public var pairsFingerprint: String {
        withUnsafeBytes(of: pairs.value.littleEndian) { XXH64.text(XXH64.hash($0)) }
    }
}
