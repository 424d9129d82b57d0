/// The binary format of a stored value (docs/architecture.md, "Storage layout").
///
/// Every format starts with the same 10-byte header, which the RocksDB compaction filter reads
/// without parsing further: byte 0 = format, byte 1 = flags (bit 0 = tombstone), bytes 2..<10 =
/// HLC timestamp, big-endian.
///
/// Format 2 (written today):
///   header · clock · siblingCount · sibling
///   clock   = count, { nodeLength, nodeUTF8, counter }*   (nodes strictly ascending, counters ≥ 1)
///   sibling = writer (0 = not recorded, i + 1 = clock entry i), item (absent for a tombstone)
/// The sibling count is 1 today: it is there so that a later version can keep concurrent
/// versions side by side without a new format; until then a decoder rejects any other count.
///
/// Format 1 (read only): header · clock (entries in any order) · item (absent for a tombstone).
/// Its writer is the clock's only node, because format 1 always stored `{writer: timestamp}`.
extension StoredValue {
    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        var clockBytes = 0
        for entry in clock.entries { clockBytes += entry.node.utf8.count + 11 }
        writer.reserve(StoredValue.headerSize + clockBytes + 96)
        writer.bytes.append(StoredValue.formatVersion)
        writer.bytes.append(isTombstone ? StoredValue.tombstoneFlag : 0)
        writer.uint64BigEndian(timestamp)
        writer.varint(clock.entries.count)
        var writerIndex = 0
        for (index, entry) in clock.entries.enumerated() {
            writer.lengthPrefixed(entry.node.utf8)
            writer.varint(entry.counter)
            if let node = self.writer, writerIndex == 0, VectorClock.order(node, entry.node) == 0 { writerIndex = index + 1 }
        }
        writer.varint(1)  // sibling count
        writer.varint(writerIndex)
        if let item { writer.item(item) }
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(ItemCodec.DecodeError) -> StoredValue {
        var reader = ByteReader(bytes)
        switch try reader.byte() {
        case formatVersion: return try decodeFormat2(&reader)
        case legacyFormatVersion: return try decodeFormat1(&reader)
        default: throw ItemCodec.DecodeError(offset: 0)
        }
    }

    static func decodeFormat2(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> StoredValue {
        let flags = try reader.byte()
        guard flags & ~tombstoneFlag == 0 else { throw ItemCodec.DecodeError(offset: reader.offset - 1) }
        let timestamp = try reader.uint64BigEndian()
        let clockCount = try reader.count()
        var entries: [VectorClock.Entry] = []
        entries.reserveCapacity(clockCount)
        for _ in 0..<clockCount {
            let start = reader.offset
            let node = try reader.string()
            let counter = try reader.varint()
            // Canonical form only: ascending, distinct nodes and no zero counters.
            guard counter > 0, entries.last.map({ VectorClock.order($0.node, node) < 0 }) ?? true else {
                throw ItemCodec.DecodeError(offset: start)
            }
            entries.append(VectorClock.Entry(node: node, counter: counter))
        }
        let siblingStart = reader.offset
        guard try reader.varint() == 1 else { throw ItemCodec.DecodeError(offset: siblingStart) }
        let writerStart = reader.offset
        let writerIndex = try reader.varint()
        guard writerIndex <= UInt64(entries.count) else { throw ItemCodec.DecodeError(offset: writerStart) }
        let writer = writerIndex == 0 ? nil : entries[Int(writerIndex) - 1].node
        let item: Item? = flags & tombstoneFlag != 0 ? nil : try reader.item()
        guard reader.isAtEnd else { throw ItemCodec.DecodeError(offset: reader.offset) }
        return StoredValue(item: item, timestamp: timestamp, clock: VectorClock(canonicalEntries: entries), writer: writer)
    }

    /// Format 1 as today's code wrote it, decoded as that code did (flag byte 1 = tombstone;
    /// a repeated node keeps its last counter).
    static func decodeFormat1(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> StoredValue {
        let tombstone = try reader.byte() == 1
        let timestamp = try reader.uint64BigEndian()
        let clockCount = try reader.count()
        var entries: [VectorClock.Entry] = []
        entries.reserveCapacity(clockCount)
        for _ in 0..<clockCount {
            let node = try reader.string()
            entries.append(VectorClock.Entry(node: node, counter: try reader.varint()))
        }
        let item: Item? = tombstone ? nil : try reader.item()
        guard reader.isAtEnd else { throw ItemCodec.DecodeError(offset: reader.offset) }
        let clock = VectorClock(unsortedEntries: entries)
        let writer = clock.entries.count == 1 ? clock.entries[0].node : nil
        return StoredValue(item: item, timestamp: timestamp, clock: clock, writer: writer)
    }
}
