/// The stable 64-bit hash that places a partition key on the ring (DESIGN.md §3).
///
/// Definition (fixed forever; stored data depends on it): FNV-1a 64 over the bytes, then the
/// MurmurHash3 64-bit finaliser (`fmix64`) to spread FNV's weak high bits. Swift's `Hasher` is
/// seeded per process and must never be used for anything stored or sent.
public enum TokenHash {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    public static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        fmix64(fnv(bytes, from: offsetBasis))
    }

    /// FNV-1a 64 of `bytes` continued from the state `h`, so the bytes of a key need not be
    /// gathered into one array first.
    static func fnv<C: Sequence>(_ bytes: C, from h: UInt64) -> UInt64 where C.Element == UInt8 {
        var h = h
        for byte in bytes {
            h ^= UInt64(byte)
            h = h &* prime
        }
        return h
    }

    static func fmix64(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// The token of a partition key value: the hash of its type letter and canonical bytes
    /// (UTF-8 for S, the normalised decimal text for N, raw bytes for B), so that equal
    /// numbers written differently ("1", "1.0") share a token.
    public static func token(of key: AttributeValue) -> UInt64 {
        /// The state after the type letter.
        func typed(_ letter: Unicode.Scalar) -> UInt64 { fnv(CollectionOfOne(UInt8(ascii: letter)), from: offsetBasis) }
        let h: UInt64
        switch key {
        case .s(let text): h = fnv(text.utf8, from: typed("S"))
        case .n(let number): h = fnv(number.description.utf8, from: typed("N"))
        case .b(let blob): h = fnv(blob, from: typed("B"))
        default:
            preconditionFailure("key attributes are S, N or B; validation runs before hashing: \(key.typeName)")
        }
        return fmix64(h)
    }
}
