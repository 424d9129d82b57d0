import TernCore
import TernTransport

// Control plane: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable,
// DescribeEndpoints, DescribeLimits.

extension DynamoDBService {
    static let billingModes = ["PROVISIONED", "PAY_PER_REQUEST"]
    /// DynamoDB's upper bound on provisioned capacity units.
    static let maxCapacityUnits: Int64 = 1_000_000_000_000

    struct Throughput: Sendable {
        var read: Int64
        var write: Int64
    }

    func parseThroughput(_ parameters: inout RequestParameters) throws(DynamoDBError) -> Throughput? {
        guard let object = try parameters.object("ProvisionedThroughput") else { return nil }
        let inner = try RequestParameters(object)
        let read = try inner.integer("ReadCapacityUnits")
        let write = try inner.integer("WriteCapacityUnits")
        if let write, write < 1 {
            parameters.violation("provisionedThroughput.writeCapacityUnits", value: String(write), "Member must have value greater than or equal to 1")
        }
        if let read, read < 1 {
            parameters.violation("provisionedThroughput.readCapacityUnits", value: String(read), "Member must have value greater than or equal to 1")
        }
        if write == nil { parameters.violation("provisionedThroughput.writeCapacityUnits", value: nil, "Member must not be null") }
        if read == nil { parameters.violation("provisionedThroughput.readCapacityUnits", value: nil, "Member must not be null") }
        return Throughput(read: read ?? 0, write: write ?? 0)
    }

    static func checkCapacityBounds(_ throughput: Throughput) throws(DynamoDBError) {
        if throughput.read > maxCapacityUnits {
            throw DynamoDBError.validation("Given value \(throughput.read) for ReadCapacityUnits is out of bounds")
        }
        if throughput.write > maxCapacityUnits {
            throw DynamoDBError.validation("Given value \(throughput.write) for WriteCapacityUnits is out of bounds")
        }
    }

    struct KeySchemaElement {
        var name: String
        var keyType: String
    }

    func parseKeySchema(_ parameters: inout RequestParameters) throws(DynamoDBError) -> [KeySchemaElement] {
        guard let elements = try parameters.array("KeySchema") else {
            parameters.violation("keySchema", value: nil, "Member must not be null")
            return []
        }
        if elements.isEmpty {
            parameters.violation("keySchema", value: "[]", "Member must have length greater than or equal to 1")
        }
        if elements.count > 2 {
            parameters.violation("keySchema", value: nil, "Member must have length less than or equal to 2")
        }
        var schema: [KeySchemaElement] = []
        for (i, element) in elements.enumerated() {
            var inner = try RequestParameters(element)
            let name = try inner.string("AttributeName")
            let keyType = try inner.enumeration("KeyType", ["HASH", "RANGE"], path: "keySchema.\(i + 1).member.keyType")
            if name == nil { parameters.violation("keySchema.\(i + 1).member.attributeName", value: nil, "Member must not be null") }
            if keyType == nil { parameters.violation("keySchema.\(i + 1).member.keyType", value: nil, "Member must not be null") }
            if let name, name.utf8.count > 255 || name.isEmpty {
                parameters.violation("keySchema.\(i + 1).member.attributeName", value: name, "Member must have length less than or equal to 255")
            }
            parameters.constraintErrors(append: inner)
            schema.append(KeySchemaElement(name: name ?? "", keyType: keyType ?? ""))
        }
        return schema
    }

    func parseAttributeDefinitions(_ parameters: inout RequestParameters) throws(DynamoDBError) -> [KeyAttribute] {
        guard let elements = try parameters.array("AttributeDefinitions") else {
            parameters.violation("attributeDefinitions", value: nil, "Member must not be null")
            return []
        }
        var definitions: [KeyAttribute] = []
        for (i, element) in elements.enumerated() {
            var inner = try RequestParameters(element)
            let name = try inner.string("AttributeName")
            let type = try inner.enumeration("AttributeType", ["B", "N", "S"], path: "attributeDefinitions.\(i + 1).member.attributeType")
            if name == nil { parameters.violation("attributeDefinitions.\(i + 1).member.attributeName", value: nil, "Member must not be null") }
            if type == nil { parameters.violation("attributeDefinitions.\(i + 1).member.attributeType", value: nil, "Member must not be null") }
            parameters.constraintErrors(append: inner)
            if let name, let type, let scalar = ScalarAttributeType(rawValue: type) {
                definitions.append(KeyAttribute(name: name, type: scalar))
            }
        }
        return definitions
    }

    func createTable(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let name = try parameters.tableName()
        let definitions = try parseAttributeDefinitions(&parameters)
        let schema = try parseKeySchema(&parameters)
        let billingMode = try parameters.enumeration("BillingMode", DynamoDBService.billingModes) ?? "PROVISIONED"
        let throughput = try parseThroughput(&parameters)
        try parameters.throwViolations()
        if parameters.has("GlobalSecondaryIndexes") || parameters.has("LocalSecondaryIndexes") {
            throw DynamoDBError.validation("Tern does not support secondary indexes yet; see docs/compatibility.md")
        }
        if parameters.has("StreamSpecification"), try parameters.object("StreamSpecification")?["StreamEnabled"]?.boolValue == true {
            throw DynamoDBError.validation("Tern does not support DynamoDB Streams yet; see docs/compatibility.md")
        }
        let capacity = try DynamoDBService.checkBilling(billingMode, throughput)
        let (partitionKey, sortKey) = try DynamoDBService.checkKeySchema(schema, definitions)
        let tags = try parseTags(parameters, member: "Tags") ?? []
        _ = try TableReplication.parse(tags)
        let deletionProtection = try parameters.bool("DeletionProtectionEnabled") ?? false
        let created = now()
        let table = try await catalog.create(name) { tableId in
            TableDefinition(
                name: name, tableId: tableId, uuid: DynamoDBService.tableUUID(tableId: tableId, created: created),
                partitionKey: partitionKey, sortKey: sortKey, attributeDefinitions: definitions,
                billingMode: billingMode, readCapacityUnits: Int(capacity.read), writeCapacityUnits: Int(capacity.write),
                creationDateTime: (created * 1000).rounded() / 1000, status: .active, tags: tags,
                deletionProtection: deletionProtection
            )
        }
        logger.info("created table", metadata: ["table": "\(name)", "tableId": "\(table.tableId)"])
        return tableDescriptionResponse(wrapper: "TableDescription", table, statistics: (0, 0))
    }

    static func checkBilling(_ billingMode: String, _ throughput: Throughput?) throws(DynamoDBError) -> Throughput {
        if billingMode == "PAY_PER_REQUEST" {
            if throughput != nil {
                throw DynamoDBError.validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
            }
            return Throughput(read: 0, write: 0)
        }
        guard let throughput else {
            throw DynamoDBError.validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
        }
        try checkCapacityBounds(throughput)
        return throughput
    }

    static func checkKeySchema(_ schema: [KeySchemaElement], _ definitions: [KeyAttribute]) throws(DynamoDBError) -> (KeyAttribute, KeyAttribute?) {
        let definedNames = definitions.map(\.name)
        let keyNames = schema.map(\.name)
        if keyNames.count > definedNames.count {
            throw DynamoDBError.validation("Invalid KeySchema: Some index key attribute have no definition")
        }
        if keyNames.contains(where: { !definedNames.contains($0) }) {
            throw DynamoDBError.validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [\(keyNames.joined(separator: ", "))], AttributeDefinitions: [\(definedNames.joined(separator: ", "))]")
        }
        if keyNames.count == 2, keyNames[0] == keyNames[1] {
            throw DynamoDBError.validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
        }
        if schema[0].keyType != "HASH" {
            throw DynamoDBError.validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
        }
        if schema.count == 2, schema[1].keyType != "RANGE" {
            throw DynamoDBError.validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
        }
        if Set(definedNames).count != definedNames.count {
            throw DynamoDBError.validation("Cannot have two attributes with the same name")
        }
        if schema.count != definitions.count {
            throw DynamoDBError.validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
        }
        func attribute(_ name: String) -> KeyAttribute { definitions.first(where: { $0.name == name })! }
        return (attribute(schema[0].name), schema.count == 2 ? attribute(schema[1].name) : nil)
    }

    /// A UUID-shaped public TableId derived from the internal id and creation time.
    static func tableUUID(tableId: UInt32, created: Double) -> String {
        let millis = UInt64(max(0, created) * 1000)
        let a = TokenHash.hash(Array("\(tableId)/\(millis)".utf8))
        let b = TokenHash.hash(Array("\(millis)/\(tableId)".utf8))
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        return "\(hex(a >> 32, 8))-\(hex(a >> 16 & 0xFFFF, 4))-\(hex(a & 0xFFFF, 4))-\(hex(b >> 48, 4))-\(hex(b & 0xFFFF_FFFF_FFFF, 12))"
    }

    func describeTable(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let name = try parameters.tableName()
        try parameters.throwViolations()
        let table = try describedTable(name)
        let statistics = try await coordinator.statistics(table)
        return tableDescriptionResponse(wrapper: "Table", table, statistics: statistics)
    }

    func tableDescriptionResponse(wrapper: StaticString, _ table: TableDefinition, statistics: (itemCount: Int, sizeBytes: Int)) -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.raw("{\"")
        writer.raw(wrapper)
        writer.raw("\":")
        writer.value(tableDescription(table, statistics: statistics))
        writer.raw("}")
        return writer.bytes
    }

    func tableDescription(_ table: TableDefinition, statistics: (itemCount: Int, sizeBytes: Int)) -> JSON {
        let keySchema: [JSON] = table.keyAttributes.enumerated().map { index, attribute in
            .object([("AttributeName", .string(attribute.name)), ("KeyType", .string(index == 0 ? "HASH" : "RANGE"))])
        }
        let definitions: [JSON] = table.attributeDefinitions.map {
            .object([("AttributeName", .string($0.name)), ("AttributeType", .string($0.type.rawValue))])
        }
        var billing: [(String, JSON)] = [("BillingMode", .string(table.billingMode))]
        if table.billingMode == "PAY_PER_REQUEST" {
            billing.append(("LastUpdateToPayPerRequestDateTime", .number(String(table.lastBillingModeChange ?? table.creationDateTime))))
        }
        return .object([
            ("AttributeDefinitions", .array(definitions)),
            ("TableName", .string(table.name)),
            ("KeySchema", .array(keySchema)),
            ("TableStatus", .string(table.status.rawValue)),
            ("CreationDateTime", .number(String(table.creationDateTime))),
            ("ProvisionedThroughput", .object([
                ("NumberOfDecreasesToday", .number("0")),
                ("ReadCapacityUnits", .number(String(table.readCapacityUnits))),
                ("WriteCapacityUnits", .number(String(table.writeCapacityUnits))),
            ])),
            ("TableSizeBytes", .number(String(statistics.sizeBytes))),
            ("ItemCount", .number(String(statistics.itemCount))),
            ("TableArn", .string(tableArn(table.name))),
            ("TableId", .string(table.uuid)),
            ("BillingModeSummary", .object(billing)),
            ("DeletionProtectionEnabled", .bool(table.deletionProtection)),
        ])
    }

    func listTables(_ input: RequestParameters) throws -> [UInt8] {
        var parameters = input
        let limit = try parameters.integer("Limit")
        if let limit, limit < 1 {
            parameters.violation("limit", value: String(limit), "Member must have value greater than or equal to 1")
        }
        if let limit, limit > 100 {
            parameters.violation("limit", value: String(limit), "Member must have value less than or equal to 100")
        }
        let start = try parameters.string("ExclusiveStartTableName")
        if let start { parameters.checkTableName(start, path: "exclusiveStartTableName") }
        try parameters.throwViolations()
        try catalog.checkServing()
        var names = catalog.tableNames()
        if let start {
            names = names.filter { start.utf8.lexicographicallyPrecedes($0.utf8) }
        }
        let pageSize = Int(limit ?? 100)
        let page = Array(names.prefix(pageSize))
        var members: [(String, JSON)] = [("TableNames", .array(page.map { .string($0) }))]
        if names.count > pageSize, let last = page.last {
            members.append(("LastEvaluatedTableName", .string(last)))
        }
        return JSON.object(members).serialized()
    }

    func deleteTable(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let name = try parameters.tableName()
        try parameters.throwViolations()
        let table = try describedTable(name)
        let statistics = try await coordinator.statistics(table)
        let deleting = try await catalog.delete(name) { table throws(DynamoDBError) in
            if table.deletionProtection {
                throw DynamoDBError.validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
            }
        }
        logger.info("deleting table", metadata: ["table": "\(name)", "tableId": "\(deleting.tableId)"])
        return deletedTableDescriptionResponse(deleting, statistics: statistics)
    }

    /// DeleteTable's answer. The API reference's example and the AWS CLI's show a shorter
    /// description than DescribeTable's: no KeySchema, AttributeDefinitions or CreationDateTime;
    /// TableStatus DELETING; the throughput, size and count; and the table's identity.
    func deletedTableDescriptionResponse(_ table: TableDefinition, statistics: (itemCount: Int, sizeBytes: Int)) -> [UInt8] {
        let full = tableDescription(table, statistics: statistics)
        let kept: Set<String> = [
            "TableName", "TableStatus", "ProvisionedThroughput", "TableSizeBytes", "ItemCount", "TableArn", "TableId",
            "BillingModeSummary", "DeletionProtectionEnabled",
        ]
        var members = (full.objectMembers ?? []).filter { kept.contains($0.0) }
        // DELETING whatever state the catalog hands back: the reply describes the request's effect.
        for index in members.indices where members[index].0 == "TableStatus" {
            members[index].1 = .string("DELETING")
        }
        return JSON.object([("TableDescription", .object(members))]).serialized()
    }

    func updateTable(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let name = try parameters.tableName()
        let billingMode = try parameters.enumeration("BillingMode", DynamoDBService.billingModes)
        let throughput = try parseThroughput(&parameters)
        try parameters.throwViolations()
        for unsupported in ["GlobalSecondaryIndexUpdates", "StreamSpecification", "SSESpecification", "ReplicaUpdates", "TableClass"]
        where parameters.has(unsupported) {
            throw DynamoDBError.validation("Tern does not support \(unsupported) in UpdateTable yet; see docs/compatibility.md")
        }
        _ = try describedTable(name)
        let deletionProtection = try parameters.bool("DeletionProtectionEnabled")
        if billingMode == nil, throughput == nil, deletionProtection == nil {
            throw DynamoDBError.validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
        }
        let changedAt = (now() * 1000).rounded() / 1000
        let table = try await catalog.modify(name) { table in
            try DynamoDBService.applyUpdate(&table, billingMode: billingMode, throughput: throughput, changedAt: changedAt)
            if let deletionProtection { table.deletionProtection = deletionProtection }
        }
        let statistics = try await coordinator.statistics(table)
        return tableDescriptionResponse(wrapper: "TableDescription", table, statistics: statistics)
    }

    /// UpdateTable's billing and throughput rules, applied to the current definition.
    static func applyUpdate(_ table: inout TableDefinition, billingMode: String?, throughput: Throughput?, changedAt: Double) throws(DynamoDBError) {
        guard billingMode != nil || throughput != nil else { return }
        let mode = billingMode ?? table.billingMode
        if mode == "PROVISIONED", throughput == nil, table.billingMode == "PAY_PER_REQUEST" {
            throw DynamoDBError.validation("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
        }
        let current = Throughput(read: Int64(table.readCapacityUnits), write: Int64(table.writeCapacityUnits))
        let capacity = try checkBilling(mode, mode == "PROVISIONED" ? (throughput ?? current) : throughput)
        if mode == "PROVISIONED", table.billingMode == "PROVISIONED", billingMode == nil || throughput != nil,
           capacity.read == current.read, capacity.write == current.write {
            throw DynamoDBError.validation("The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: \(table.readCapacityUnits). Requested ReadCapacityUnits: \(capacity.read). Current WriteCapacityUnits provisioned for the table: \(table.writeCapacityUnits). Requested WriteCapacityUnits: \(capacity.write). Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.")
        }
        if mode != table.billingMode { table.lastBillingModeChange = changedAt }
        table.billingMode = mode
        table.readCapacityUnits = Int(capacity.read)
        table.writeCapacityUnits = Int(capacity.write)
    }

    func describeEndpoints(host: String?) -> [UInt8] {
        let address = host ?? "127.0.0.1:8000"
        return JSON.object([
            ("Endpoints", .array([.object([("Address", .string(address)), ("CachePeriodInMinutes", .number("1440"))])])),
        ]).serialized()
    }

    func describeLimits() -> [UInt8] {
        JSON.object([
            ("AccountMaxReadCapacityUnits", .number("80000")),
            ("AccountMaxWriteCapacityUnits", .number("80000")),
            ("TableMaxReadCapacityUnits", .number("40000")),
            ("TableMaxWriteCapacityUnits", .number("40000")),
        ]).serialized()
    }
}

extension RequestParameters {
    /// Moves the violations recorded on a nested parameter set into this one.
    mutating func constraintErrors(append nested: RequestParameters) {
        constraintErrors.append(contentsOf: nested.constraintErrors)
    }
}
