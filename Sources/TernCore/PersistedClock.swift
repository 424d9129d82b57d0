/// A node's hybrid logical clock made safe across restarts: no timestamp issued after a restart
/// is at or below one stored before it, even when the wall clock stepped back meanwhile.
///
/// The mechanism is a durable ceiling, an HLC value above every timestamp the node has issued
/// (the same idea as the persisted "hybrid time upper bound" of Kudu/YugabyteDB and CockroachDB's
/// persisted wall-time ceiling). A restart begins the clock at the recovered ceiling. Whenever a
/// timestamp would exceed the durable ceiling, the clock raises it to `windowMillis` beyond the
/// current time and the caller writes the new ceiling in the same atomic batch as the value that
/// carries the timestamp. Under steady load that is one extra key per window (10 s by default).
///
/// Ceilings are keys, not one key's value: `ceilingKey(c)` for each raise, with an empty value.
/// Concurrent batches may commit in any order, and a single overwritten key could end up holding
/// an older, lower ceiling than one already relied on; with one key per ceiling, recovery takes
/// the greatest key (a reverse scan of `ceilingKeyPrefix`, limit 1) whatever the commit order.
/// Each raise also range-deletes the keys below the newest ceiling known durable, so at most a
/// few ceiling keys ever exist.
///
/// Protocol for the shell (the coordinator):
/// 1. At start, recover: the greatest key under `ceilingKeyPrefix` → `ceiling(fromKey:)` →
///    `PersistedClock(recoveredCeiling:)` (nil on a fresh store).
/// 2. For every timestamp that will be stored, when `newCeiling` is non-nil, add
///    `ceilingWrite(for: newCeiling)` to the batch that stores the value: put `key` with an empty
///    value and delete `obsoleteStart..<obsoleteEnd`.
/// 3. After that batch is durable, call `ceilingIsDurable(newCeiling)`. Until then every stamp
///    above the durable ceiling keeps asking for the ceiling to be written, so no value can
///    become durable before a ceiling that covers it, whichever batch commits first.
///
/// Pure: the caller passes the physical time in.
public struct PersistedClock: Sendable, Equatable {
    /// How far past the current time a raised ceiling reaches: the price is one ceiling write per
    /// window under load; after a crash the clock starts at most this far ahead of real time.
    public static let defaultWindowMillis: UInt64 = 10_000
    /// The system key space (table id 0) holds the ceilings: prefix, then the ceiling (8 bytes,
    /// big-endian), so keys sort by ceiling.
    public static let ceilingKeyPrefix: [UInt8] = KeyEncoding.tablePrefix(0) + Array("meta/hlc-ceiling/".utf8)

    public private(set) var clock: HybridLogicalClock
    /// The greatest ceiling known to be durable: timestamps up to it need no ceiling write.
    public private(set) var durableCeiling: UInt64
    /// A ceiling handed out to be written but not yet known durable.
    public private(set) var pendingCeiling: UInt64?
    public let windowMillis: UInt64

    /// A clock that starts above `recoveredCeiling`, the greatest ceiling stored before the
    /// restart (nil for a fresh store, or one written before ceilings existed).
    public init(recoveredCeiling: UInt64?, windowMillis: UInt64 = PersistedClock.defaultWindowMillis) {
        precondition(windowMillis > 0, "the ceiling window must be positive")
        clock = HybridLogicalClock(last: recoveredCeiling ?? 0)
        durableCeiling = recoveredCeiling ?? 0
        pendingCeiling = nil
        self.windowMillis = windowMillis
    }

    /// A timestamp for a local event at `physicalMillis`. With `after` (the timestamp of the
    /// version a write replaces), the timestamp is also above it: a stored version may come from a
    /// peer whose clock runs ahead, or from before ceilings existed.
    public mutating func tick(physicalMillis: UInt64, after predecessor: UInt64? = nil) -> (timestamp: UInt64, newCeiling: UInt64?) {
        let timestamp = predecessor.map { clock.observe($0, physicalMillis: physicalMillis) } ?? clock.tick(physicalMillis: physicalMillis)
        return (timestamp, ceilingNeeded(for: timestamp, physicalMillis: physicalMillis))
    }

    /// The version a local write at `node` stores over `old` (nil when the key holds nothing):
    /// stamped above `old` and everything this node issued before, descending from `old`. The
    /// write path in one call; a non-nil ceiling goes into the same batch (see the type's notes).
    public mutating func version(replacing old: StoredValue?, item: Item?, node: String, physicalMillis: UInt64) -> (value: StoredValue, newCeiling: UInt64?) {
        let stamp = tick(physicalMillis: physicalMillis, after: old?.timestamp)
        return (StoredValue.successor(of: old, item: item, node: node, timestamp: stamp.timestamp), stamp.newCeiling)
    }

    /// Advances past `remote`, a timestamp received from a peer, and returns the receive event's
    /// timestamp. A non-nil ceiling is written with whatever the node stores because of the
    /// message (for example the peer's version): a remote timestamp far ahead of our wall clock
    /// moves the ceiling with it, so a restart cannot fall back below what was stored.
    public mutating func observe(_ remote: UInt64, physicalMillis: UInt64) -> (timestamp: UInt64, newCeiling: UInt64?) {
        let timestamp = clock.observe(remote, physicalMillis: physicalMillis)
        return (timestamp, ceilingNeeded(for: timestamp, physicalMillis: physicalMillis))
    }

    /// Records that a batch holding `ceilingWrite(for: ceiling)` is durable.
    public mutating func ceilingIsDurable(_ ceiling: UInt64) {
        durableCeiling = max(durableCeiling, ceiling)
        if let pending = pendingCeiling, pending <= durableCeiling { pendingCeiling = nil }
    }

    /// What to add to the batch that carries `newCeiling`.
    public struct CeilingWrite: Sendable, Equatable {
        /// Put this key with an empty value.
        public let key: [UInt8]
        /// Delete `obsoleteStart..<obsoleteEnd`: ceilings below the newest durable one.
        public let obsoleteStart: [UInt8]
        public let obsoleteEnd: [UInt8]
    }

    public func ceilingWrite(for newCeiling: UInt64) -> CeilingWrite {
        CeilingWrite(
            key: PersistedClock.ceilingKey(newCeiling),
            obsoleteStart: PersistedClock.ceilingKeyPrefix,
            obsoleteEnd: PersistedClock.ceilingKey(durableCeiling)
        )
    }

    mutating func ceilingNeeded(for timestamp: UInt64, physicalMillis: UInt64) -> UInt64? {
        if timestamp <= durableCeiling { return nil }
        if let pending = pendingCeiling, timestamp <= pending { return pending }
        let raised = PersistedClock.ceiling(covering: timestamp, physicalMillis: physicalMillis, windowMillis: windowMillis)
        pendingCeiling = raised
        return raised
    }

    /// `windowMillis` past the later of the timestamp's and the wall clock's millisecond, as an
    /// HLC value (logical counter 0); saturates at the largest timestamp.
    static func ceiling(covering timestamp: UInt64, physicalMillis: UInt64, windowMillis: UInt64) -> UInt64 {
        let millisLimit: UInt64 = 1 << 48
        let millis = max(timestamp >> 16, physicalMillis)
        guard millis < millisLimit, windowMillis < millisLimit - millis else { return .max }
        return (millis + windowMillis) << 16
    }

    // MARK: Keys

    public static func ceilingKey(_ ceiling: UInt64) -> [UInt8] {
        var key = ceilingKeyPrefix
        key.reserveCapacity(ceilingKeyPrefix.count + 8)
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: ceiling >> UInt64(shift))) }
        return key
    }

    /// The ceiling a key under `ceilingKeyPrefix` holds; nil for any other key (corruption).
    public static func ceiling(fromKey key: [UInt8]) -> UInt64? {
        guard key.count == ceilingKeyPrefix.count + 8, key.starts(with: ceilingKeyPrefix) else { return nil }
        return key[ceilingKeyPrefix.count...].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
