/// A vector clock: one counter per node that coordinated a write (Dynamo §4.4).
/// Entries are sorted by node id so that encodings are deterministic.
public struct VectorClock: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var node: String
        public var counter: UInt64
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }

    public init(_ pairs: [String: UInt64]) {
        entries = pairs.map { Entry(node: $0.key, counter: $0.value) }
            .sorted { $0.node.utf8.lexicographicallyPrecedes($1.node.utf8) }
    }

    public func counter(for node: String) -> UInt64 {
        entries.first(where: { $0.node == node })?.counter ?? 0
    }

    /// This clock with `node`'s counter advanced by one.
    public func incremented(for node: String) -> VectorClock {
        var copy = self
        if let index = copy.entries.firstIndex(where: { $0.node == node }) {
            copy.entries[index].counter += 1
        } else {
            copy.entries.append(Entry(node: node, counter: 1))
            copy.entries.sort { $0.node.utf8.lexicographicallyPrecedes($1.node.utf8) }
        }
        return copy
    }

    public enum Relation: Sendable, Equatable { case equal, before, after, concurrent }

    /// How `self` relates to `other` in causal order.
    public func compare(_ other: VectorClock) -> Relation {
        var less = false
        var greater = false
        let nodes = Set(entries.map(\.node)).union(other.entries.map(\.node))
        for node in nodes {
            let a = counter(for: node)
            let b = other.counter(for: node)
            if a < b { less = true }
            if a > b { greater = true }
        }
        switch (less, greater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }
}

/// What a replica stores under an item's key: the item (or a tombstone), its version and the
/// hybrid-logical-clock timestamp that orders concurrent versions last-writer-wins.
public struct StoredValue: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1

    public var item: Item?
    public var timestamp: UInt64
    public var clock: VectorClock

    public init(item: Item?, timestamp: UInt64, clock: VectorClock) {
        self.item = item
        self.timestamp = timestamp
        self.clock = clock
    }

    /// A deletion marker; kept until its grace period passes so a delete cannot be undone by a
    /// stale replica.
    public var isTombstone: Bool { item == nil }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        writer.reserve(64)
        writer.bytes.append(StoredValue.formatVersion)
        writer.bytes.append(isTombstone ? 1 : 0)
        writer.uint64BigEndian(timestamp)
        writer.varint(clock.entries.count)
        for entry in clock.entries {
            writer.lengthPrefixed(entry.node.utf8)
            writer.varint(entry.counter)
        }
        if let item { writer.item(item) }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ItemCodec.DecodeError) -> StoredValue {
        var reader = ByteReader(bytes)
        guard try reader.byte() == formatVersion else { throw ItemCodec.DecodeError(offset: 0) }
        let tombstone = try reader.byte() == 1
        let timestamp = try reader.uint64BigEndian()
        let clockCount = try reader.count()
        var pairs: [String: UInt64] = [:]
        for _ in 0..<clockCount {
            let node = try reader.string()
            pairs[node] = try reader.varint()
        }
        let item: Item? = tombstone ? nil : try reader.item()
        guard reader.isAtEnd else { throw ItemCodec.DecodeError(offset: reader.offset) }
        return StoredValue(item: item, timestamp: timestamp, clock: VectorClock(pairs))
    }
}
