/// One change in a `WriteBatch`.
public enum WriteOperation: Sendable, Equatable {
    case put(key: [UInt8], value: [UInt8])
    case delete(key: [UInt8])
    /// Deletes every key `k` with `start <= k < end` (byte-wise order).
    case deleteRange(start: [UInt8], end: [UInt8])
    /// Adds `deltas` element-wise to the counters stored under `key` (layout and rules in
    /// `CounterValue`). Adds commute: concurrent batches adding to one key give the same total in
    /// any order, so counters kept this way need no read or lock on the write path.
    case addCounters(key: [UInt8], deltas: [Int64])
}

/// A group of changes applied atomically: all of them or none.
public struct WriteBatch: Sendable, Equatable {
    public var operations: [WriteOperation]

    public init(_ operations: [WriteOperation] = []) {
        self.operations = operations
    }

    public mutating func put(_ key: [UInt8], _ value: [UInt8]) {
        operations.append(.put(key: key, value: value))
    }

    public mutating func delete(_ key: [UInt8]) {
        operations.append(.delete(key: key))
    }

    public mutating func deleteRange(_ start: [UInt8], _ end: [UInt8]) {
        operations.append(.deleteRange(start: start, end: end))
    }

    public mutating func addCounters(_ key: [UInt8], _ deltas: [Int64]) {
        operations.append(.addCounters(key: key, deltas: deltas))
    }

    public var isEmpty: Bool { operations.isEmpty }
}

/// A key and its value, as returned by scans.
public struct KeyValue: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]

    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Errors an engine reports. An error set that may grow is a struct wrapping a private enum.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case closed
        case overloaded
        case io(String)
    }

    private let kind: Kind

    /// The engine was closed; no further operation is possible.
    public static let closed = StorageError(kind: .closed)
    /// The commit queue is full; the caller should shed the request (ThrottlingException).
    public static let overloaded = StorageError(kind: .overloaded)
    /// The underlying store failed.
    public static func io(_ message: String) -> StorageError { StorageError(kind: .io(message)) }

    public var isOverloaded: Bool { kind == .overloaded }

    public var description: String {
        switch kind {
        case .closed: return "storage engine is closed"
        case .overloaded: return "storage commit queue is full"
        case .io(let message): return "storage I/O error: \(message)"
        }
    }
}

/// The result of a read that must not wait for disk.
public enum CachedRead: Sendable, Equatable {
    /// The read completed from memory: the value, or nil when the key is absent.
    case value([UInt8]?)
    /// Answering would need disk I/O; ask again with `get`, off the event loop.
    case notCached
}

/// An ordered key-value store with byte-wise key order.
///
/// Durability contract: when `write(_:)` returns, the batch is durable (its write-ahead-log
/// record is synced, unless the engine is in-memory) and visible to every later read.
/// Engines batch concurrent writers into one sync (group commit).
public protocol StorageEngine: AnyObject, Sendable {
    /// The value stored under `key`, or nil.
    func get(_ key: [UInt8]) throws -> [UInt8]?

    /// The value under `key` if it can be read from memory alone (memtable, block cache),
    /// else `.notCached`. Lets an event loop serve hot reads without a thread hop while never
    /// blocking on disk.
    func getIfCached(_ key: [UInt8]) throws -> CachedRead

    /// Applies `batch` atomically and durably.
    nonisolated(nonsending) func write(_ batch: WriteBatch) async throws

    /// Up to `limit` entries with `start <= key < end`, in ascending key order, or in
    /// descending order when `reverse` is true (then the first entry is the greatest key < end).
    func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue]

    /// Flushes and releases resources. Idempotent; later calls to other methods throw `.closed`.
    func close() throws
}

extension StorageEngine {
    /// Engines that never touch a disk answer every read from memory.
    public func getIfCached(_ key: [UInt8]) throws -> CachedRead {
        .value(try get(key))
    }
}
