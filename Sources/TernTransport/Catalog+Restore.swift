import Synchronization
import TernCluster
import TernCore
import TernStorage

/// What a catalog reads back at start-up, and the keys of its log state.
extension Catalog {
    static func restore(from storage: any StorageEngine) throws -> (AppliedCatalog, CatalogLog.Restored) {
        var applied = AppliedCatalog()
        let entries = try storage.scan(start: tablePrefix, end: KeyEncoding.prefixEnd(tablePrefix), reverse: false, limit: Int.max)
        for entry in entries {
            guard let table = TableDefinition.decode(entry.value) else {
                throw StorageError.io("corrupt table definition under key \(entry.key)")
            }
            applied.tables[table.name] = table
            applied.nextTableId = max(applied.nextTableId, table.tableId + 1)
        }
        if let stored = try storage.get(nextIdKey), let text = String(validating: stored, as: UTF8.self), let id = UInt32(text) {
            applied.nextTableId = max(applied.nextTableId, id)
        }
        if let stored = try storage.get(versionKey) {
            guard let version = slot(of: stored, after: []) else { throw StorageError.io("corrupt catalog version") }
            applied.version = version
        }
        var acceptors: [UInt64: PaxosAcceptor.State] = [:]
        for entry in try storage.scan(start: acceptorPrefix, end: KeyEncoding.prefixEnd(acceptorPrefix), reverse: false, limit: Int.max) {
            // A state that does not decode must stop the node: a blank acceptor could break a promise.
            guard let slot = slot(of: entry.key, after: acceptorPrefix), let state = PaxosAcceptor.State(decoding: entry.value) else {
                throw StorageError.io("corrupt catalog acceptor state under key \(entry.key)")
            }
            acceptors[slot] = state
        }
        // The decided entries that end at the applied version without a gap (older ones, from
        // before a snapshot, are not contiguous with it and are not used).
        var decided: [CatalogEntry] = []
        var expected = applied.version
        let stored = try storage.scan(start: decidedPrefix, end: KeyEncoding.prefixEnd(decidedPrefix), reverse: true, limit: Int.max)
        for entry in stored {
            guard expected > 0, let slot = slot(of: entry.key, after: decidedPrefix), slot == expected,
                  let decodedEntry = CatalogEntry(decoding: entry.value) else { break }
            decided.append(decodedEntry)
            expected -= 1
        }
        return (applied, CatalogLog.Restored(appliedThrough: applied.version, recentDecided: decided.reversed(), acceptors: acceptors))
    }

    static func slotKey(_ prefix: [UInt8], _ slot: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes = prefix
        writer.uint64BigEndian(slot)
        return writer.bytes
    }

    static func slot(of bytes: [UInt8], after prefix: [UInt8]) -> UInt64? {
        guard bytes.count == prefix.count + 8, bytes.starts(with: prefix) else { return nil }
        return bytes[prefix.count...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
}
