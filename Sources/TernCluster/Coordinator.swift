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
    let locks = KeyLockTable()

    public init(nodeId: String, storage: any StorageEngine, physicalMillis: @escaping @Sendable () -> UInt64) {
        self.nodeId = nodeId
        self.storage = storage
        self.physicalMillis = physicalMillis
        self.clock = Mutex(HybridLogicalClock())
    }

    /// The live item under `key`, or nil if absent or deleted.
    public func get(_ table: TableDefinition, _ key: PrimaryKey) throws -> Item? {
        try liveItem(at: table.storageKey(key))
    }

    func liveItem(at storageKey: [UInt8]) throws -> Item? {
        try storage.get(storageKey).flatMap { try decodeLive($0) }
    }

    /// A read served from memory alone, for callers that must not block (an event loop).
    public enum CachedItem: Sendable {
        case item(Item?)
        case notCached
    }

    /// The live item under `key` when storage can answer from memory; `.notCached` otherwise.
    public func getIfCached(_ table: TableDefinition, _ key: PrimaryKey) throws -> CachedItem {
        switch try storage.getIfCached(table.storageKey(key)) {
        case .notCached: return .notCached
        case .value(let bytes): return .item(try bytes.flatMap { try decodeLive($0) })
        }
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

    /// What a read-modify-write decides after seeing the current item.
    public enum UpdateDecision: Sendable {
        /// Store this item (nil deletes it).
        case write(Item?)
        /// Change nothing.
        case keep
    }

    /// Reads the current item, lets `decide` choose the new one, and writes it — atomically with
    /// respect to every other write of the same key (conditional writes, UpdateItem, ADD).
    /// `decide` may throw (ConditionalCheckFailedException, validation errors): nothing is written.
    /// Returns the old and the new live item.
    public func update(
        _ table: TableDefinition, _ key: PrimaryKey, readOld: Bool = true,
        _ decide: @Sendable (Item?) throws -> UpdateDecision
    ) async throws -> (old: Item?, new: Item?) {
        let storageKey = table.storageKey(key)
        return try await locks.withLock(storageKey) {
            let old = readOld ? try liveItem(at: storageKey) : nil
            switch try decide(old) {
            case .keep:
                return (old, old)
            case .write(let item):
                var batch = WriteBatch()
                batch.put(storageKey, newVersion(item).encoded())
                try await storage.write(batch)
                return (old, item)
            }
        }
    }

    /// Applies several mutations as one durable batch (BatchWriteItem), holding each key's lock
    /// so the batch never interleaves with a read-modify-write of one of its items. With
    /// `readOld`, returns the previous live item of each mutation, in the order given.
    @discardableResult
    public func write(_ mutations: [ItemMutation], readOld: Bool = false) async throws -> [Item?] {
        // Locks are taken in key order so two batches sharing keys cannot deadlock.
        let keys = mutations.map { $0.table.storageKey($0.key) }
        let ordered = keys.sorted { $0.lexicographicallyPrecedes($1) }
        var olds: [Item?] = []
        try await withLocks(ordered[...]) {
            olds = try readOld ? keys.map(liveItem(at:)) : []
            var batch = WriteBatch()
            for (key, mutation) in zip(keys, mutations) {
                batch.put(key, newVersion(mutation.item).encoded())
            }
            try await storage.write(batch)
        }
        return olds
    }

    func withLocks(_ keys: ArraySlice<[UInt8]>, _ body: () async throws -> Void) async throws {
        guard let first = keys.first else { return try await body() }
        try await locks.withLock(first) {
            try await withLocks(keys.dropFirst(), body)
        }
    }

    /// One page of a range read: live items in key order (or reverse), and where to continue.
    public struct RangePage: Sendable {
        public var items: [(storageKey: [UInt8], item: Item)]
        /// True when the range holds no further live items after the last one returned.
        public var exhausted: Bool
        /// The DynamoDB-accounted size of `items`, which Query and Scan are charged on.
        public var bytes: Int
    }

    /// Reads live items with `start <= key < end`, stopping after `maxItems` items or once the
    /// items read reach `maxBytes` (DynamoDB's 1 MB page: the item that crosses it is included).
    /// Tombstones are skipped. The read walks storage in bounded chunks.
    public func readRange(start: [UInt8], end: [UInt8], reverse: Bool, maxItems: Int, maxBytes: Int) throws -> RangePage {
        var items: [(storageKey: [UInt8], item: Item)] = []
        var bytes = 0
        var low = start
        var high = end
        let chunk = max(1, min(maxItems, 256))
        while items.count < maxItems, bytes < maxBytes {
            let entries = try storage.scan(start: low, end: high, reverse: reverse, limit: chunk)
            for entry in entries {
                if reverse { high = entry.key } else { low = entry.key + [0] }
                guard let item = try decodeLive(entry.value) else { continue }
                items.append((entry.key, item))
                bytes += ItemSize.of(item)
                if items.count >= maxItems || bytes >= maxBytes {
                    let more = try !storage.scan(start: low, end: high, reverse: reverse, limit: 1).isEmpty
                    return RangePage(items: items, exhausted: !more, bytes: bytes)
                }
            }
            if entries.count < chunk { return RangePage(items: items, exhausted: true, bytes: bytes) }
        }
        return RangePage(items: items, exhausted: false, bytes: bytes)
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
