import Synchronization
import TernCore
import TernStorage

/// One change to one item, as the API layer asks for it.
public struct ItemMutation: Sendable {
    public var table: TableDefinition
    public var key: PrimaryKey
    /// The new item, or nil to delete.
    public var item: Item?

    public init(table: TableDefinition, key: PrimaryKey, item: Item?) {
        self.table = table
        self.key = key
        self.item = item
    }
}

/// The coordinator of item reads and writes (DESIGN.md §1).
///
/// Today Tern is a cluster of one: the preference list of every key is this node, N = R = W = 1,
/// and the coordinator applies each request to the local replica. Requests already travel
/// API → coordinator → replica storage so that replication slots in here without rewiring the
/// API: the coordinator will fan out to N replicas and wait for W or R of them.
public final class Coordinator: Sendable {
    public let nodeId: String
    let storage: any StorageEngine
    let physicalMillis: @Sendable () -> UInt64
    let clock: Mutex<HybridLogicalClock>

    public init(nodeId: String, storage: any StorageEngine, physicalMillis: @escaping @Sendable () -> UInt64) {
        self.nodeId = nodeId
        self.storage = storage
        self.physicalMillis = physicalMillis
        self.clock = Mutex(HybridLogicalClock())
    }

    /// The live item under `key`, or nil if absent or deleted.
    public func get(_ table: TableDefinition, _ key: PrimaryKey) throws -> Item? {
        guard let bytes = try storage.get(table.storageKey(key)) else { return nil }
        return try decodeLive(bytes)
    }

    func decodeLive(_ bytes: [UInt8]) throws -> Item? {
        do {
            return try StoredValue.decode(bytes).item
        } catch {
            throw StorageError.io("corrupt stored value at offset \(error.offset)")
        }
    }

    /// A new version for a local write. With one coordinator per key, the HLC timestamp is a
    /// valid, strictly increasing vector-clock counter for this node.
    func newVersion(_ item: Item?) -> StoredValue {
        let timestamp = clock.withLock { $0.tick(physicalMillis: physicalMillis()) }
        return StoredValue(item: item, timestamp: timestamp, clock: VectorClock([nodeId: timestamp]))
    }

    /// Writes (or deletes, with a tombstone) one item durably. Returns the previous live item
    /// when `returnOld` is set.
    @discardableResult
    public func write(_ mutation: ItemMutation, returnOld: Bool) async throws -> Item? {
        let storageKey = mutation.table.storageKey(mutation.key)
        let old = returnOld ? try storage.get(storageKey).flatMap { try decodeLive($0) } : nil
        var batch = WriteBatch()
        batch.put(storageKey, newVersion(mutation.item).encoded())
        try await storage.write(batch)
        return old
    }

    /// Applies several mutations as one durable batch (BatchWriteItem).
    public func write(_ mutations: [ItemMutation]) async throws {
        var batch = WriteBatch()
        for mutation in mutations {
            batch.put(mutation.table.storageKey(mutation.key), newVersion(mutation.item).encoded())
        }
        try await storage.write(batch)
    }

    /// Item count and DynamoDB-accounted size of a table, by a full scan of its key range.
    public func statistics(_ table: TableDefinition) throws -> (itemCount: Int, sizeBytes: Int) {
        var start = KeyEncoding.tablePrefix(table.tableId)
        let end = KeyEncoding.tableEnd(table.tableId)
        var count = 0
        var bytes = 0
        let pageSize = 1024
        while true {
            let page = try storage.scan(start: start, end: end, reverse: false, limit: pageSize)
            for entry in page {
                guard let item = try decodeLive(entry.value) else { continue }
                count += 1
                bytes += ItemSize.of(item)
            }
            guard page.count == pageSize, let last = page.last else { break }
            start = last.key + [0]
        }
        return (count, bytes)
    }
}
