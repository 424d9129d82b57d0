import TernCore
import TernStorage
import TernTransport

// BatchGetItem and BatchWriteItem.

extension DynamoDBService {
    static let maxBatchGetKeys = 100
    static let maxBatchWriteRequests = 25
    /// BatchGetItem returns at most 16 MB; keys past that come back as UnprocessedKeys.
    static let maxBatchGetResponseBytes = 16 * 1024 * 1024

    struct BatchGetTable {
        var name: String
        var table: TableDefinition
        var keys: [(key: PrimaryKey, map: Item)]
        var paths: [DocumentPath]?
        var consistent: Bool
        /// The request's own entry, echoed back in UnprocessedKeys.
        var request: JSON
    }

    func requestItems(_ parameters: inout RequestParameters) throws(DynamoDBError) -> [(String, JSON)] {
        guard let members = try parameters.object("RequestItems")?.objectMembers else {
            parameters.violation("requestItems", value: nil, "Member must not be null")
            try parameters.throwViolations()
            return []
        }
        if members.isEmpty {
            parameters.violation("requestItems", value: "{}", "Member must have length greater than or equal to 1")
        }
        for (name, _) in members { parameters.checkTableName(name, path: "requestItems.\(name).member.tableName") }
        return members
    }

    func parseBatchGetTable(name: String, json: JSON) throws(DynamoDBError) -> BatchGetTable {
        let entry = try RequestParameters(json)
        guard let keys = try entry.array("Keys") else {
            throw DynamoDBError.validation("1 validation error detected: Value null at 'requestItems.\(name).member.keys' failed to satisfy constraint: Member must not be null")
        }
        if keys.isEmpty {
            throw DynamoDBError.validation("1 validation error detected: Value '[]' at 'requestItems.\(name).member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
        }
        if keys.count > DynamoDBService.maxBatchGetKeys {
            throw DynamoDBError.validation("1 validation error detected: Value at 'requestItems.\(name).member.keys' failed to satisfy constraint: Member must have length less than or equal to 100")
        }
        let consistent = try entry.bool("ConsistentRead") ?? false
        var attributes = try DynamoDBService.expressionAttributes(entry)
        let paths = try DynamoDBService.projection(entry, attributes: &attributes)
        try DynamoDBService.finishExpressionAttributes(entry, attributes)
        let table = try existingTable(name)
        var parsed: [(key: PrimaryKey, map: Item)] = []
        var seen = Set<[UInt8]>()
        for keyJSON in keys {
            let map = try Item(json: keyJSON)
            let key = try table.primaryKey(ofKey: map)
            guard seen.insert(table.storageKey(key)).inserted else {
                throw DynamoDBError.validation("Provided list of item keys contains duplicates")
            }
            parsed.append((key, map))
        }
        return BatchGetTable(name: name, table: table, keys: parsed, paths: paths, consistent: consistent, request: json)
    }

    func batchGetItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let members = try requestItems(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try parameters.throwViolations()
        var tables: [BatchGetTable] = []
        var totalKeys = 0
        for (name, json) in members {
            let table = try parseBatchGetTable(name: name, json: json)
            totalKeys += table.keys.count
            if totalKeys > DynamoDBService.maxBatchGetKeys {
                throw DynamoDBError.validation("Too many items requested for the BatchGetItem call")
            }
            tables.append(table)
        }
        return try await runBatchGet(tables, capacityMode: capacityMode)
    }

    func runBatchGet(_ tables: [BatchGetTable], capacityMode: ReturnConsumedCapacity) async throws -> [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        var responseBytes = 0
        var unprocessed: [(String, JSON)] = []
        var capacities: [JSON] = []
        writer.raw("{\"Responses\":{")
        for (tableIndex, table) in tables.enumerated() {
            if tableIndex > 0 { writer.comma() }
            writer.key(table.name)
            writer.raw("[")
            var units = 0.0
            var written = 0
            var leftover: [JSON] = []
            for entry in table.keys {
                if responseBytes >= DynamoDBService.maxBatchGetResponseBytes {
                    leftover.append(DynamoDBService.keyJSON(entry.map))
                    continue
                }
                guard let item = try await coordinator.get(table.table, entry.key, consistent: table.consistent, readQuorum: RequestOptions.current.readQuorum) else {
                    units += DynamoDBService.readUnits(0, consistent: table.consistent)
                    continue
                }
                let size = ItemSize.of(item)
                responseBytes += size
                units += DynamoDBService.readUnits(size, consistent: table.consistent)
                if written > 0 { writer.comma() }
                writer.attributeMap(table.paths.map { Projection.apply($0, to: item) } ?? item)
                written += 1
            }
            writer.raw("]")
            if !leftover.isEmpty {
                var request = table.request.objectMembers ?? []
                request.removeAll { $0.0 == "Keys" }
                request.append(("Keys", .array(leftover)))
                unprocessed.append((table.name, .object(request)))
            }
            if capacityMode != .none {
                capacities.append(DynamoDBService.consumedCapacity(table: table.name, units: units, mode: capacityMode))
            }
        }
        writer.raw("},\"UnprocessedKeys\":")
        writer.value(.object(unprocessed))
        if capacityMode != .none {
            writer.raw(",\"ConsumedCapacity\":")
            writer.value(.array(capacities))
        }
        writer.raw("}")
        return writer.bytes
    }

    static func keyJSON(_ key: Item) -> JSON {
        var writer = JSONWriter(capacity: 64)
        writer.attributeMap(key)
        // The writer's output is JSON we produced ourselves; parsing it back cannot fail.
        return (try? JSON.parse(writer.bytes)) ?? .object([])
    }

    func batchWriteItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let members = try requestItems(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try DynamoDBService.checkReturnItemCollectionMetrics(&parameters)
        try parameters.throwViolations()
        var mutations: [ItemMutation] = []
        var tableNames: [String] = []
        for (name, json) in members {
            guard case .array(let requests) = json else {
                throw DynamoDBError.serialization(json.mismatchMessage(expecting: .list))
            }
            if requests.isEmpty {
                throw DynamoDBError.validation("1 validation error detected: Value '[]' at 'requestItems.\(name).member' failed to satisfy constraint: Member must have length greater than or equal to 1")
            }
            if mutations.count + requests.count > DynamoDBService.maxBatchWriteRequests {
                throw DynamoDBError.validation("Too many items requested for the BatchWriteItem call")
            }
            let table = try existingTable(name)
            var seen = Set<[UInt8]>()
            for request in requests {
                let mutation = try DynamoDBService.parseWriteRequest(request, table: table)
                guard seen.insert(table.storageKey(mutation.key)).inserted else {
                    throw DynamoDBError.validation("Provided list of item keys contains duplicates")
                }
                mutations.append(mutation)
            }
            tableNames.append(name)
        }
        // Every request was validated above. Each item is written as its own atomic write, as in
        // DynamoDB: a write refused for load (a full queue, a busy item) is returned in
        // UnprocessedItems for the client to retry; any other failure fails the request.
        let results = await coordinator.write(mutations)
        var written: [(mutation: ItemMutation, old: Item?)] = []
        var unprocessed: [(table: String, request: JSON)] = []
        for (mutation, result) in zip(mutations, results) {
            switch result {
            case .success(let old):
                written.append((mutation, old))
            case .failure(let error) where DynamoDBService.isRetryableLoadError(error):
                unprocessed.append((mutation.table.name, DynamoDBService.writeRequestJSON(mutation)))
            case .failure(let error):
                throw error
            }
        }
        var writer = JSONWriter(capacity: 64)
        writer.raw("{\"UnprocessedItems\":")
        writer.value(.object(tableNames.compactMap { name in
            let requests = unprocessed.filter { $0.table == name }.map(\.request)
            return requests.isEmpty ? nil : (name, .array(requests))
        }))
        if capacityMode != .none {
            var units: [String: Double] = [:]
            for (mutation, old) in written {
                let size = Swift.max(mutation.item.map(ItemSize.of) ?? 0, old.map(ItemSize.of) ?? 0)
                units[mutation.table.name, default: 0] += DynamoDBService.writeUnits(size)
            }
            writer.raw(",\"ConsumedCapacity\":")
            writer.value(.array(tableNames.map { DynamoDBService.consumedCapacity(table: $0, units: units[$0] ?? 0, mode: capacityMode) }))
        }
        writer.raw("}")
        return writer.bytes
    }

    static func parseWriteRequest(_ json: JSON, table: TableDefinition) throws(DynamoDBError) -> ItemMutation {
        let request = try RequestParameters(json)
        let put = try request.object("PutRequest")
        let delete = try request.object("DeleteRequest")
        switch (put, delete) {
        case (.some(let put), nil):
            guard let itemJSON = put["Item"], itemJSON != .null else {
                throw DynamoDBError.validation("1 validation error detected: Value null at 'requestItems.\(table.name).member.putRequest.item' failed to satisfy constraint: Member must not be null")
            }
            let item = try Item(json: itemJSON)
            let key = try validateNewItem(item, table: table)
            return ItemMutation(table: table, key: key, item: item)
        case (nil, .some(let delete)):
            guard let keyJSON = delete["Key"], keyJSON != .null else {
                throw DynamoDBError.validation("1 validation error detected: Value null at 'requestItems.\(table.name).member.deleteRequest.key' failed to satisfy constraint: Member must not be null")
            }
            let key = try table.primaryKey(ofKey: try Item(json: keyJSON))
            return ItemMutation(table: table, key: key, item: nil)
        default:
            throw DynamoDBError.validation("Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest")
        }
    }

    /// Errors that mean "try again later" rather than "this request is wrong".
    static func isRetryableLoadError(_ error: any Error) -> Bool {
        if let error = error as? StorageError { return error.isOverloaded }
        if let error = error as? DynamoDBError { return error.code == "ThrottlingException" }
        return false
    }

    /// A mutation as the WriteRequest a client sends again (UnprocessedItems).
    static func writeRequestJSON(_ mutation: ItemMutation) -> JSON {
        if let item = mutation.item {
            return .object([("PutRequest", .object([("Item", keyJSON(item))]))])
        }
        return .object([("DeleteRequest", .object([("Key", keyJSON(mutation.table.keyMap(of: mutation.key)))]))])
    }
}
