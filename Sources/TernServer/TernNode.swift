import Foundation
import Logging
import ServiceLifecycle
import TernAPI
import TernCluster
import TernCore
import TernRocksDB
import TernStorage

/// One Tern node: storage, catalog, coordinator and the DynamoDB endpoint, run as services.
///
/// Start-up order: storage → HTTP. On SIGTERM/SIGINT the service group stops them in reverse:
/// the HTTP server stops accepting, drains in-flight requests, then storage closes cleanly.
public final class TernNode: Sendable {
    public let configuration: NodeConfiguration
    /// This node's id: `--node-id`, or the one stored in the data directory (`NodeIdentity`).
    public let nodeId: String
    let storage: any StorageEngine
    public let server: HTTPServer
    let logger: Logger

    public init(configuration: NodeConfiguration, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        // Before the storage opens: a data directory that belongs to another node is not touched.
        nodeId = try NodeIdentity.resolve(configuration, logger: logger)
        storage = try TernNode.openStorage(configuration, logger: logger)
        let catalog = try Catalog(storage: storage)
        let coordinator = Coordinator(nodeId: nodeId, storage: storage, physicalMillis: TernNode.wallClockMillis)
        let service = DynamoDBService(
            catalog: catalog, coordinator: coordinator, region: configuration.region,
            now: { Date().timeIntervalSince1970 }, logger: logger
        )
        let verifier = SigV4Verifier(credentials: try TernNode.loadCredentials(configuration, logger: logger))
        server = try HTTPServer(configuration: configuration.http, service: service, verifier: verifier, logger: logger)
        logger.info("node ready", metadata: [
            "node": "\(nodeId)", "tables": "\(catalog.tableCount)",
            "storage": "\(configuration.inMemory ? "in-memory" : configuration.dataDirectory)",
        ])
    }

    static func wallClockMillis() -> UInt64 {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
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
                    .init(service: StorageService(storage: storage, logger: logger)),
                    .init(service: server),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// Owns the storage engine's lifetime: closes it after every service above it has stopped.
struct StorageService: Service {
    let storage: any StorageEngine
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        try storage.close()
        logger.info("storage closed")
    }
}
