import CRocksDB
import Foundation
import TernStorage

/// The thin, synchronous wrapper around one open RocksDB handle. All the C API calls (and so
/// all the unsafe pointers) of the package live in this file, apart from the compaction filter's
/// callbacks in `TombstonePurgeFilter.swift` and the merge operator's in `CounterMergeOperator.swift`.
///
/// Thread safety: RocksDB's `get`, `write` and iterators are safe to call concurrently; the only
/// thing to guard is the handle's lifetime. Every call registers as an *active user* under
/// `lifetime`; `close()` first refuses new users, then waits for the active ones to leave before
/// calling `rocksdb_close`, so no call can touch a freed handle. (A reader-writer lock would do
/// too, but glibc's default prefers readers and could starve `close()` under steady reads.)
final class RocksDBDatabase: @unchecked Sendable {
    /// The compression actually in effect (see `open`).
    let compression: RocksDBStorage.Compression

    private let options: OpaquePointer
    private let blockCache: OpaquePointer
    private let pointReadOptions: OpaquePointer
    /// Reads that may only use the memtables and the block cache (read tier kBlockCacheTier):
    /// RocksDB answers "incomplete" instead of reading a file.
    private let cacheOnlyReadOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    /// The tombstone-purging compaction filter. `options` points at it without owning it, and the
    /// open database calls it, so it is destroyed only after `rocksdb_close`.
    private let purgeFilter: OpaquePointer
    private let purgeState: TombstonePurgeFilterState

    private let lifetime = NSCondition()
    private var handle: OpaquePointer?  // guarded by `lifetime`; nil once closed
    private var activeUsers = 0  // guarded by `lifetime`

    init(path: String, options settings: RocksDBStorage.Options) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StorageError.io("cannot create directory \(path): \(error)")
        }

        precondition(settings.tombstoneGraceSeconds >= 1, "tombstoneGraceSeconds must be at least 1, got \(settings.tombstoneGraceSeconds)")
        let (graceMillis, overflow) = UInt64(settings.tombstoneGraceSeconds).multipliedReportingOverflow(by: 1000)
        purgeState = TombstonePurgeFilterState(graceMillis: overflow ? .max : graceMillis, nowMillis: settings.nowMillis)
        purgeFilter = TombstonePurgeFilter.create(purgeState)
        blockCache = rocksdb_cache_create_lru(settings.blockCacheBytes)
        options = Self.makeOptions(settings, blockCache: blockCache, compactionFilter: purgeFilter)
        pointReadOptions = rocksdb_readoptions_create()
        cacheOnlyReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_read_tier(cacheOnlyReadOptions, 1)  // 1 = kBlockCacheTier
        writeOptions = rocksdb_writeoptions_create()
        // sync=true: `rocksdb_write` returns only after the WAL record is fsynced. The WAL is
        // never disabled: it is what makes an acknowledged write durable.
        rocksdb_writeoptions_set_sync(writeOptions, settings.sync ? 1 : 0)

        do {
            (handle, compression) = try Self.open(path: path, options: options, compression: settings.compression)
        } catch {
            Self.destroyOptions(options, blockCache, [pointReadOptions, cacheOnlyReadOptions], writeOptions, purgeFilter)
            throw error
        }
    }

    deinit {
        close()
    }

    // MARK: - Operations

    func get(_ key: [UInt8]) throws -> [UInt8]? {
        try get(key, options: pointReadOptions)
    }

    /// A read from memory only; nil when it would need disk I/O.
    func getIfCached(_ key: [UInt8]) throws -> CachedRead {
        do {
            return .value(try get(key, options: cacheOnlyReadOptions))
        } catch let error as StorageError where error.description.contains("Result incomplete") {
            // Status::Incomplete ("Result incomplete: no blocking io"): the value is on disk only.
            return .notCached
        }
    }

    private func get(_ key: [UInt8], options readOptions: OpaquePointer) throws -> [UInt8]? {
        try withHandle { db in
            var length = 0
            let value = try withCBytes(key) { keyPointer, keyLength in
                try checked { error in
                    rocksdb_get(db, readOptions, keyPointer, keyLength, &length, error)
                }
            }
            // NULL without an error means "not found". An empty value comes back as malloc(0),
            // which is non-NULL on glibc and Darwin (a conformance test checks empty values).
            guard let value else { return nil }
            defer { rocksdb_free(value) }
            return Array(UnsafeRawBufferPointer(start: value, count: length))
        }
    }

    /// Writes all the batches as ONE RocksDB write batch: either all of them are applied, or
    /// none. Operations keep their order, so a later batch wins over an earlier one (counter adds
    /// to one key are summed first where that changes nothing: `WriteBatch.combined`).
    func write(_ batches: [WriteBatch]) throws {
        try withHandle { db in
            let writeBatch = rocksdb_writebatch_create()!
            defer { rocksdb_writebatch_destroy(writeBatch) }
            for operation in WriteBatch.combined(batches).operations {
                Self.append(operation, to: writeBatch)
            }
            try checked { error in rocksdb_write(db, writeOptions, writeBatch, error) }
        }
    }

    func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
        try withHandle { db in
            guard limit > 0, start.lexicographicallyPrecedes(end) else { return [] }
            return try withCBytes(start) { startPointer, startLength in
                try withCBytes(end) { endPointer, endLength in
                    let readOptions = rocksdb_readoptions_create()!
                    defer { rocksdb_readoptions_destroy(readOptions) }
                    // The bounds are only a hint (the loops below check the bounds themselves):
                    // they let RocksDB stop at the range's edge instead of stepping over
                    // deleted entries beyond it. RocksDB keeps pointers to these bytes, which
                    // stay valid until the closures return, after the iterator is destroyed.
                    rocksdb_readoptions_set_iterate_lower_bound(readOptions, startPointer, startLength)
                    rocksdb_readoptions_set_iterate_upper_bound(readOptions, endPointer, endLength)
                    let iterator = rocksdb_create_iterator(db, readOptions)!
                    defer { rocksdb_iter_destroy(iterator) }

                    let entries: [KeyValue]
                    if reverse {
                        rocksdb_iter_seek_for_prev(iterator, endPointer, endLength)
                        entries = Self.collectBackward(iterator, start: start, end: end, limit: limit)
                    } else {
                        rocksdb_iter_seek(iterator, startPointer, startLength)
                        entries = Self.collectForward(iterator, end: end, limit: limit)
                    }
                    // An iterator that stops early because of an I/O error looks just like the
                    // end of the range; only the status tells them apart.
                    try checked { error in rocksdb_iter_get_error(iterator, error) }
                    return entries
                }
            }
        }
    }

    /// Compacts every key into the bottom level, running the compaction filter over all of them
    /// and folding counter operands; returns when done. RocksDB's C call reports no status; a
    /// compaction that fails leaves the data as it was, tombstones included.
    func compactAll() throws {
        try withHandle { db in
            // NULL bounds: the whole key space. The default bottom-level policy
            // (kIfHaveCompactionFilter) rewrites the last level too, because a filter is set.
            rocksdb_compact_range(db, nil, 0, nil, 0)
        }
    }

    var purgedTombstoneCount: Int { purgeState.purged.load(ordering: .relaxed) }

    /// Closes the handle once no call is using it any more. Idempotent.
    func close() {
        lifetime.lock()
        guard let db = handle else {
            lifetime.unlock()
            return
        }
        handle = nil  // from now on `withHandle` refuses new calls
        while activeUsers > 0 {
            lifetime.wait()
        }
        lifetime.unlock()

        rocksdb_close(db)
        Self.destroyOptions(options, blockCache, [pointReadOptions, cacheOnlyReadOptions], writeOptions, purgeFilter)
    }

    // MARK: - Handle lifetime

    private func withHandle<Result>(_ body: (OpaquePointer) throws -> Result) throws -> Result {
        lifetime.lock()
        guard let db = handle else {
            lifetime.unlock()
            throw StorageError.closed
        }
        activeUsers += 1
        lifetime.unlock()

        defer {
            lifetime.lock()
            activeUsers -= 1
            if activeUsers == 0 { lifetime.broadcast() }
            lifetime.unlock()
        }
        return try body(db)
    }

    // MARK: - Opening

    private static func makeOptions(_ settings: RocksDBStorage.Options, blockCache: OpaquePointer, compactionFilter: OpaquePointer) -> OpaquePointer {
        let options = rocksdb_options_create()!
        // One filter shared by every compaction (it keeps no per-compaction state). Flushes do not
        // call it: a tombstone is purged when a compaction rewrites its file, or by `compactAll`.
        rocksdb_options_set_compaction_filter(options, compactionFilter)
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_increase_parallelism(options, Int32(clamping: settings.backgroundThreads))
        rocksdb_options_set_max_open_files(options, Int32(clamping: settings.maxOpenFiles))
        rocksdb_options_set_keep_log_file_num(options, 4)  // RocksDB's own info LOG files

        let table = rocksdb_block_based_options_create()!
        defer { rocksdb_block_based_options_destroy(table) }  // the factory below copies it
        rocksdb_block_based_options_set_block_cache(table, blockCache)  // shares the cache
        // 10 bits per key: ~1% false positives, so a `get` of a missing key rarely reads a block.
        // The table options take ownership of the policy.
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10))
        rocksdb_options_set_block_based_table_factory(options, table)
        CounterMergeOperator.install(on: options)
        return options
    }

    /// Opens the database with the requested compression. A librocksdb built without that
    /// codec refuses to open ("Compression type ... is not linked with the binary"); then we fall
    /// back to no compression rather than fail: compression is an optimisation, not a contract.
    private static func open(
        path: String, options: OpaquePointer, compression: RocksDBStorage.Compression
    ) throws -> (OpaquePointer, RocksDBStorage.Compression) {
        rocksdb_options_set_compression(options, compression.cValue)
        do {
            let db = try checked { error in rocksdb_open(options, path, error) }
            return (db!, compression)
        } catch let error as StorageError where compression != .none && "\(error)".contains("ompression") {
            return try open(path: path, options: options, compression: .none)
        }
    }

    private static func destroyOptions(
        _ options: OpaquePointer, _ cache: OpaquePointer, _ reads: [OpaquePointer], _ write: OpaquePointer, _ filter: OpaquePointer
    ) {
        rocksdb_writeoptions_destroy(write)
        for read in reads { rocksdb_readoptions_destroy(read) }
        rocksdb_options_destroy(options)
        rocksdb_cache_destroy(cache)
        rocksdb_compactionfilter_destroy(filter)  // releases `purgeState`'s retain held by the filter
    }

    // MARK: - Write batches and iterators

    private static func append(_ operation: WriteOperation, to writeBatch: OpaquePointer) {
        switch operation {
        case .put(let key, let value):
            withCBytes(key) { keyPointer, keyLength in
                withCBytes(value) { valuePointer, valueLength in
                    rocksdb_writebatch_put(writeBatch, keyPointer, keyLength, valuePointer, valueLength)
                }
            }
        case .delete(let key):
            withCBytes(key) { keyPointer, keyLength in
                rocksdb_writebatch_delete(writeBatch, keyPointer, keyLength)
            }
        case .deleteRange(let start, let end):
            // An empty or inverted range deletes nothing, so it is skipped. It must be: RocksDB
            // rejects a write batch holding an inverted range ("end key comes before start key"),
            // and under group commit that would fail every caller sharing the write.
            guard start.lexicographicallyPrecedes(end) else { return }
            withCBytes(start) { startPointer, startLength in
                withCBytes(end) { endPointer, endLength in
                    rocksdb_writebatch_delete_range(writeBatch, startPointer, startLength, endPointer, endLength)
                }
            }
        case .addCounters(let key, let deltas):
            // A merge operand: CounterMergeOperator adds it to the value when RocksDB reads or
            // compacts the key.
            withCBytes(key) { keyPointer, keyLength in
                withCBytes(CounterValue.encode(deltas)) { valuePointer, valueLength in
                    rocksdb_writebatch_merge(writeBatch, keyPointer, keyLength, valuePointer, valueLength)
                }
            }
        }
    }

    /// From the current position onwards, the entries with key < `end`.
    private static func collectForward(_ iterator: OpaquePointer, end: [UInt8], limit: Int) -> [KeyValue] {
        var entries: [KeyValue] = []
        while entries.count < limit, rocksdb_iter_valid(iterator) != 0 {
            let key = currentKey(iterator)
            guard key.lexicographicallyPrecedes(end) else { break }
            entries.append(KeyValue(key: key, value: currentValue(iterator)))
            rocksdb_iter_next(iterator)
        }
        return entries
    }

    /// From the current position (the greatest key <= `end`) backwards, the entries with
    /// `start <= key < end`.
    private static func collectBackward(_ iterator: OpaquePointer, start: [UInt8], end: [UInt8], limit: Int) -> [KeyValue] {
        var entries: [KeyValue] = []
        // seek_for_prev lands on `end` itself when it exists; the end is exclusive.
        if rocksdb_iter_valid(iterator) != 0, currentKey(iterator) == end {
            rocksdb_iter_prev(iterator)
        }
        while entries.count < limit, rocksdb_iter_valid(iterator) != 0 {
            let key = currentKey(iterator)
            guard !key.lexicographicallyPrecedes(start) else { break }
            entries.append(KeyValue(key: key, value: currentValue(iterator)))
            rocksdb_iter_prev(iterator)
        }
        return entries
    }

    private static func currentKey(_ iterator: OpaquePointer) -> [UInt8] {
        var length = 0
        let pointer = rocksdb_iter_key(iterator, &length)
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    private static func currentValue(_ iterator: OpaquePointer) -> [UInt8] {
        var length = 0
        let pointer = rocksdb_iter_value(iterator, &length)
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

// MARK: - C interop helpers

/// Calls a C function that reports failure through a `char** errptr`, turning the message into
/// `StorageError.io` (and freeing it, as the C API requires).
private func checked<Result>(_ call: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result) throws -> Result {
    var message: UnsafeMutablePointer<CChar>?
    let result = call(&message)
    if let message {
        defer { rocksdb_free(message) }
        throw StorageError.io(String(cString: message))
    }
    return result
}

/// Lends `bytes` to C as `(const char*, size_t)`. An empty array may have no storage at all;
/// it is lent as a pointer to a dummy byte, so C never sees NULL (which some calls, such as the
/// iterate bounds, read as "no value" rather than "empty").
private func withCBytes<Result>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>, Int) throws -> Result) rethrows -> Result {
    try bytes.withUnsafeBytes { raw in
        if let base = raw.baseAddress {
            // UInt8 and CChar (Int8) may alias each other: they differ only in signedness.
            return try body(base.assumingMemoryBound(to: CChar.self), raw.count)
        }
        var dummy: CChar = 0
        return try withUnsafePointer(to: &dummy) { try body($0, 0) }
    }
}

extension RocksDBStorage.Compression {
    fileprivate var cValue: Int32 {
        switch self {
        case .none: return Int32(rocksdb_no_compression)
        case .snappy: return Int32(rocksdb_snappy_compression)
        case .lz4: return Int32(rocksdb_lz4_compression)
        }
    }
}
