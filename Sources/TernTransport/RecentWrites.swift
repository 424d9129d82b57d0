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
/// bound the oldest entry goes (first in, first out). One lock, held for a hash lookup: in memory only, so
/// `Hasher` is fine.
final class RecentWrites: Sendable {
    struct Entry: Sendable {
        /// The version stored, when known.
        var value: StoredValue?
        var writesInFlight = 0
        var overlapped = false
        var cost = 0
        /// Its place in `State.order`.
        var slot: UInt64 = 0
    }

    struct Key: Hashable, Sendable {
        let bytes: [UInt8]

        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    struct State: Sendable {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        /// Keys in the order they were first entered, from `head` on (`head` is slot number
        /// `firstSlot`): eviction takes the oldest. A key removed early leaves its slot behind,
        /// skipped when eviction reaches it.
        var order: [Key] = []
        var head = 0
        var firstSlot: UInt64 = 0

        /// Enters `key` at the back of the order.
        mutating func insert(_ key: Key, _ entry: Entry) {
            var entry = entry
            entry.slot = firstSlot + UInt64(order.count - head)
            order.append(key)
            entries[key] = entry
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
        self.writesMayOverlap = writesMayOverlap
        self.entriesMax = entriesMax
        self.bytesMax = bytesMax
    }

    /// The version this replica holds for `key` (a tombstone included), or nil when it is not
    /// known here.
    func lookup(_ key: [UInt8]) -> StoredValue? {
        guard entriesMax > 0 else { return nil }
        return state.withLock { $0.entries[Key(bytes: key)]?.value }
    }

    /// A write of `key` to this replica is about to start.
    func begin(_ key: [UInt8]) {
        guard entriesMax > 0, writesMayOverlap else { return }
        state.withLock { state in
            let key = Key(bytes: key)
            guard var entry = state.entries[key] else {
                state.insert(key, Entry(writesInFlight: 1))
                return
            }
            state.bytes -= entry.cost
            entry.cost = 0
            entry.value = nil
            entry.writesInFlight += 1
            entry.overlapped = entry.overlapped || entry.writesInFlight > 1
            state.entries[key] = entry
        }
    }

    /// The write `begin` announced ended: `value` is what the replica holds now if `durable`.
    func end(_ key: [UInt8], value: StoredValue, durable: Bool) {
        guard entriesMax > 0 else { return }
        let cost = RecentWrites.cost(key: key, value: value)
        state.withLock { state in
            let key = Key(bytes: key)
            var entry: Entry
            if let tracked = state.entries[key] {
                entry = tracked
            } else if writesMayOverlap {
                return
            } else {
                state.insert(key, Entry())
                entry = state.entries[key]!
            }
            if !writesMayOverlap {
                // The key's lock is held: this is the only write of it in flight.
                entry.writesInFlight = 1
                state.bytes -= entry.cost
                entry.cost = 0
            }
            entry.writesInFlight -= 1
            guard entry.writesInFlight == 0 else {
                state.entries[key] = entry
                return
            }
            guard durable, !entry.overlapped, cost <= bytesMax else {
                state.entries[key] = nil
                return
            }
            entry.overlapped = false
            entry.value = value
            entry.cost = cost
            state.entries[key] = entry
            state.bytes += cost
            evict(&state, keeping: key)
        }
    }

    /// Drops the entries of a table whose items were deleted (DeleteTable).
    func forgetTable(_ tableId: UInt32) {
        state.withLock { state in
            for (key, entry) in state.entries where entry.writesInFlight == 0 && KeyEncoding.tableId(ofKey: key.bytes) == tableId {
                state.entries[key] = nil
                state.bytes -= entry.cost
            }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Removes the oldest entries other than `kept` until both bounds hold; an entry with a write
    /// in flight goes to the back instead. Stale slots are bounded too: at most two per entry kept.
    private func evict(_ state: inout State, keeping kept: Key) {
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
                state.insert(key, entry)
                requeued += 1
                if requeued > state.entries.count { break }  // every entry left is in use
                continue
            }
            state.entries[key] = nil
            state.bytes -= entry.cost
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
