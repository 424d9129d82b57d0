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
/// bound an arbitrary idle entry goes. One lock, held for a hash lookup: in memory only, so
/// `Hasher` is fine.
final class RecentWrites: Sendable {
    struct Entry: Sendable {
        /// The version stored, when known.
        var value: StoredValue?
        var writesInFlight = 0
        var overlapped = false
        var cost = 0
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
            var entry = state.entries[key] ?? Entry()
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
            if writesMayOverlap {
                guard let tracked = state.entries[key] else { return }
                entry = tracked
            } else {
                // The key's lock is held: this is the only write of it in flight.
                entry = state.entries[key] ?? Entry()
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

    /// Removes idle entries (no write in flight) other than `kept` until both bounds hold. Which
    /// ones is left to the dictionary's order: cheap, and as good as random for a cache this size.
    private func evict(_ state: inout State, keeping kept: Key) {
        while state.entries.count > entriesMax || state.bytes > bytesMax {
            guard let index = state.entries.firstIndex(where: { $0.key != kept && $0.value.writesInFlight == 0 }) else { return }
            state.bytes -= state.entries[index].value.cost
            state.entries.remove(at: index)
        }
    }

    /// An estimate of the memory an entry holds: its key, DynamoDB's size of the item (names and
    /// values; the decoded form takes more, hence the factor), its clock and a fixed overhead.
    static func cost(key: [UInt8], value: StoredValue) -> Int {
        128 + key.count + 24 * value.clock.entries.count + 2 * (value.item.map(ItemSize.of) ?? 0)
    }
}
