/// The token space cut into Q equal partitions (Dynamo §6.2, strategy 3; DESIGN.md §4).
///
/// Tokens are 64-bit (`TokenHash`); partition `p` holds the tokens whose top log2(Q) bits are `p`,
/// so partitions are numbered 0..<Q in token order and each is one contiguous token range. Q is
/// a power of two fixed when the cluster is created: the partition of a token never changes,
/// only its owner does, so membership changes move whole partitions (contiguous key ranges per
/// table, DESIGN.md §3) and never re-split data.
public struct Ring: Sendable, Equatable {
    /// The largest Q: partition indexes fit in 16 bits and a map of 65,536 owners stays small.
    public static let partitionCountMax = 65_536
    /// Dynamo's advice is Q much larger than the number of nodes; 256 serves clusters of tens.
    public static let partitionCountDefault = 256

    /// Q, a power of two in 1...65536.
    public let partitionCount: Int
    /// log2(Q): how many top bits of a token name its partition.
    public let partitionBits: Int

    public init(partitionCount: Int = Ring.partitionCountDefault) throws(ConfigurationError) {
        guard partitionCount >= 1, partitionCount <= Ring.partitionCountMax, partitionCount & (partitionCount - 1) == 0 else {
            throw ConfigurationError(
                "partition count must be a power of two from 1 to \(Ring.partitionCountMax), got \(partitionCount)")
        }
        self.partitionCount = partitionCount
        self.partitionBits = partitionCount.trailingZeroBitCount
    }

    /// The partition holding `token`: its top log2(Q) bits.
    public func partition(ofToken token: UInt64) -> Int {
        // Smart shift: a shift by 64 (Q = 1) gives 0, the only partition.
        Int(token >> UInt64(64 - partitionBits))
    }

    /// The tokens of `partition`, first...last; the ranges of 0..<Q tile the token space in order.
    public func tokenRange(of partition: Int) -> ClosedRange<UInt64> {
        precondition(partition >= 0 && partition < partitionCount, "partition \(partition) outside 0..<\(partitionCount)")
        let first = UInt64(partition) << UInt64(64 - partitionBits)
        return first...(first | UInt64.max >> UInt64(partitionBits))
    }

    /// The partition of an item's storage key (`tableId · token · …`, see `KeyEncoding`); nil for
    /// a key too short to hold a token (a bare table prefix).
    public func partition(ofStorageKey key: [UInt8]) -> Int? {
        KeyEncoding.token(ofKey: key).map { partition(ofToken: $0) }
    }
}
