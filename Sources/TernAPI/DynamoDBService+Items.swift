import TernCluster
import TernCore

// Item operations: PutItem, GetItem, DeleteItem.

extension DynamoDBService {
    /// Parameters that belong to the expression language, which arrives with the next API issue.
    /// Until then they are rejected with a clear error, never silently ignored.
    static let conditionParameters = ["ConditionExpression", "Expected", "ConditionalOperator"]

    static func rejectNotYetSupported(_ parameters: RequestParameters, _ names: [String]) throws(DynamoDBError) {
        for name in names where parameters.has(name) {
            throw DynamoDBError.validation("Tern does not support the \(name) parameter yet; see docs/compatibility.md")
        }
    }

    /// ExpressionAttributeNames / ExpressionAttributeValues are only valid alongside an expression.
    static func checkExpressionAttributes(_ parameters: RequestParameters, usesExpression: Bool, usedNames: Set<String>) throws(DynamoDBError) {
        let names = try parameters.stringMap("ExpressionAttributeNames")
        let hasValues = parameters.has("ExpressionAttributeValues")
        if !usesExpression {
            if names != nil {
                throw DynamoDBError.validation("ExpressionAttributeNames can only be specified when using expressions")
            }
            if hasValues {
                throw DynamoDBError.validation("ExpressionAttributeValues can only be specified when using expressions")
            }
            return
        }
        if let names {
            let unused = names.keys.filter { !usedNames.contains($0) }.sorted()
            if !unused.isEmpty {
                throw DynamoDBError.validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {\(unused.joined(separator: ", "))}")
            }
        }
        if hasValues, let values = try parameters.object("ExpressionAttributeValues")?.objectMembers {
            let keys = values.map(\.0).sorted()
            throw DynamoDBError.validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {\(keys.joined(separator: ", "))}")
        }
    }

    enum ReturnConsumedCapacity: String {
        case none = "NONE", total = "TOTAL", indexes = "INDEXES"
    }

    static func returnConsumedCapacity(_ parameters: inout RequestParameters) throws(DynamoDBError) -> ReturnConsumedCapacity {
        let value = try parameters.enumeration("ReturnConsumedCapacity", ["INDEXES", "TOTAL", "NONE"])
        return value.flatMap(ReturnConsumedCapacity.init(rawValue:)) ?? .none
    }

    static func checkReturnItemCollectionMetrics(_ parameters: inout RequestParameters) throws(DynamoDBError) {
        _ = try parameters.enumeration("ReturnItemCollectionMetrics", ["SIZE", "NONE"])
    }

    /// ReturnValues for PutItem and DeleteItem: NONE or ALL_OLD.
    static func returnsOld(_ parameters: inout RequestParameters) throws(DynamoDBError) -> Bool {
        let all = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]
        guard let value = try parameters.enumeration("ReturnValues", all) else { return false }
        try parameters.throwViolations()
        if value != "NONE" && value != "ALL_OLD" {
            throw DynamoDBError.validation("ReturnValues can only be ALL_OLD or NONE")
        }
        return value == "ALL_OLD"
    }

    /// Write capacity units for an item of `size` bytes: one per started KB.
    static func writeUnits(_ size: Int) -> Double { Double(max(1, (size + 1023) / 1024)) }

    /// Read capacity units: one per started 4 KB, half for an eventually consistent read.
    static func readUnits(_ size: Int, consistent: Bool) -> Double {
        let units = Double(max(1, (size + 4095) / 4096))
        return consistent ? units : units / 2
    }

    static func writeConsumedCapacity(_ writer: inout JSONWriter, table: String, units: Double, mode: ReturnConsumedCapacity) {
        guard mode != .none else { return }
        writer.key("ConsumedCapacity")
        writer.value(consumedCapacity(table: table, units: units, mode: mode))
    }

    static func consumedCapacity(table: String, units: Double, mode: ReturnConsumedCapacity) -> JSON {
        var members: [(String, JSON)] = [("TableName", .string(table)), ("CapacityUnits", .number(String(units)))]
        if mode == .indexes {
            members.append(("Table", .object([("CapacityUnits", .number(String(units)))])))
        }
        return .object(members)
    }

    /// Checks an item to be written: names, size, key attributes.
    static func validateNewItem(_ item: Item, table: TableDefinition) throws(DynamoDBError) -> PrimaryKey {
        for entry in item.entries where entry.name.isEmpty {
            throw DynamoDBError.validation("One or more parameter values were invalid: An attribute name cannot be empty")
        }
        if ItemSize.of(item) > ItemSize.maxItemBytes {
            throw DynamoDBError.validation("Item size has exceeded the maximum allowed size")
        }
        return try table.primaryKey(ofItem: item)
    }

    func putItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let tableName = try parameters.tableName()
        let item = try parameters.attributeMap("Item")
        if item == nil { parameters.violation("item", value: nil, "Member must not be null") }
        let returnOld = try DynamoDBService.returnsOld(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try DynamoDBService.checkReturnItemCollectionMetrics(&parameters)
        try parameters.throwViolations()
        try DynamoDBService.rejectNotYetSupported(parameters, DynamoDBService.conditionParameters)
        try DynamoDBService.checkExpressionAttributes(parameters, usesExpression: false, usedNames: [])
        let table = try existingTable(tableName)
        let newItem = item!
        let key = try DynamoDBService.validateNewItem(newItem, table: table)
        let old = try await coordinator.write(ItemMutation(table: table, key: key, item: newItem), returnOld: returnOld)
        var writer = JSONWriter(capacity: 128)
        writer.raw("{")
        var needsComma = false
        if let old {
            writer.raw("\"Attributes\":")
            writer.attributeMap(old)
            needsComma = true
        }
        if capacityMode != .none {
            if needsComma { writer.comma() }
            DynamoDBService.writeConsumedCapacity(&writer, table: tableName, units: DynamoDBService.writeUnits(ItemSize.of(newItem)), mode: capacityMode)
        }
        writer.raw("}")
        return writer.bytes
    }

    /// ProjectionExpression or AttributesToGet (never both), resolved to document paths.
    static func projection(_ parameters: RequestParameters) throws(DynamoDBError) -> (paths: [DocumentPath]?, usedNames: Set<String>) {
        let expression = try parameters.string("ProjectionExpression")
        let attributesToGet = try parameters.array("AttributesToGet")
        if expression != nil, attributesToGet != nil {
            throw DynamoDBError.validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
        }
        if let expression {
            var parser = ProjectionExpressionParser(expression, names: try parameters.stringMap("ExpressionAttributeNames") ?? [:])
            let paths = try parser.parse()
            return (paths, parser.usedNames)
        }
        if let attributesToGet {
            var names: [String] = []
            for element in attributesToGet {
                guard case .string(let name) = element else {
                    throw DynamoDBError.serialization("Unexpected value type in payload: AttributesToGet expects strings")
                }
                names.append(name)
            }
            if names.isEmpty {
                throw DynamoDBError.validation("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1")
            }
            if Set(names).count != names.count {
                throw DynamoDBError.validation("One or more parameter values were invalid: Duplicate value in attribute name: \(names.first(where: { n in names.filter { $0 == n }.count > 1 })!)")
            }
            return (names.map { DocumentPath([.name($0)]) }, [])
        }
        return (nil, [])
    }

    func getItem(_ input: RequestParameters) throws -> [UInt8] {
        var parameters = input
        let tableName = try parameters.tableName()
        let keyMap = try parameters.attributeMap("Key")
        if keyMap == nil { parameters.violation("key", value: nil, "Member must not be null") }
        let consistent = try parameters.bool("ConsistentRead") ?? false
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try parameters.throwViolations()
        let projection = try DynamoDBService.projection(parameters)
        try DynamoDBService.checkExpressionAttributes(parameters, usesExpression: parameters.has("ProjectionExpression"), usedNames: projection.usedNames)
        let table = try existingTable(tableName)
        let key = try table.primaryKey(ofKey: keyMap!)
        let item = try coordinator.get(table, key)
        var writer = JSONWriter(capacity: 256)
        writer.raw("{")
        var needsComma = false
        if let item {
            writer.raw("\"Item\":")
            writer.attributeMap(projection.paths.map { Projection.apply($0, to: item) } ?? item)
            needsComma = true
        }
        if capacityMode != .none {
            if needsComma { writer.comma() }
            let units = DynamoDBService.readUnits(item.map(ItemSize.of) ?? 0, consistent: consistent)
            DynamoDBService.writeConsumedCapacity(&writer, table: tableName, units: units, mode: capacityMode)
        }
        writer.raw("}")
        return writer.bytes
    }

    func deleteItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let tableName = try parameters.tableName()
        let keyMap = try parameters.attributeMap("Key")
        if keyMap == nil { parameters.violation("key", value: nil, "Member must not be null") }
        let returnOld = try DynamoDBService.returnsOld(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try DynamoDBService.checkReturnItemCollectionMetrics(&parameters)
        try parameters.throwViolations()
        try DynamoDBService.rejectNotYetSupported(parameters, DynamoDBService.conditionParameters)
        try DynamoDBService.checkExpressionAttributes(parameters, usesExpression: false, usedNames: [])
        let table = try existingTable(tableName)
        let key = try table.primaryKey(ofKey: keyMap!)
        let old = try await coordinator.write(ItemMutation(table: table, key: key, item: nil), returnOld: returnOld)
        var writer = JSONWriter(capacity: 128)
        writer.raw("{")
        var needsComma = false
        if let old {
            writer.raw("\"Attributes\":")
            writer.attributeMap(old)
            needsComma = true
        }
        if capacityMode != .none {
            if needsComma { writer.comma() }
            DynamoDBService.writeConsumedCapacity(&writer, table: tableName, units: DynamoDBService.writeUnits(old.map(ItemSize.of) ?? 0), mode: capacityMode)
        }
        writer.raw("}")
        return writer.bytes
    }
}
