import Logging
import TernAPI
import TernCluster
import TernCore
import TernTransport

/// Everything `tern serve` is told on its command line.
public struct NodeConfiguration: Sendable {
    /// The id asked for with `--node-id`; nil lets the data directory decide (`NodeIdentity`).
    public var nodeId: String?
    public var host: String
    public var port: Int
    public var dataDirectory: String
    public var inMemory: Bool
    public var credentialsFile: String?
    public var region: String
    /// false only for benchmarks that measure the cost of durability; never in production.
    public var syncWrites: Bool
    /// How long a tombstone (the record of a delete) is kept before compaction may drop it, in
    /// seconds. A replica that has not heard of a delete by then could bring the item back, so this
    /// must outlast any replica's absence: Cassandra's `gc_grace_seconds`, 10 days by default
    /// (DESIGN.md §3). Once hinted handoff exists (issue 7) it must also exceed the hint window.
    public var tombstoneGraceSeconds: Int
    public var http: HTTPServerConfiguration
    /// Placement and lock bounds of the coordinator (N = R = W = 1 on a single node).
    public var coordinator = Coordinator.Settings()
    /// Threads and queue for storage reads that may block.
    public var blockingPool = BlockingPool.Settings()

    /// The default `tombstoneGraceSeconds`: 10 days.
    public static let defaultTombstoneGraceSeconds = 864_000
    /// The longest grace period accepted: 10 years. Longer is surely a typo (milliseconds given
    /// as seconds) and would keep every delete for ever.
    public static let maxTombstoneGraceSeconds = 315_360_000

    public init(
        nodeId: String? = nil, host: String = "127.0.0.1", port: Int = 8000, dataDirectory: String = "./data",
        inMemory: Bool = false, credentialsFile: String? = nil, region: String = "us-east-1", syncWrites: Bool = true,
        tombstoneGraceSeconds: Int = NodeConfiguration.defaultTombstoneGraceSeconds
    ) {
        self.nodeId = nodeId
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.inMemory = inMemory
        self.credentialsFile = credentialsFile
        self.region = region
        self.syncWrites = syncWrites
        self.tombstoneGraceSeconds = tombstoneGraceSeconds
        self.http = HTTPServerConfiguration(host: host, port: port)
    }

    public func validate() throws {
        if let nodeId { try NodeIdentity.validate(nodeId) }
        guard inMemory || !dataDirectory.isEmpty else { throw ConfigurationError("data directory must not be empty") }
        guard (1...Self.maxTombstoneGraceSeconds).contains(tombstoneGraceSeconds) else {
            throw ConfigurationError(
                "tombstone grace period (--tombstone-grace-seconds) must be 1…\(Self.maxTombstoneGraceSeconds) seconds (10 years), got \(tombstoneGraceSeconds)"
            )
        }
        try http.validate()
        try coordinator.validate()
        guard blockingPool.threads >= 1, blockingPool.queueCapacity >= 1 else {
            throw ConfigurationError("the blocking pool needs at least one thread and a queue of at least one")
        }
    }
}
