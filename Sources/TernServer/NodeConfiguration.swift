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

    // MARK: Cluster (DESIGN.md §4–§5)

    /// Where this node listens for peers; required with `seeds`.
    public var clusterPort: Int?
    /// The members' cluster addresses, this node's included. Empty: a cluster of one.
    public var seeds: [SeedAddress] = []
    /// This node's zone; preference lists spread replicas across zones first.
    public var zone: Zone?
    /// Q, the partitions of the ring; every member must use the same.
    public var partitionCount = Ring.partitionCountDefault
    /// N, W and R (R for consistent reads; eventually consistent reads use 1) unless a table's
    /// tags or a request's headers say otherwise.
    public var replicationFactor = 3
    public var writeQuorum = 2
    public var readQuorum = 2
    /// A file holding the secret peers must prove they share; nil: peer authentication is off.
    public var clusterSecretFile: String?
    /// How long a hint is kept for a node that stays down (Dynamo §4.6); tombstones must outlive it.
    public var hintWindowSeconds = NodeConfiguration.defaultHintWindowSeconds

    /// 3 hours, as Cassandra's max_hint_window.
    public static let defaultHintWindowSeconds = 10_800

    public var isCluster: Bool { !seeds.isEmpty }

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
        try validateCluster()
        guard blockingPool.threads >= 1, blockingPool.queueCapacity >= 1 else {
            throw ConfigurationError("the blocking pool needs at least one thread and a queue of at least one")
        }
    }

    func validateCluster() throws {
        guard hintWindowSeconds >= 1 else { throw ConfigurationError("--hint-window-seconds must be at least 1, got \(hintWindowSeconds)") }
        // A cluster of one keeps no hints, so only a cluster ties the two together.
        guard isCluster else { return }
        guard hintWindowSeconds < tombstoneGraceSeconds else {
            throw ConfigurationError(
                "the hint window (--hint-window-seconds \(hintWindowSeconds)) must be shorter than the tombstone grace period (--tombstone-grace-seconds \(tombstoneGraceSeconds)), or a delete held as a hint could outlive its tombstone"
            )
        }
        guard let clusterPort, (1...65535).contains(clusterPort) else {
            throw ConfigurationError("--seeds needs --cluster-port, the port this node listens on for its peers")
        }
        guard clusterPort != port else { throw ConfigurationError("--cluster-port must differ from --port") }
        guard Set(seeds.map(\.description)).count == seeds.count else { throw ConfigurationError("--seeds names an address twice") }
        guard (1...16).contains(replicationFactor) else { throw ConfigurationError("--replication must be 1 to 16, got \(replicationFactor)") }
        guard (1...replicationFactor).contains(writeQuorum), (1...replicationFactor).contains(readQuorum) else {
            throw ConfigurationError("--write-quorum and --read-quorum must be 1 to --replication (\(replicationFactor)), got W=\(writeQuorum) R=\(readQuorum)")
        }
        _ = try Ring(partitionCount: partitionCount)
        if let zone, !NodeName.isValid(zone) { throw ConfigurationError("--zone must be 1-64 of A-Z a-z 0-9 . _ -, got '\(zone)'") }
    }
}
