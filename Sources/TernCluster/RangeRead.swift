import TernCore

/// A read of one replica's keys `start <= key < end` (DESIGN.md §3: a Query is one partition's
/// key range, a Scan walks partitions in token order), in key order or in reverse, stopping after
/// `maxItems` live items, once the live items reach `maxBytes` (DynamoDB's 1 MB page: the item
/// that crosses it is included), after `tombstonesMax` tombstones, or once the page's encoded
/// size reaches `replyBytesMax`, whichever comes first.
public struct RangeRead: Sendable, Equatable {
    public var start: [UInt8]
    public var end: [UInt8]
    public var reverse: Bool
    public var maxItems: Int
    public var maxBytes: Int
    public var tombstonesMax: Int

    /// The encoded size at which a replica ends its page, whatever the other limits say: a page
    /// is at most this plus one entry (an item of 400 KB and its key), far below the peer frame's
    /// 8 MiB, even for a page of thousands of tombstones with long keys.
    public static let replyBytesMax = 2 * 1024 * 1024

    public init(start: [UInt8], end: [UInt8], reverse: Bool, maxItems: Int, maxBytes: Int, tombstonesMax: Int) {
        self.start = start
        self.end = end
        self.reverse = reverse
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.tombstonesMax = tombstonesMax
    }

    /// Whether `key` lies in the range.
    public func contains(_ key: [UInt8]) -> Bool {
        !key.lexicographicallyPrecedes(start) && key.lexicographicallyPrecedes(end)
    }

    /// Whether `a` comes before `b` in the read's direction.
    public func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        reverse ? b.lexicographicallyPrecedes(a) : a.lexicographicallyPrecedes(b)
    }
}

/// What one replica holds in (part of) a range: every entry it examined, live items and
/// tombstones alike with their versions (so that a coordinator can reconcile replicas that
/// disagree), in the read's direction.
///
/// The replica examined exactly these entries: when it stopped early (`exhausted` false), the
/// last entry is its position, and it holds nothing between two entries or before the first.
public struct ReplicaPage: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: [UInt8]
        public var value: StoredValue

        public init(key: [UInt8], value: StoredValue) {
            self.key = key
            self.value = value
        }
    }

    public var entries: [Entry]
    /// True when the replica holds no entry in the range beyond the last one.
    public var exhausted: Bool

    public init(entries: [Entry], exhausted: Bool) {
        self.entries = entries
        self.exhausted = exhausted
    }

    /// Where the replica stopped: its last entry (nil for an empty page).
    public var lastKey: [UInt8]? { entries.last?.key }

    /// Whether the page is one a replica can have sent for `request`: entries strictly ordered in
    /// its direction and inside its range, and an unfinished page never empty. A page that is not
    /// counts as a failed replica: merging it could skip or repeat keys.
    public func isWellFormed(for request: RangeRead) -> Bool {
        guard exhausted || !entries.isEmpty else { return false }
        var previous: [UInt8]?
        for entry in entries {
            guard request.contains(entry.key) else { return false }
            if let previous, !request.precedes(previous, entry.key) { return false }
            previous = entry.key
        }
        return true
    }
}

/// A replica's answer to a `RangeRead`.
public enum RangeReadResult: Sendable, Equatable {
    case page(ReplicaPage)
    case failed(Coordinator.ReplicaFailure)
}
