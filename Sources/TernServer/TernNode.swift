import Foundation
import Logging
import ServiceLifecycle
import TernAPI
import TernCluster
import TernCore
import TernRocksDB
import TernStorage
import TernTransport

/// One Tern node: storage, catalog, coordinator and the DynamoDB endpoint, run as services.
///
/// Start-up order: storage → HTTP. On SIGTERM/SIGINT the service group stops them in reverse:
/// the HTTP server stops accepting, drains in-flight requests, then storage closes cleanly.
public final class TernNode: Sendable {
    public let configuration: NodeConfiguration
    /// This node's id: `--node-id`, or the one stored in the data directory (`NodeIdentity`).
    public let nodeId: String
    let storage: any StorageEngine
    let pool: BlockingPool
    let coordinator: CoordinatorShell
    let catalog: Catalog
    public let server: HTTPServer
    let logger: Logger
    /// The peer transport and what it learned at start-up; nil on a cluster of one.
    let cluster: ClusterParts?

    /// A cluster of one (no `--seeds`).
    public convenience init(configuration: NodeConfiguration, logger: Logger) throws {
        precondition(!configuration.isCluster, "a cluster node starts with TernNode.start")
        try configuration.validate()
        let nodeId = try NodeIdentity.resolve(configuration, logger: logger)
        try self.init(configuration: configuration, nodeId: nodeId, cluster: nil, logger: logger)
    }

    /// Starts a node: with `--seeds`, first the peer transport and the membership (it waits
    /// until every seed has told its identity, or reads the members it learned before).
    public static func start(configuration: NodeConfiguration, logger: Logger) async throws -> TernNode {
        guard configuration.isCluster else { return try TernNode(configuration: configuration, logger: logger) }
        try configuration.validate()
        let nodeId = try NodeIdentity.resolve(configuration, logger: logger)
        let cluster = try await ClusterParts.start(configuration, nodeId: nodeId, logger: logger)
        let node = try TernNode(configuration: configuration, nodeId: nodeId, cluster: cluster, logger: logger)
        // Learn the catalog changes made while this node was away before taking requests (they
        // would get a retryable error meanwhile); bounded, since a majority may be down.
        if await !node.catalog.waitUntilCaughtUp(timeoutMillis: 10_000) {
            logger.warning("the catalog is not caught up with the members yet; table requests fail (retryable) until it is")
        }
        return node
    }

    init(configuration: NodeConfiguration, nodeId: NodeID, cluster: ClusterParts?, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.nodeId = nodeId
        self.cluster = cluster
        // NodeIdentity ran before the storage opens: a data directory of another node is not touched.
        storage = try TernNode.openStorage(configuration, logger: logger)
        pool = BlockingPool(settings: configuration.blockingPool)
        coordinator = try CoordinatorShell(
            nodeId: nodeId, storage: storage, pool: pool, settings: configuration.coordinator, clock: TernNode.now,
            view: cluster?.view, messenger: cluster?.messenger,
            hintSettings: HintQueue.Settings(hintWindowMillis: UInt64(configuration.hintWindowSeconds) * 1_000)
        )
        if let cluster {
            // Every catalog change is decided among the members (Paxos, CatalogLog).
            catalog = try Catalog(
                storage: storage, coordinator: coordinator, members: cluster.view.map.members.map(\.node),
                messenger: PeerCatalogMessenger(clients: cluster.messenger.clients)
            )
        } else {
            catalog = try Catalog(storage: storage, coordinator: coordinator)
        }
        let service = DynamoDBService(
            catalog: catalog, coordinator: coordinator, region: configuration.region,
            now: { Date().timeIntervalSince1970 }, logger: logger, forwarder: cluster?.forwarder
        )
        cluster?.handler.attach(shell: coordinator, service: service, catalog: catalog)
        let verifier = SigV4Verifier(credentials: try TernNode.loadCredentials(configuration, logger: logger))
        // A cluster node serves clients and peers on the same event loops: fewer threads to hand
        // work between (docs/benchmarks.md, issue 7).
        server = try HTTPServer(configuration: configuration.http, service: service, verifier: verifier, logger: logger, group: cluster?.group)
        logger.info("node ready", metadata: [
            "node": "\(nodeId)", "tables": "\(catalog.tableCount)",
            "storage": "\(configuration.inMemory ? "in-memory" : configuration.dataDirectory)",
        ])
    }

    /// The coordinator's clocks: wall time for HLC timestamps, monotonic time for deadlines.
    static func now() -> Now {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let monotonic = UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
        return Now(wallMillis: RocksDBStorage.wallClockMillis(), monotonicMillis: monotonic)
    }

    static func openStorage(_ configuration: NodeConfiguration, logger: Logger) throws -> any StorageEngine {
        if configuration.inMemory {
            logger.info("storage is in memory: nothing is written to disk")
            return InMemoryStorage()
        }
        let path = (configuration.dataDirectory as NSString).appendingPathComponent("rocksdb")
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        var options = RocksDBStorage.Options()
        options.sync = configuration.syncWrites
        options.tombstoneGraceSeconds = configuration.tombstoneGraceSeconds
        if !configuration.syncWrites {
            logger.warning("write syncing is OFF: acknowledged writes may be lost on a crash (benchmark mode)")
        }
        return try RocksDBStorage(path: path, options: options)
    }

    static func loadCredentials(_ configuration: NodeConfiguration, logger: Logger) throws -> SigV4Credentials? {
        guard let file = configuration.credentialsFile else {
            logger.warning("authentication is OFF: any well-formed SigV4 signature is accepted (use --credentials FILE to verify signatures)")
            return nil
        }
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        let credentials = try SigV4Credentials.parse(fileContents: contents)
        logger.info("authentication is ON: request signatures are verified", metadata: ["credentials": "\(file)"])
        return credentials
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: StorageService(storage: storage, pool: pool, catalog: catalog, logger: logger)),
                    .init(service: CoordinatorTicker(coordinator: coordinator)),
                ] + (cluster.map { [.init(service: $0)] } ?? []) + [
                    .init(service: server),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// Owns the storage engine's lifetime: closes it after every service above it has stopped
/// (after the table deletions in progress and the blocking pool's reads have finished).
struct StorageService: Service {
    let storage: any StorageEngine
    let pool: BlockingPool
    let catalog: Catalog
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await catalog.shutdown()
        pool.shutdown()
        try storage.close()
        logger.info("storage closed")
    }
}

/// Gives the coordinator the time every 50 ms, so lock waiters past their deadline fail
/// (retryably) even when no other event arrives; every second it delivers the hints held for
/// peers that are reachable again.
struct CoordinatorTicker: Service {
    let coordinator: CoordinatorShell

    func run() async throws {
        var ticks = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
            await coordinator.tick()
            ticks += 1
            if ticks % 20 == 0, !coordinator.view.isSingleNode {
                await coordinator.deliverHints()
            }
        }
    }
}
