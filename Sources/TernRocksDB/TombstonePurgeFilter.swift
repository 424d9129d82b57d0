import CRocksDB
import Foundation
import Synchronization
import TernCore

/// The RocksDB compaction filter that drops tombstones older than the grace period
/// (`TombstonePurge`, DESIGN.md §3).
///
/// RocksDB calls the filter on its background threads for every entry a compaction rewrites. A
/// "remove" answer does not simply skip the entry: RocksDB turns it into a deletion marker with the
/// same sequence number, so an older version of the key in a lower level stays hidden until both
/// meet at the bottom level and vanish together. Purging a tombstone therefore never brings back the
/// item it deleted.
///
/// Ownership: the C filter object holds one retain of a `TombstonePurgeFilterState` (its `state`
/// pointer) and releases it from its destructor, so the Swift object lives exactly as long as the
/// C object. The database destroys the filter after `rocksdb_close`, when no compaction can run.
enum TombstonePurgeFilter {
    /// A new C filter object. The caller owns it and must destroy it with
    /// `rocksdb_compactionfilter_destroy`, after every database using it is closed.
    static func create(_ state: TombstonePurgeFilterState) -> OpaquePointer {
        rocksdb_compactionfilter_create(
            Unmanaged.passRetained(state).toOpaque(),
            { state in
                guard let state else { return }
                Unmanaged<TombstonePurgeFilterState>.fromOpaque(state).release()
            },
            { state, _, key, keyLength, value, valueLength, _, _, valueChanged in
                valueChanged?.pointee = 0  // an entry is kept as it is or removed, never rewritten
                guard let state else { return 0 }
                let filter = Unmanaged<TombstonePurgeFilterState>.fromOpaque(state).takeUnretainedValue()
                let remove = filter.shouldRemove(
                    key: UnsafeRawBufferPointer(start: key, count: keyLength),
                    value: UnsafeRawBufferPointer(start: value, count: valueLength)
                )
                return remove ? 1 : 0
            },
            { state in
                guard let state else { return nil }
                return UnsafePointer(Unmanaged<TombstonePurgeFilterState>.fromOpaque(state).takeUnretainedValue().name)
            }
        )
    }
}

/// What the filter callback needs: the grace period, the wall clock and a count of what it purged.
/// Immutable apart from the atomic counter, so RocksDB's threads may share it.
final class TombstonePurgeFilterState: Sendable {
    let graceMillis: UInt64
    let nowMillis: @Sendable () -> UInt64
    /// Tombstones removed since the database was opened.
    let purged = Atomic<Int>(0)
    /// The filter's name as a C string, owned here so that it outlives every call of `name`.
    nonisolated(unsafe) let name: UnsafeMutablePointer<CChar>

    init(graceMillis: UInt64, nowMillis: @escaping @Sendable () -> UInt64) {
        self.graceMillis = graceMillis
        self.nowMillis = nowMillis
        self.name = strdup("tern.TombstonePurge")!
    }

    deinit {
        free(name)
    }

    /// Whether compaction may drop this entry. The clock is read only for tombstones, so live
    /// items (most entries) cost just a look at the key's table id and the value's header.
    func shouldRemove(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        guard let deadline = TombstonePurge.purgeableAfterMillis(key: key, value: value, graceMillis: graceMillis),
              deadline < nowMillis()
        else { return false }
        purged.add(1, ordering: .relaxed)
        return true
    }
}
