import Synchronization

/// A `StorageEngine` that keeps everything in memory, for tests and for running without disk.
///
/// Entries live in one array sorted by key (byte-wise), so scans are a binary search plus a
/// slice. Every operation runs under one mutex: a write batch is applied entirely while the lock
/// is held, so no reader can ever observe half of a batch.
public final class InMemoryStorage: StorageEngine {
    private struct State {
        /// Sorted by key, byte-wise; keys are unique.
        var entries: [KeyValue] = []
        var isClosed = false
    }

    private let state = Mutex(State())

    public init() {}

    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try state.withLock { state in
            try Self.checkOpen(state)
            let index = Self.lowerBound(of: key, in: state.entries)
            guard index < state.entries.count, state.entries[index].key == key else { return nil }
            return state.entries[index].value
        }
    }

    public nonisolated(nonsending) func write(_ batch: WriteBatch) async throws {
        try state.withLock { state in
            try Self.checkOpen(state)
            for operation in batch.operations {
                Self.apply(operation, to: &state.entries)
            }
        }
    }

    public func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
        try state.withLock { state in
            try Self.checkOpen(state)
            guard limit > 0 else { return [] }
            let range = Self.indices(from: start, to: end, in: state.entries)
            if reverse {
                return Array(state.entries[range].suffix(limit).reversed())
            }
            return Array(state.entries[range].prefix(limit))
        }
    }

    public func close() throws {
        state.withLock { state in
            state.isClosed = true
            state.entries = []  // release the memory now; nothing can read it any more
        }
    }

    // MARK: - Sorted-array helpers

    private static func checkOpen(_ state: State) throws {
        if state.isClosed { throw StorageError.closed }
    }

    private static func apply(_ operation: WriteOperation, to entries: inout [KeyValue]) {
        switch operation {
        case .put(let key, let value):
            let index = lowerBound(of: key, in: entries)
            if index < entries.count, entries[index].key == key {
                entries[index].value = value
            } else {
                entries.insert(KeyValue(key: key, value: value), at: index)
            }
        case .delete(let key):
            let index = lowerBound(of: key, in: entries)
            if index < entries.count, entries[index].key == key {
                entries.remove(at: index)
            }
        case .deleteRange(let start, let end):
            entries.removeSubrange(indices(from: start, to: end, in: entries))
        case .addCounters(let key, let deltas):
            // Read-modify-write is safe here: the whole batch runs under the engine's lock.
            let index = lowerBound(of: key, in: entries)
            if index < entries.count, entries[index].key == key {
                let counters = CounterValue.decode(entries[index].value)
                entries[index].value = CounterValue.encode(CounterValue.adding(deltas, to: counters))
            } else {
                entries.insert(KeyValue(key: key, value: CounterValue.encode(deltas)), at: index)
            }
        }
    }

    /// The positions of the entries with `start <= key < end`; empty when `end <= start`.
    private static func indices(from start: [UInt8], to end: [UInt8], in entries: [KeyValue]) -> Range<Int> {
        guard start.lexicographicallyPrecedes(end) else { return 0..<0 }
        return lowerBound(of: start, in: entries)..<lowerBound(of: end, in: entries)
    }

    /// The index of the first entry whose key is `>= key` (or `entries.count`).
    /// `[UInt8].lexicographicallyPrecedes` compares unsigned bytes and puts a prefix first,
    /// which is exactly the byte-wise order the protocol promises.
    private static func lowerBound(of key: [UInt8], in entries: [KeyValue]) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].key.lexicographicallyPrecedes(key) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
