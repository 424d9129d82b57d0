import Synchronization
import TernCore
import TernStorage

/// The table definitions of this node, persisted in the system key space (table id 0) and
/// cached in memory.
///
/// Every change (create, update, tag, untag, delete) is serialised by one gate and is durable
/// before it is visible: the in-memory view changes only after the storage write returned.
/// Table ids are allocated under the gate and the next id is written in the same batch as the
/// definition, so an id is never reused, across restarts too (table ids are part of every item
/// key: a reused id would show a deleted table's items in a new one).
///
/// DeleteTable is two steps. First the definition is durably marked DELETING (the table stays
/// visible to DescribeTable and ListTables, refuses item operations and changes). Then a
/// background task has the coordinator fence the table id — refusing new writes and waiting for
/// the ones already accepted — and only then one atomic batch removes the definition,
/// range-deletes the items and drops the statistics. So no item write that raced the delete can
/// land after it. A node that stops in between finishes the deletion when it starts again.
///
/// A cluster decides these changes by consensus (the next issue); this type becomes the local
/// copy that applies the decided changes.
public final class Catalog: Sendable {
    static let tablePrefix: [UInt8] = KeyEncoding.tablePrefix(0) + Array("table/".utf8)
    static let nextIdKey: [UInt8] = KeyEncoding.tablePrefix(0) + Array("meta/next-table-id".utf8)

    let storage: any StorageEngine
    let coordinator: CoordinatorShell
    let gate = SerialGate()

    struct State {
        var tables: [String: TableDefinition] = [:]
        var nextTableId: UInt32 = 1
        /// Background completions of deletions, by table id (bounded by the tables in DELETING).
        var deletions: [UInt32: Task<Void, Never>] = [:]
    }

    let state: Mutex<State>

    /// Loads every table definition and resumes the deletions a previous run left unfinished.
    public init(storage: any StorageEngine, coordinator: CoordinatorShell) throws {
        self.storage = storage
        self.coordinator = coordinator
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
        for table in loaded.tables.values where table.status == .deleting {
            startDeletion(table)
        }
    }

    /// The table in any state (DescribeTable, ListTables, DeleteTable).
    public func table(named name: String) -> TableDefinition? {
        state.withLock { $0.tables[name] }
    }

    /// The table for item operations: ResourceNotFoundException when it is absent or being deleted.
    public func activeTable(named name: String) throws(DynamoDBError) -> TableDefinition {
        guard let table = table(named: name), table.status != .deleting else {
            throw DynamoDBError.resourceNotFound()
        }
        return table
    }

    /// All table names in byte-wise order (DynamoDB lists tables alphabetically), DELETING ones too.
    public func tableNames() -> [String] {
        state.withLock { Array($0.tables.keys) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public var tableCount: Int { state.withLock { $0.tables.count } }

    static func key(for name: String) -> [UInt8] { tablePrefix + Array(name.utf8) }

    /// Creates a table; `build` receives the allocated table id. ResourceInUseException if the
    /// name is taken (a table being deleted holds its name until the deletion completes).
    public func create(_ name: String, build: @Sendable (UInt32) -> TableDefinition) async throws -> TableDefinition {
        try await gate.withLock {
            let id = try state.withLock { state throws(DynamoDBError) -> UInt32 in
                if state.tables[name] != nil { throw DynamoDBError.resourceInUse("Table already exists: \(name)") }
                guard state.nextTableId < UInt32.max else { throw DynamoDBError.limitExceeded("Table ids are exhausted on this node") }
                return state.nextTableId
            }
            let table = build(id)
            var batch = WriteBatch()
            batch.put(Catalog.key(for: name), table.encodedJSON())
            batch.put(Catalog.nextIdKey, Array(String(id + 1).utf8))
            try await storage.write(batch)
            state.withLock { state in
                state.tables[name] = table
                state.nextTableId = id + 1
            }
            return table
        }
    }

    /// Changes an ACTIVE table's definition (UpdateTable, tags) as one serialised, durable
    /// read-modify-write, so concurrent TagResource calls never lose a tag and a change never
    /// writes back a table that is being deleted.
    @discardableResult
    public func modify(_ name: String, _ change: @Sendable (inout TableDefinition) throws -> Void) async throws -> TableDefinition {
        try await gate.withLock {
            guard var table = table(named: name) else { throw DynamoDBError.resourceNotFound() }
            guard table.status != .deleting else {
                throw DynamoDBError.resourceInUse("Attempt to change a resource which is still in use: Table is being deleted: \(name)")
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

    /// Marks the table DELETING (durably), starts the deletion's completion in the background and
    /// waits for it: the response still says DELETING, as DynamoDB's does, and a client racing the
    /// call sees the table DELETING. Deleting a table that is already DELETING succeeds and
    /// changes nothing, as in DynamoDB. `check` may refuse (deletion protection).
    public func delete(_ name: String, check: @Sendable (TableDefinition) throws -> Void = { _ in }) async throws -> TableDefinition {
        let deleting = try await gate.withLock {
            guard var table = table(named: name) else {
                throw DynamoDBError.resourceNotFound("Requested resource not found: Table: \(name) not found")
            }
            if table.status == .deleting { return table }
            try check(table)
            table.status = .deleting
            var batch = WriteBatch()
            batch.put(Catalog.key(for: name), table.encodedJSON())
            try await storage.write(batch)
            let deleting = table
            state.withLock { $0.tables[name] = deleting }
            startDeletion(deleting)
            return deleting
        }
        // Outside the gate: the completion takes the gate itself.
        await state.withLock { $0.deletions[deleting.tableId] }?.value
        return deleting
    }

    func startDeletion(_ table: TableDefinition) {
        state.withLock { state in
            guard state.deletions[table.tableId] == nil else { return }
            state.deletions[table.tableId] = Task { await self.completeDeletion(table) }
        }
    }

    /// Fences the table's writes, then removes definition, items and statistics in one batch.
    func completeDeletion(_ table: TableDefinition) async {
        await coordinator.fence(tableId: table.tableId)
        _ = try? await gate.withLock {
            var batch = WriteBatch()
            batch.delete(Catalog.key(for: table.name))
            batch.deleteRange(KeyEncoding.tablePrefix(table.tableId), KeyEncoding.tableEnd(table.tableId))
            batch.delete(TableStatistics.key(tableId: table.tableId))
            // On failure (storage closing) the table stays DELETING on disk and the next start
            // finishes the deletion.
            let written = (try? await storage.write(batch)) != nil
            if written {
                state.withLock { state in
                    if state.tables[table.name]?.tableId == table.tableId { state.tables[table.name] = nil }
                }
            }
        }
        _ = state.withLock { $0.deletions.removeValue(forKey: table.tableId) }
    }

    /// Waits until every deletion started so far has completed (tests, shutdown).
    public func waitForDeletions() async {
        while let next = state.withLock({ $0.deletions.values.first }) {
            await next.value
        }
    }
}
