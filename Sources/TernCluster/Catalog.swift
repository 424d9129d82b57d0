import Synchronization
import TernCore
import TernStorage

/// The table definitions of this node, persisted in the storage engine's system key space
/// (table id 0) and cached in memory.
///
/// A cluster of one owns its catalog; when the cluster layer arrives, catalog changes travel
/// with the partition map through gossip, and this type becomes the local copy.
public final class Catalog: Sendable {
    static let systemTableId: UInt32 = 0
    static let tablePrefix: [UInt8] = KeyEncoding.tablePrefix(0) + Array("table/".utf8)
    static let nextIdKey: [UInt8] = KeyEncoding.tablePrefix(0) + Array("meta/next-table-id".utf8)

    let storage: any StorageEngine
    struct State {
        var tables: [String: TableDefinition] = [:]
        var nextTableId: UInt32 = 1
    }
    let state: Mutex<State>
    let locks = KeyLockTable()

    /// Loads every table definition from storage.
    public init(storage: any StorageEngine) throws {
        self.storage = storage
        var loaded = State()
        let entries = try storage.scan(start: Catalog.tablePrefix, end: KeyEncoding.prefixEnd(Catalog.tablePrefix), reverse: false, limit: Int.max)
        for entry in entries {
            guard let table = TableDefinition.decode(entry.value) else {
                throw StorageError.io("corrupt table definition under key \(entry.key)")
            }
            loaded.tables[table.name] = table
            loaded.nextTableId = max(loaded.nextTableId, table.tableId + 1)
        }
        if let stored = try storage.get(Catalog.nextIdKey), let text = String(validating: stored, as: UTF8.self), let id = UInt32(text) {
            loaded.nextTableId = max(loaded.nextTableId, id)
        }
        state = Mutex(loaded)
    }

    public func table(named name: String) -> TableDefinition? {
        state.withLock { $0.tables[name] }
    }

    /// All table names in byte-wise order (DynamoDB lists tables alphabetically).
    public func tableNames() -> [String] {
        state.withLock { Array($0.tables.keys) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public var tableCount: Int { state.withLock { $0.tables.count } }

    static func key(for name: String) -> [UInt8] { tablePrefix + Array(name.utf8) }

    /// Creates a table; `build` receives the allocated table id. Throws ResourceInUseException if
    /// the name is taken.
    public func create(_ name: String, build: (UInt32) -> TableDefinition) async throws -> TableDefinition {
        let table: TableDefinition = try state.withLock { state throws(DynamoDBError) in
            if state.tables[name] != nil { throw DynamoDBError.resourceInUse("Table already exists: \(name)") }
            let table = build(state.nextTableId)
            state.nextTableId += 1
            state.tables[name] = table
            return table
        }
        var batch = WriteBatch()
        batch.put(Catalog.key(for: name), table.encodedJSON())
        batch.put(Catalog.nextIdKey, Array(String(table.tableId + 1).utf8))
        do {
            try await storage.write(batch)
        } catch {
            _ = state.withLock { $0.tables.removeValue(forKey: name) }
            throw error
        }
        return table
    }

    /// Changes a table's definition (UpdateTable, tags) as one atomic read-modify-write: changes
    /// to the same table are serialised, so concurrent TagResource calls never lose a tag.
    @discardableResult
    public func modify(_ name: String, _ change: @Sendable (inout TableDefinition) throws -> Void) async throws -> TableDefinition {
        try await locks.withLock(Array(name.utf8)) {
            guard var table = self.table(named: name) else {
                throw DynamoDBError.resourceNotFound()
            }
            try change(&table)
            var batch = WriteBatch()
            batch.put(Catalog.key(for: table.name), table.encodedJSON())
            try await storage.write(batch)
            let updated = table
            state.withLock { $0.tables[name] = updated }
            return updated
        }
    }

    /// Removes a table's definition and, in the same atomic batch, every one of its items.
    public func delete(_ name: String) async throws -> TableDefinition {
        let removed: TableDefinition = try state.withLock { state throws(DynamoDBError) in
            guard let table = state.tables.removeValue(forKey: name) else {
                throw DynamoDBError.resourceNotFound("Requested resource not found: Table: \(name) not found")
            }
            return table
        }
        var batch = WriteBatch()
        batch.delete(Catalog.key(for: name))
        batch.deleteRange(KeyEncoding.tablePrefix(removed.tableId), KeyEncoding.tableEnd(removed.tableId))
        do {
            try await storage.write(batch)
        } catch {
            state.withLock { $0.tables[name] = removed }
            throw error
        }
        return removed
    }
}
