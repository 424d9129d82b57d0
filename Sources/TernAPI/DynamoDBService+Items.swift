import TernCore
import TernTransport

// Item operations: PutItem, GetItem, DeleteItem, UpdateItem. Conditional and read-modify-write
// operations run under the coordinator's per-key lock, so they are atomic against every other
// writer of the same item.

extension DynamoDBService {
    enum ReturnConsumedCapacity: String {
        case none = "NONE", total = "TOTAL", indexes = "INDEXES"
    }

    enum ReturnValues: String {
        case none = "NONE", allOld = "ALL_OLD", updatedOld = "UPDATED_OLD", allNew = "ALL_NEW", updatedNew = "UPDATED_NEW"
    }

    static func returnConsumedCapacity(_ parameters: inout RequestParameters) throws(DynamoDBError) -> ReturnConsumedCapacity {
        let value = try parameters.enumeration("ReturnConsumedCapacity", ["INDEXES", "TOTAL", "NONE"])
        return value.flatMap(ReturnConsumedCapacity.init(rawValue:)) ?? .none
    }

    static func checkReturnItemCollectionMetrics(_ parameters: inout RequestParameters) throws(DynamoDBError) {
        _ = try parameters.enumeration("ReturnItemCollectionMetrics", ["SIZE", "NONE"])
    }

    /// ReturnValues; PutItem and DeleteItem allow only NONE and ALL_OLD.
    static func returnValues(_ parameters: inout RequestParameters, onlyOld: Bool) throws(DynamoDBError) -> ReturnValues {
        let all = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]
        guard let value = try parameters.enumeration("ReturnValues", all) else { return .none }
        try parameters.throwViolations()
        if onlyOld, value != "NONE", value != "ALL_OLD" {
            throw DynamoDBError.validation("ReturnValues can only be ALL_OLD or NONE")
        }
        return ReturnValues(rawValue: value) ?? .none
    }

    /// ReturnValuesOnConditionCheckFailure: NONE or ALL_OLD.
    static func returnOldOnFailure(_ parameters: inout RequestParameters) throws(DynamoDBError) -> Bool {
        try parameters.enumeration("ReturnValuesOnConditionCheckFailure", ["ALL_OLD", "NONE"]) == "ALL_OLD"
    }

    /// Write capacity units for an item of `size` bytes: one per started KB.
    static func writeUnits(_ size: Int) -> Double { Double(Swift.max(1, (size + 1023) / 1024)) }

    /// Read capacity units: one per started 4 KB, half for an eventually consistent read.
    static func readUnits(_ size: Int, consistent: Bool) -> Double {
        let units = Double(Swift.max(1, (size + 4095) / 4096))
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

    /// Developer guide, "Constraints › Attributes": a name is at most 64 KB. The text is DynamoDB
    /// Local's (ATTRIBUTE_NAME_TOO_LARGE) with the prefix DynamoDB gives its other item-name error.
    static let maxAttributeNameBytes = 65535
    static let attributeNameTooLarge = DynamoDBError.validation(
        "One or more parameter values were invalid: Attribute name is too large, must be less than 65536 bytes")

    /// Checks an item to be written: names, size, key attributes.
    static func validateNewItem(_ item: Item, table: TableDefinition) throws(DynamoDBError) -> PrimaryKey {
        for entry in item.entries {
            let nameBytes = entry.name.utf8.count
            if nameBytes == 0 {
                throw DynamoDBError.validation("One or more parameter values were invalid: An attribute name cannot be empty")
            }
            if nameBytes > maxAttributeNameBytes { throw attributeNameTooLarge }
        }
        if ItemSize.of(item) > ItemSize.maxItemBytes {
            throw DynamoDBError.validation("Item size has exceeded the maximum allowed size")
        }
        return try table.primaryKey(ofItem: item)
    }

    /// Throws ConditionalCheckFailedException when `condition` does not hold for the current
    /// item, carrying that item when the request asked for it.
    static func check(_ condition: Condition?, _ old: Item?, returnOldOnFailure: Bool) throws(DynamoDBError) {
        guard let condition, !condition.evaluate(old) else { return }
        var error = DynamoDBError.conditionalCheckFailed()
        if returnOldOnFailure { error.item = old }
        throw error
    }

    /// `{"Attributes": …, "ConsumedCapacity": …}` for the write operations. A write is charged
    /// on the larger of the old and new item; sizes are computed only when capacity is reported.
    static func writeResponse(attributes: Item?, table: String, old: Item?, new: Item?, capacityMode: ReturnConsumedCapacity) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.raw("{")
        var needsComma = false
        if let attributes {
            writer.raw("\"Attributes\":")
            writer.attributeMap(attributes)
            needsComma = true
        }
        if capacityMode != .none {
            if needsComma { writer.comma() }
            let units = writeUnits(Swift.max(old.map(ItemSize.of) ?? 0, new.map(ItemSize.of) ?? 0))
            writeConsumedCapacity(&writer, table: table, units: units, mode: capacityMode)
        }
        writer.raw("}")
        return writer.bytes
    }

    /// The parameters PutItem, DeleteItem and UpdateItem share, parsed in DynamoDB's order:
    /// constraint violations first, then the expression placeholders.
    struct SingleWrite {
        var tableName: String
        /// The Item (PutItem) or Key (DeleteItem, UpdateItem) member.
        var attributes: Item
        var returnValues: ReturnValues
        var returnOldOnFailure: Bool
        var capacityMode: ReturnConsumedCapacity
        var expressionAttributes: ExpressionAttributes
    }

    static func singleWrite(_ parameters: inout RequestParameters, member: String, onlyOld: Bool) throws(DynamoDBError) -> SingleWrite {
        let tableName = try parameters.tableName()
        let map = try parameters.attributeMap(member)
        if map == nil { parameters.violation(RequestParameters.lowerFirst(member), value: nil, "Member must not be null") }
        let returnValues = try DynamoDBService.returnValues(&parameters, onlyOld: onlyOld)
        let returnOldOnFailure = try DynamoDBService.returnOldOnFailure(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try DynamoDBService.checkReturnItemCollectionMetrics(&parameters)
        try parameters.throwViolations()
        return SingleWrite(
            tableName: tableName, attributes: map ?? Item(), returnValues: returnValues, returnOldOnFailure: returnOldOnFailure,
            capacityMode: capacityMode, expressionAttributes: try DynamoDBService.expressionAttributes(parameters)
        )
    }

    nonisolated(nonsending) func putItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        var request = try DynamoDBService.singleWrite(&parameters, member: "Item", onlyOld: true)
        let condition = try DynamoDBService.writeCondition(parameters, attributes: &request.expressionAttributes)
        try DynamoDBService.finishExpressionAttributes(parameters, request.expressionAttributes)
        let table = try existingTable(request.tableName)
        let newItem = request.attributes
        let key = try DynamoDBService.validateNewItem(newItem, table: table)
        let returnOldOnFailure = request.returnOldOnFailure
        // Every put reads the current version: the new one must descend from it (and DynamoDB
        // charges the larger of the old and new item). Only a conditional put needs the node
        // that serialises the key's writes; a blind one is coordinated here (docs/consistency.md).
        let result = try await coordinator.update(table, key, writeQuorum: RequestOptions.current.writeQuorum, mayForward: condition != nil && !RequestOptions.current.forwarded,
            blind: condition == nil && request.returnValues != .allOld
        ) { old in
            try DynamoDBService.check(condition, old, returnOldOnFailure: returnOldOnFailure)
            return .write(newItem)
        }
        return DynamoDBService.writeResponse(
            attributes: request.returnValues == .allOld ? result.old : nil, table: request.tableName,
            old: result.old, new: newItem, capacityMode: request.capacityMode
        )
    }

    nonisolated(nonsending) func getItem(_ input: RequestParameters) async throws -> [UInt8] {
        let request = try GetItemRequest(input, service: self)
        let item = try await coordinator.get(request.table, request.key, consistent: request.consistent, readQuorum: RequestOptions.current.readQuorum)
        return request.response(item)
    }

    /// GetItem served from memory alone; nil when the item cannot be read without blocking.
    func getItemIfCached(_ input: RequestParameters) throws -> [UInt8]? {
        let request = try GetItemRequest(input, service: self)
        guard case .item(let item) = try coordinator.getIfCached(request.table, request.key, consistent: request.consistent) else { return nil }
        return request.response(item)
    }

    nonisolated(nonsending) func deleteItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        var request = try DynamoDBService.singleWrite(&parameters, member: "Key", onlyOld: true)
        let condition = try DynamoDBService.writeCondition(parameters, attributes: &request.expressionAttributes)
        try DynamoDBService.finishExpressionAttributes(parameters, request.expressionAttributes)
        let table = try existingTable(request.tableName)
        let key = try table.primaryKey(ofKey: request.attributes)
        let returnOldOnFailure = request.returnOldOnFailure
        // As for PutItem: only a conditional delete goes to the node that serialises the key.
        let result = try await coordinator.update(table, key, writeQuorum: RequestOptions.current.writeQuorum, mayForward: condition != nil && !RequestOptions.current.forwarded,
            blind: condition == nil && request.returnValues != .allOld
        ) { old in
            try DynamoDBService.check(condition, old, returnOldOnFailure: returnOldOnFailure)
            // A tombstone even when the item is absent here: on a cluster another replica may
            // hold a version this delete must supersede (DESIGN.md §3).
            return .write(nil)
        }
        return DynamoDBService.writeResponse(
            attributes: request.returnValues == .allOld ? result.old : nil, table: request.tableName,
            old: result.old, new: nil, capacityMode: request.capacityMode
        )
    }

    nonisolated(nonsending) func updateItem(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        var request = try DynamoDBService.singleWrite(&parameters, member: "Key", onlyOld: false)
        let update = try parameters.string("UpdateExpression").map { (text) throws(DynamoDBError) in
            try UpdateParser.parse(text, attributes: &request.expressionAttributes)
        }
        let condition = try DynamoDBService.writeCondition(parameters, attributes: &request.expressionAttributes)
        try DynamoDBService.finishExpressionAttributes(parameters, request.expressionAttributes)
        let table = try existingTable(request.tableName)
        let key = try table.primaryKey(ofKey: request.attributes)
        let actions = try update ?? LegacyUpdates.attributeUpdates(try parameters.object("AttributeUpdates")?.objectMembers ?? [], table: table)
        let keyNames = table.keyAttributes.map(\.name)
        let keyItem = request.attributes
        let returnOldOnFailure = request.returnOldOnFailure
        let returnValues = request.returnValues
        let result = try await coordinator.update(table, key, writeQuorum: RequestOptions.current.writeQuorum, mayForward: !RequestOptions.current.forwarded) { old in
            try DynamoDBService.check(condition, old, returnOldOnFailure: returnOldOnFailure)
            let new = try actions.apply(to: old ?? keyItem, keyAttributeNames: keyNames)
            if ItemSize.of(new) > ItemSize.maxItemBytes {
                throw DynamoDBError.validation("Item size to update has exceeded the maximum allowed size")
            }
            // A `#name` placeholder can bring a name of any length into the item.
            if new.entries.contains(where: { $0.name.utf8.count > DynamoDBService.maxAttributeNameBytes }) {
                throw DynamoDBService.attributeNameTooLarge
            }
            return .write(new)
        }
        // UPDATED_OLD / UPDATED_NEW return only the updated paths, and nothing when none exist.
        func updated(_ item: Item?) -> Item? {
            item.map { Projection.apply(actions.updatedPaths, to: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let returned: Item?
        switch returnValues {
        case .none: returned = nil
        case .allOld: returned = result.old
        case .allNew: returned = result.new
        case .updatedOld: returned = updated(result.old)
        case .updatedNew: returned = updated(result.new)
        }
        return DynamoDBService.writeResponse(
            attributes: returned, table: request.tableName, old: result.old, new: result.new, capacityMode: request.capacityMode
        )
    }
}


/// A validated GetItem: what to read and how to answer.
struct GetItemRequest {
    let tableName: String
    let table: TableDefinition
    let key: PrimaryKey
    let consistent: Bool
    let capacityMode: DynamoDBService.ReturnConsumedCapacity
    let paths: [DocumentPath]?

    init(_ input: RequestParameters, service: DynamoDBService) throws {
        var parameters = input
        let tableName = try parameters.tableName()
        let keyMap = try parameters.attributeMap("Key")
        if keyMap == nil { parameters.violation("key", value: nil, "Member must not be null") }
        let consistent = try parameters.bool("ConsistentRead") ?? false
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try parameters.throwViolations()
        var attributes = try DynamoDBService.expressionAttributes(parameters)
        let paths = try DynamoDBService.projection(parameters, attributes: &attributes)
        try DynamoDBService.finishExpressionAttributes(parameters, attributes)
        let table = try service.existingTable(tableName)
        self.tableName = tableName
        self.table = table
        self.key = try table.primaryKey(ofKey: keyMap!)
        self.consistent = consistent
        self.capacityMode = capacityMode
        self.paths = paths
    }

    func response(_ item: Item?) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{")
        var needsComma = false
        if let item {
            writer.raw("\"Item\":")
            writer.attributeMap(paths.map { Projection.apply($0, to: item) } ?? item)
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
}
