/// The fixed header every stored value begins with, read without decoding the rest.
///
/// Layout (shared by value formats 1 and 2, see `StoredValue`):
/// byte 0 = format version, byte 1 = flags (bit 0 = tombstone), bytes 2..<10 = the HLC timestamp,
/// big-endian (48 bits of wall-clock milliseconds since 1970, 16 bits of logical counter).
///
/// The compaction filter reads only this header: it runs on RocksDB's background threads for
/// every key of every compaction, so it must be cheap and must never need to understand the
/// version vector or the item that follow.
public struct StoredValueHeader: Sendable, Equatable {
    /// The value formats whose header has this layout. A value of any other format is left
    /// alone by everything that reads only the header: a newer node may have written it.
    public static let knownFormats: ClosedRange<UInt8> = StoredValue.legacyFormatVersion...StoredValue.formatVersion
    /// Bytes the header occupies.
    public static let byteCount = StoredValue.headerSize
    /// Flag bit set on a deletion marker.
    public static let tombstoneFlag = StoredValue.tombstoneFlag

    public var format: UInt8
    public var flags: UInt8
    /// The hybrid-logical-clock timestamp of the write.
    public var timestamp: UInt64

    /// Reads the header of `bytes`; nil when the value is too short or of a format whose header
    /// layout is unknown.
    @inlinable
    public init?(_ bytes: some Collection<UInt8>) {
        var iterator = bytes.makeIterator()
        guard let format = iterator.next(), Self.knownFormats.contains(format), let flags = iterator.next() else {
            return nil
        }
        var timestamp: UInt64 = 0
        for _ in 0..<8 {
            guard let byte = iterator.next() else { return nil }
            timestamp = timestamp << 8 | UInt64(byte)
        }
        self.format = format
        self.flags = flags
        self.timestamp = timestamp
    }

    public var isTombstone: Bool { flags & Self.tombstoneFlag != 0 }

    /// The wall-clock milliseconds part of the timestamp (its top 48 bits).
    public var physicalMillis: UInt64 { timestamp >> 16 }
}

/// When a tombstone may be forgotten.
///
/// Deletes are stored as tombstones so that a replica that missed the delete cannot bring the item
/// back (DESIGN.md §3). A tombstone only has to live until every replica has seen it: Cassandra
/// calls that bound `gc_grace_seconds` (10 days by default) and so do we. Past it, the tombstone is
/// dropped by RocksDB compaction (`RocksDBStorage`'s compaction filter), so deleted data does not
/// grow without bound.
public enum TombstonePurge {
    /// The wall-clock time in milliseconds after which the value stored under `key` may be
    /// dropped, or nil if it must be kept for ever: it is not a tombstone, it lives in the system
    /// key space, or its format is unknown.
    @inlinable
    public static func purgeableAfterMillis(key: some Collection<UInt8>, value: some Collection<UInt8>, graceMillis: UInt64) -> UInt64? {
        guard isItemKey(key), let header = StoredValueHeader(value), header.isTombstone else { return nil }
        let (deadline, overflow) = header.physicalMillis.addingReportingOverflow(graceMillis)
        return overflow ? nil : deadline
    }

    /// Whether the value stored under `key` is a tombstone older than the grace period at wall
    /// clock `nowMillis`: an item key (table id ≠ 0), a known value format, the tombstone flag, and
    /// physical time + grace < now.
    @inlinable
    public static func isPurgeable(key: some Collection<UInt8>, value: some Collection<UInt8>, nowMillis: UInt64, graceMillis: UInt64) -> Bool {
        guard let deadline = purgeableAfterMillis(key: key, value: value, graceMillis: graceMillis) else { return false }
        return deadline < nowMillis
    }

    /// Whether `key` belongs to a table: its 4-byte big-endian table id is not 0, the system key
    /// space (catalog and metadata), which is never purged whatever its values look like. A key
    /// shorter than a table id is no item key.
    @inlinable
    public static func isItemKey(_ key: some Collection<UInt8>) -> Bool {
        var length = 0
        var nonZero = false
        for byte in key.prefix(KeyEncoding.tableIdBytes) {
            length += 1
            nonZero = nonZero || byte != 0
        }
        return length == KeyEncoding.tableIdBytes && nonZero
    }
}
