/// A stable 64-bit hash of text: FNV-1a over the UTF-8 bytes, salted with a
/// seed, then mixed with the SplitMix64 finalizer so that the low bits are
/// usable as a bucket index.
///
/// Stable means the same on every machine and every run (unlike `Hasher`,
/// which Swift seeds per process): data splits, feature buckets and file
/// fingerprints built on it are reproducible.
public enum StableHash {
    /// FNV-1a 64 offset basis.
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    /// FNV-1a 64 prime.
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// Plain FNV-1a 64 of `bytes` (no mixing), continuing from `state`.
    @inlinable
    public static func fnv1a<Bytes: Sequence>(_ bytes: Bytes, state: UInt64 = offsetBasis) -> UInt64
    where Bytes.Element == UInt8 {
        var hash = state
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* prime
        }
        return hash
    }

    /// SplitMix64 finalizer: a bijection that spreads every input bit over
    /// every output bit.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var hash = value
        hash ^= hash >> 30; hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27; hash = hash &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }

    /// FNV-1a 64 of the UTF-8 of `text`, salted with `seed`, then mixed.
    @inlinable
    public static func hash(_ text: String, seed: UInt64) -> UInt64 {
        mix(fnv1a(text.utf8, state: offsetBasis ^ seed))
    }

    /// `value` as 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
