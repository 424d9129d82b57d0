import Synchronization
import TernCore

/// The versions this node's replica stored last, kept in memory so that the next write of a hot
/// key does not search RocksDB for the version it replaces.
///
/// Every write reads the version it replaces (the new one must descend from it, and the table
/// statistics need the old item). On one node that point read — a memtable search in which every
/// skiplist level is a cache miss — and the kernel work it adds (smaller group commits) cost about
/// 15 µs of a durable PutItem's CPU (docs/benchmarks.md, "Issue 6, third look").
///
/// Write-through only: an entry is recorded when a local write is durable, never from a read.
/// Coherence with storage:
/// - every write of an item key to this node's replica goes through `CoordinatorShell.writeLocal`,
///   which calls `begin` before the write and `end` after it;
/// - `begin` makes the key unknown until its `end`, so a read meanwhile goes to storage;
/// - two local writes of one key in flight at once (possible when a write with W < N released its
///   key lock before its local copy was durable) leave the key unknown: their order in storage
///   is the group commit's, not the order their `end`s arrive in;
/// - outside `writeLocal`, item keys only lose data: DeleteTable's range delete (the table's
///   entries are dropped, and its id is never reused) and the compaction filter's purge of old
///   tombstones (a remembered tombstone reads like none).
///
/// Bounded by entries and by an estimate of the bytes held (STYLE.md: bound every cache); past a
/// bound the oldest entry goes (first in, first out). One lock, held for a hash lookup.
final class RecentWrites: Sendable {
    struct Entry: Sendable {
        /// The version stored; nil while a write of the key is in flight (`begin`).
        var value: StoredValue?
        var writesInFlight = 0
        var overlapped = false
        var cost = 0
        /// Its place in `State.order`.
        var slot: UInt64 = 0
    }

    struct State: Sendable {
        var entries: [ByteKey: Entry] = [:]
        var bytes = 0
        /// Keys in the order they were first entered, from `head` on (`head` is slot number
        /// `firstSlot`): eviction takes the oldest. A key removed early leaves its slot behind,
        /// skipped when eviction reaches it.
        var order: [ByteKey] = []
        var head = 0
        var firstSlot: UInt64 = 0

        /// Stores `entry` under `key`, entering a new key at the back of the order.
        mutating func store(_ key: ByteKey, _ entry: Entry) {
            var entry = entry
            bytes += entry.cost
            if let index = entries.index(forKey: key) {
                bytes -= entries.values[index].cost
                entry.slot = entries.values[index].slot
                entries.values[index] = entry
            } else {
                entry.slot = firstSlot + UInt64(order.count - head)
                order.append(key)
                entries[key] = entry
            }
        }

        mutating func remove(_ key: ByteKey) {
            guard let held = entries.removeValue(forKey: key) else { return }
            bytes -= held.cost
        }
    }

    /// Entries kept at most (16,384: the hot keys of a node) and the estimated bytes they may hold.
    static let defaultEntriesMax = 16_384
    static let defaultBytesMax = 32 << 20

    let entriesMax: Int
    let bytesMax: Int
    /// Whether two local writes of one key can be in flight at once. Not on a cluster of one: a
    /// write holds its key's lock until its local copy is durable, so `begin` has nothing to
    /// track and is skipped (one lock round and hash lookup fewer per write).
    let writesMayOverlap: Bool
    private let state = Mutex(State())

    init(writesMayOverlap: Bool, entriesMax: Int = RecentWrites.defaultEntriesMax, bytesMax: Int = RecentWrites.defaultBytesMax) {
        precondition(entriesMax >= 1 && bytesMax >= 1, "RecentWrites needs room for an entry")
        self.writesMayOverlap = writesMayOverlap
        self.entriesMax = entriesMax
        self.bytesMax = bytesMax
    }

    /// The version this replica holds for `key` (a tombstone included), or nil when it is not
    /// known here.
    func lookup(_ key: [UInt8]) -> StoredValue? {
        state.withLock { $0.entries[ByteKey(key)]?.value }
    }

    /// A write of `key` to this replica is about to start: the key is unknown until it ends.
    func begin(_ key: [UInt8]) {
        guard writesMayOverlap else { return }
        state.withLock { state in
            let key = ByteKey(key)
            var entry = state.entries[key] ?? Entry()
            entry.value = nil
            entry.cost = 0
            entry.writesInFlight += 1
            entry.overlapped = entry.overlapped || entry.writesInFlight > 1
            state.store(key, entry)
        }
    }

    /// The write `begin` announced ended: `value` is what the replica holds now if `durable`.
    /// It is remembered unless the write failed or another write of the key overlapped it.
    func end(_ key: [UInt8], value: StoredValue, durable: Bool) {
        let cost = RecentWrites.cost(key: key, value: value)
        state.withLock { state in
            let key = ByteKey(key)
            if writesMayOverlap {
                // No entry: `forgetTable` dropped it while the write was in flight.
                guard var entry = state.entries[key] else { return }
                entry.writesInFlight -= 1
                if entry.writesInFlight > 0 {
                    state.entries[key] = entry
                    return
                }
                if entry.overlapped {
                    state.remove(key)
                    return
                }
            }
            guard durable, cost <= bytesMax else {
                state.remove(key)
                return
            }
            state.store(key, Entry(value: value, cost: cost))
            evict(&state, keeping: key)
        }
    }

    /// Drops the entries of a table whose items were deleted (DeleteTable); a write of it still in
    /// flight then records nothing.
    func forgetTable(_ tableId: UInt32) {
        state.withLock { state in
            for key in state.entries.keys where KeyEncoding.tableId(ofKey: key.bytes) == tableId {
                state.remove(key)
            }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Removes the oldest entries other than `kept` until both bounds hold; an entry with a write
    /// in flight goes to the back instead. Stale slots are bounded too: at most two per entry kept.
    private func evict(_ state: inout State, keeping kept: ByteKey) {
        var requeued = 0
        while state.head < state.order.count,
            state.entries.count > entriesMax || state.bytes > bytesMax || state.order.count - state.head > 2 * entriesMax
        {
            let key = state.order[state.head]
            let slot = state.firstSlot
            state.head += 1
            state.firstSlot += 1
            guard let entry = state.entries[key], entry.slot == slot else { continue }  // a stale slot
            if key == kept || entry.writesInFlight > 0 {
                state.entries[key] = nil  // re-entered at the back
                state.bytes -= entry.cost
                state.store(key, entry)
                requeued += 1
                if requeued > state.entries.count { break }  // every entry left is in use
                continue
            }
            state.remove(key)
        }
        if state.head >= 1024, state.head * 2 >= state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }

    /// An estimate of the memory an entry holds: its key, DynamoDB's size of the item (names and
    /// values; the decoded form takes more, hence the factor), its clock and a fixed overhead.
    static func cost(key: [UInt8], value: StoredValue) -> Int {
        128 + key.count + 24 * value.clock.entries.count + 2 * (value.item.map(ItemSize.of) ?? 0)
    }
}
