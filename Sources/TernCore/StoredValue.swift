/// What a replica stores under an item's key: the item (or a tombstone), its version (a vector
/// clock and the node that wrote it) and the hybrid-logical-clock timestamp that orders
/// concurrent versions last-writer-wins.
///
/// Two rules make versions record causality:
/// - `successor(of:item:node:timestamp:)` — a local write descends from the version it replaces;
/// - `reconcile(_:_:)` — of two versions of one key, the one that descends wins; concurrent ones
///   are settled last-writer-wins and the result descends from both.
public struct StoredValue: Sendable, Equatable {
    /// The format `encoded()` writes. `decode` also reads `legacyFormatVersion`.
    public static let formatVersion: UInt8 = 2
    /// The format written before versions recorded causality (no writer, no sibling count).
    public static let legacyFormatVersion: UInt8 = 1
    /// Bit 0 of the flags byte (byte 1): every sibling is a tombstone.
    public static let tombstoneFlag: UInt8 = 0x01
    /// Bytes before the version: format, flags, HLC timestamp (big-endian). Fixed for every
    /// format, so code that needs only these (the compaction filter) never parses the rest.
    public static let headerSize = 10

    public var item: Item?
    public var timestamp: UInt64
    public var clock: VectorClock
    /// The node that made this version (its dot is `(writer, clock.counter(for: writer))`): the
    /// deterministic tie-break between concurrent versions with equal timestamps. Nil only for
    /// versions whose writer is not recorded. It must be a node of `clock` (as `successor` and
    /// `reconcile` make it); any other writer is not recorded when the value is encoded.
    public var writer: String?

    public init(item: Item?, timestamp: UInt64, clock: VectorClock, writer: String? = nil) {
        self.item = item
        self.timestamp = timestamp
        self.clock = clock
        self.writer = writer
    }

    /// A deletion marker; kept until its grace period passes so a delete cannot be undone by a
    /// stale replica.
    public var isTombstone: Bool { item == nil }

    // MARK: Versions

    /// The version a local write at `node` stores over `old` (nil when the key holds nothing).
    ///
    /// Its clock is `old`'s with `node`'s counter advanced to more than it was and to at least
    /// `timestamp`, so it strictly descends from `old`, and a node's dots keep increasing even
    /// after a key's history was purged. `timestamp` must come from the node's HLC after it saw
    /// `old.timestamp` (the coordinator observes the old timestamp before it ticks), so that timestamps respect
    /// causality and last-writer-wins never prefers an ancestor.
    public static func successor(of old: StoredValue?, item: Item?, node: String, timestamp: UInt64) -> StoredValue {
        let base = old?.clock ?? VectorClock()
        let current = base.counter(for: node)
        let next = current == .max ? current : max(current + 1, timestamp)
        return StoredValue(item: item, timestamp: timestamp, clock: base.advanced(for: node, atLeast: next), writer: node)
    }

    /// The version two replicas agree on for one key. If one version descends from the other it
    /// wins unchanged. Otherwise (concurrent, or equal clocks with different contents, which only
    /// corruption makes) the later one wins by `lastWriterOrder`, carrying the merged clock so it
    /// descends from both. Commutative; associative whenever timestamps respect causality.
    public static func reconcile(_ a: StoredValue, _ b: StoredValue) -> StoredValue {
        switch a.clock.compare(b.clock) {
        case .after: return a
        case .before: return b
        case .equal:
            return lastWriterOrder(a, b) >= 0 ? a : b
        case .concurrent:
            var winner = lastWriterOrder(a, b) >= 0 ? a : b
            winner.clock = a.clock.merged(with: b.clock)
            return winner
        }
    }

    /// A total order for last-writer-wins: HLC timestamp, then writer node id (bytes; unknown
    /// first), then the encoded bytes, so that any two different versions are ordered the same
    /// way on every replica. Negative when `a` loses, zero only when both encode identically.
    public static func lastWriterOrder(_ a: StoredValue, _ b: StoredValue) -> Int {
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp ? -1 : 1 }
        switch (a.writer, b.writer) {
        case (nil, nil): break
        case (nil, _): return -1
        case (_, nil): return 1
        case let (x?, y?):
            let order = VectorClock.order(x, y)
            if order != 0 { return order }
        }
        let left = a.encoded()
        let right = b.encoded()
        if left == right { return 0 }
        return left.lexicographicallyPrecedes(right) ? -1 : 1
    }
}
