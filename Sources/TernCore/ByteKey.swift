/// A run of bytes as an in-memory dictionary key, hashed in one call: `Array`'s own
/// `hash(into:)` feeds the hasher a byte at a time, which showed in write profiles.
///
/// Never for anything stored or sent: `Hasher` is seeded per process (DESIGN.md, determinism).
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    @inlinable
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inlinable
    public static func == (lhs: ByteKey, rhs: ByteKey) -> Bool { lhs.bytes == rhs.bytes }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
