/// A 64-bit content fingerprint: what tells whether two runs read the same data, where their
/// computed similarities may differ in the last bits (another machine's kernels). Not a
/// cryptographic hash: it catches changed data, not forged data.
public struct Fingerprint: Sendable, Hashable, Codable, CustomStringConvertible {
    public var value: UInt64

    /// Of a set's rows: the sum of each row's hash, seeded with its index, so that rows can be
    /// hashed in any order, on any core, and a moved row still changes the result.
    init(rowHashSum sum: UInt64) { value = Self.avalanche(sum) }

    /// Of bytes as one block (the pairs).
    init(bytes: UnsafeRawBufferPointer) { value = Self.avalanche(Self.hash(bytes, seed: 0)) }

    public var description: String { String(value, radix: 16) }

    // JSON numbers lose bits above 2^53: as 16 hex digits.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard text.count <= 16, let value = UInt64(text, radix: 16) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a fingerprint: \(text)"))
        }
        self.value = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87, prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F

    @inline(__always) private static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        let mixed = acc &+ lane &* prime2
        return ((mixed << 31) | (mixed >> 33)) &* prime1
    }

    private static func avalanche(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 33; h = h &* prime2
        h ^= h >> 29; h = h &* prime1
        return h ^ (h >> 32)
    }

    /// XXH64's round on four independent lanes (so that it runs at memory speed), then its
    /// final mix; `seed` is the row's index.
    static func hash(_ bytes: UnsafeRawBufferPointer, seed: Int) -> UInt64 {
        let s = UInt64(truncatingIfNeeded: seed) &* prime1
        var a = s &+ prime2, b = s ^ prime2, c = s, d = s &- prime1
        let base = bytes.baseAddress!, count = bytes.count
        var offset = 0
        while offset + 32 <= count {
            a = round(a, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            b = round(b, base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            c = round(c, base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
            d = round(d, base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
            offset += 32
        }
        while offset + 8 <= count {
            a = round(a, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            withUnsafeMutableBytes(of: &tail) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
            b = round(b, tail)
        }
        return avalanche(round(round(round(round(UInt64(count), a), b), c), d))
    }
}

/// A shard's name and the fingerprint of its rows as decoded.
public struct ShardFingerprint: Sendable, Equatable, Codable {
    public var name: String
    public var fingerprint: Fingerprint
}
