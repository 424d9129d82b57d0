import Logging
import TernAPI

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
    public var http: HTTPServerConfiguration

    public init(
        nodeId: String? = nil, host: String = "127.0.0.1", port: Int = 8000, dataDirectory: String = "./data",
        inMemory: Bool = false, credentialsFile: String? = nil, region: String = "us-east-1", syncWrites: Bool = true
    ) {
        self.nodeId = nodeId
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.inMemory = inMemory
        self.credentialsFile = credentialsFile
        self.region = region
        self.syncWrites = syncWrites
        self.http = HTTPServerConfiguration(host: host, port: port)
    }

    public func validate() throws {
        if let nodeId { try NodeIdentity.validate(nodeId) }
        guard inMemory || !dataDirectory.isEmpty else { throw ConfigurationError("data directory must not be empty") }
        try http.validate()
    }
}
