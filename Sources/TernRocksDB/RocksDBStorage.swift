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

    public struct Options: Sendable, Equatable {
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

        public init(
            sync: Bool = true,
            commitQueueCapacity: Int = 4096,
            blockCacheBytes: Int = 64 << 20,
            maxOpenFiles: Int = 512,
            backgroundThreads: Int = 2,
            compression: Compression = .lz4
        ) {
            self.sync = sync
            self.commitQueueCapacity = commitQueueCapacity
            self.blockCacheBytes = blockCacheBytes
            self.maxOpenFiles = maxOpenFiles
            self.backgroundThreads = backgroundThreads
            self.compression = compression
        }
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

    public func write(_ batch: WriteBatch) async throws {
        try await commitQueue.submit(batch)
    }

    public func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
        try database.scan(start: start, end: end, reverse: reverse, limit: limit)
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

    func compactForTesting() throws {
        try database.compactAll()
    }

    var pendingWriteCountForTesting: Int {
        commitQueue.pendingCount
    }
}
