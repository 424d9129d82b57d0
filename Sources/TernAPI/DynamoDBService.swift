import Logging
import TernCluster
import TernCore
import TernStorage
import TernTransport

/// A rendered API response: HTTP status and JSON body.
public struct APIResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    public static func error(_ error: DynamoDBError) -> APIResponse {
        var writer = JSONWriter(capacity: 128)
        writer.raw("{\"__type\":")
        writer.string(error.type)
        writer.raw(",\"message\":")
        writer.string(error.message)
        if let item = error.item {
            writer.raw(",\"Item\":")
            writer.attributeMap(item)
        }
        writer.raw("}")
        return APIResponse(status: error.httpStatus, body: writer.bytes)
    }
}

/// The DynamoDB JSON protocol: decodes a request, validates it, runs it through the coordinator
/// and encodes the response. Handlers throw `DynamoDBError`; `handle` renders every error.
public final class DynamoDBService: Sendable {
    public static let targetPrefix = "DynamoDB_20120810."

    let catalog: Catalog
    let coordinator: CoordinatorShell
    let region: String
    let accountId: String
    /// Wall-clock seconds since 1970, for CreationDateTime and friends.
    let now: @Sendable () -> Double
    let logger: Logger
    /// Sends a write to the node that serialises its key (a cluster); nil on a cluster of one.
    let forwarder: RequestForwarder?

    public init(
        catalog: Catalog, coordinator: CoordinatorShell, region: String = "us-east-1",
        accountId: String = "000000000000", now: @escaping @Sendable () -> Double, logger: Logger,
        forwarder: RequestForwarder? = nil
    ) {
        self.catalog = catalog
        self.coordinator = coordinator
        self.region = region
        self.accountId = accountId
        self.now = now
        self.logger = logger
        self.forwarder = forwarder
    }

    /// Operations this node serves.
    enum Operation: String, CaseIterable {
        case createTable = "CreateTable"
        case describeTable = "DescribeTable"
        case listTables = "ListTables"
        case deleteTable = "DeleteTable"
        case updateTable = "UpdateTable"
        case describeEndpoints = "DescribeEndpoints"
        case describeLimits = "DescribeLimits"
        case tagResource = "TagResource"
        case untagResource = "UntagResource"
        case listTagsOfResource = "ListTagsOfResource"
        case describeContinuousBackups = "DescribeContinuousBackups"
        case putItem = "PutItem"
        case getItem = "GetItem"
        case deleteItem = "DeleteItem"
        case batchGetItem = "BatchGetItem"
        case batchWriteItem = "BatchWriteItem"
        case updateItem = "UpdateItem"
        case query = "Query"
        case scan = "Scan"
    }

    /// DynamoDB operations that exist but that this version of Tern does not serve yet.
    static let notYetSupported: Set<String> = [
        "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
        "BatchExecuteStatement", "ExecuteTransaction", "UpdateTimeToLive", "DescribeTimeToLive",
        "CreateBackup", "DeleteBackup", "DescribeBackup", "ListBackups", "RestoreTableFromBackup",
        "RestoreTableToPointInTime", "UpdateContinuousBackups",
        "CreateGlobalTable", "DescribeGlobalTable", "ListGlobalTables", "UpdateGlobalTable",
        "DescribeGlobalTableSettings", "UpdateGlobalTableSettings", "DescribeKinesisStreamingDestination",
        "EnableKinesisStreamingDestination", "DisableKinesisStreamingDestination",
        "UpdateKinesisStreamingDestination", "DescribeContributorInsights", "ListContributorInsights",
        "UpdateContributorInsights", "ExportTableToPointInTime", "DescribeExport", "ListExports",
        "ImportTable", "DescribeImport", "ListImports", "DescribeTableReplicaAutoScaling",
        "UpdateTableReplicaAutoScaling", "GetResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy",
    ]

    /// Handles one request whose `X-Amz-Target` was `target` (nil when the header was absent).
    /// A write of a key another node serialises is forwarded there and its answer returned.
    public nonisolated(nonsending) func handle(target: String?, body: [UInt8], host: String?, options: RequestOptions = .defaults) async -> APIResponse {
        do {
            let (operation, parameters) = try decode(target: target, body: body)
            let output: [UInt8]
            if options == .defaults, RequestOptions.current == .defaults {
                // The usual request: nothing to bind (a task-local binding allocates).
                output = try await run(operation, parameters, host: host)
            } else {
                output = try await RequestOptions.$current.withValue(options) {
                    try await run(operation, parameters, host: host)
                }
            }
            return APIResponse(status: 200, body: output)
        } catch let forward as ForwardRequired {
            guard let forwarder, let target else { return render(DynamoDBError.internalServerError()) }
            return await forwarder(forward.node, ForwardedRequest(operation: target, headers: options.forwardedHeaders, body: body))
        } catch {
            return render(error)
        }
    }

    /// Serves the request synchronously when that cannot block: today a GetItem whose item is
    /// in memory (memtable or block cache). Returns nil when the caller must use `handle`,
    /// which runs off the event loop. DESIGN.md §9: event loops never block on disk.
    public func handleInline(target: String?, body: [UInt8], host: String?, options: RequestOptions = .defaults) -> APIResponse? {
        guard target == DynamoDBService.getItemTarget, options == .defaults else { return nil }
        do {
            let (_, parameters) = try decode(target: target, body: body)
            guard let output = try getItemIfCached(parameters) else { return nil }
            return APIResponse(status: 200, body: output)
        } catch {
            return render(error)
        }
    }

    static let getItemTarget = targetPrefix + Operation.getItem.rawValue

    /// The operation and its parameters, or DynamoDB's error for an unknown operation or a
    /// malformed body.
    func decode(target: String?, body: [UInt8]) throws(DynamoDBError) -> (Operation, RequestParameters) {
        guard let target, target.hasPrefix(DynamoDBService.targetPrefix) else {
            throw DynamoDBError.unknownOperation()
        }
        let name = String(target.dropFirst(DynamoDBService.targetPrefix.count))
        guard let operation = Operation(rawValue: name) else {
            if DynamoDBService.notYetSupported.contains(name) {
                throw DynamoDBError.validation("Tern does not support the \(name) operation yet; see docs/compatibility.md")
            }
            throw DynamoDBError.unknownOperation()
        }
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch {
            throw DynamoDBError.serialization("Malformed JSON request body: \(error.message) at offset \(error.offset)")
        }
        return (operation, try RequestParameters(json))
    }

    /// Every error becomes a DynamoDB error response; nothing unexpected escapes as a crash.
    func render(_ error: any Error) -> APIResponse {
        switch error {
        case let error as DynamoDBError:
            return APIResponse.error(error)
        case let error as StorageError where error.isOverloaded:
            return APIResponse.error(.throttling())
        default:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return APIResponse.error(.internalServerError())
        }
    }

    nonisolated(nonsending) func run(_ operation: Operation, _ parameters: RequestParameters, host: String?) async throws -> [UInt8] {
        switch operation {
        case .createTable: return try await createTable(parameters)
        case .describeTable: return try await describeTable(parameters)
        case .listTables: return try listTables(parameters)
        case .deleteTable: return try await deleteTable(parameters)
        case .updateTable: return try await updateTable(parameters)
        case .describeEndpoints: return describeEndpoints(host: host)
        case .describeLimits: return describeLimits()
        case .tagResource: return try await tagResource(parameters)
        case .untagResource: return try await untagResource(parameters)
        case .listTagsOfResource: return try listTagsOfResource(parameters)
        case .describeContinuousBackups: return try describeContinuousBackups(parameters)
        case .putItem: return try await putItem(parameters)
        case .getItem: return try await getItem(parameters)
        case .deleteItem: return try await deleteItem(parameters)
        case .batchGetItem: return try await batchGetItem(parameters)
        case .batchWriteItem: return try await batchWriteItem(parameters)
        case .updateItem: return try await updateItem(parameters)
        case .query: return try await query(parameters)
        case .scan: return try await scan(parameters)
        }
    }

    /// The table for item operations, or DynamoDB's ResourceNotFoundException (also while the
    /// table is being deleted: its writes are fenced, see `Catalog`).
    func existingTable(_ name: String) throws(DynamoDBError) -> TableDefinition {
        try catalog.activeTable(named: name)
    }

    /// The table in any state, for the control plane (DescribeTable shows DELETING tables).
    func describedTable(_ name: String) throws(DynamoDBError) -> TableDefinition {
        // A node still learning the cluster's catalog might not know the table yet.
        try catalog.checkServing()
        guard let table = catalog.table(named: name) else {
            throw DynamoDBError.resourceNotFound()
        }
        return table
    }

    func tableArn(_ name: String) -> String {
        "arn:aws:dynamodb:\(region):\(accountId):table/\(name)"
    }
}
