import Foundation
import TernStorage

/// A durable `StorageEngine` on RocksDB.
///
/// Reads go straight to RocksDB from the caller's thread. Writes go through group commit
/// (`GroupCommitQueue`): concurrent callers' batches are combined into one RocksDB write batch
/// and share one WAL fsync, so durable throughput is not capped at one fsync per request.
public final class RocksDBStorage: StorageEngine {
    public enum Compression: Sendable, Equatable {
        case none
        case snappy
        case lz4
    }

    public struct Options: Sendable {
        /// Fsync the write-ahead log before a write returns. Only benchmarks comparing
        /// durable and non-durable writes should turn this off.
        public var sync: Bool
        /// Batches that may wait for the commit thread; beyond this `write` throws `.overloaded`.
        public var commitQueueCapacity: Int
        /// Size of the LRU cache of uncompressed data blocks.
        public var blockCacheBytes: Int
        /// Bounds the file descriptors RocksDB keeps open.
        public var maxOpenFiles: Int
        /// RocksDB's background flush/compaction threads.
        public var backgroundThreads: Int
        /// Requested block compression; falls back to `.none` if librocksdb lacks the codec
        /// (see `RocksDBStorage.compression` for what is in effect).
        public var compression: Compression
        /// Tombstones whose timestamp is more than this many seconds older than `nowMillis` are
        /// dropped when a compaction rewrites them (`TombstonePurge`). At least 1; the default is
        /// Cassandra's `gc_grace_seconds`, 10 days.
        public var tombstoneGraceSeconds: Int
        /// The wall clock, in milliseconds since 1970, that tombstone ages are measured against.
        /// Called from RocksDB's compaction threads; tests inject a fixed clock.
        public var nowMillis: @Sendable () -> UInt64

        public init(
            sync: Bool = true,
            commitQueueCapacity: Int = 4096,
            blockCacheBytes: Int = 64 << 20,
            maxOpenFiles: Int = 512,
            backgroundThreads: Int = 2,
            compression: Compression = .lz4,
            tombstoneGraceSeconds: Int = 864_000,
            nowMillis: @escaping @Sendable () -> UInt64 = RocksDBStorage.wallClockMillis
        ) {
            self.sync = sync
            self.commitQueueCapacity = commitQueueCapacity
            self.blockCacheBytes = blockCacheBytes
            self.maxOpenFiles = maxOpenFiles
            self.backgroundThreads = backgroundThreads
            self.compression = compression
            self.tombstoneGraceSeconds = tombstoneGraceSeconds
            self.nowMillis = nowMillis
        }
    }

    /// The system's wall clock in milliseconds since 1970 (0 before it).
    @Sendable public static func wallClockMillis() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// How well group commit is grouping: `batches / groupCommits` callers share each fsync.
    public struct CommitStatistics: Sendable, Equatable {
        public var groupCommits: Int
        public var batches: Int
    }

    /// The block compression in effect.
    public var compression: Compression { database.compression }

    public var commitStatistics: CommitStatistics {
        let statistics = commitQueue.currentStatistics
        return CommitStatistics(groupCommits: statistics.groupCommits, batches: statistics.batches)
    }

    /// Tombstones the compaction filter has dropped since the database was opened.
    public var purgedTombstoneCount: Int { database.purgedTombstoneCount }

    private let database: RocksDBDatabase
    private let commitQueue: GroupCommitQueue

    /// Opens the database in the directory `path`, creating it (and its parents) if missing.
    public init(path: String, options: Options = .init()) throws {
        let database = try RocksDBDatabase(path: path, options: options)
        self.database = database
        self.commitQueue = GroupCommitQueue(capacity: options.commitQueueCapacity) { batches in
            try database.write(batches)
        }
    }

    deinit {
        close()
    }

    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try database.get(key)
    }

    public func getIfCached(_ key: [UInt8]) throws -> CachedRead {
        try database.getIfCached(key)
    }

    public nonisolated(nonsending) func write(_ batch: WriteBatch) async throws {
        try await commitQueue.submit(batch)
    }

    public func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
        try database.scan(start: start, end: end, reverse: reverse, limit: limit)
    }

    /// Compacts the whole key space down to the bottom level and waits until it is done. Every
    /// entry is rewritten once, so tombstones past their grace period are dropped now rather than
    /// whenever background compaction reaches their files; writes to already-purged keys and the
    /// space they held are reclaimed too.
    ///
    /// Blocks the calling thread for as long as the compaction takes (seconds to minutes on a
    /// large database) and costs a full rewrite of the data: call it from a dedicated thread, never
    /// from an event loop or Swift's cooperative pool. Reads and writes proceed meanwhile; `close`
    /// waits for it to finish.
    public func compactAll() throws {
        try database.compactAll()
    }

    /// Commits the writes already queued, stops the commit thread, then closes RocksDB (which
    /// waits for reads in progress). Blocks the calling thread meanwhile. Idempotent.
    public func close() {
        commitQueue.shutdown()
        database.close()
    }

    // MARK: - Test hooks (internal: reachable through `@testable import` only)

    func setCommitsPausedForTesting(_ paused: Bool) {
        commitQueue.setPaused(paused)
    }

    var pendingWriteCountForTesting: Int {
        commitQueue.pendingCount
    }
}
