import TernCore
import TernTransport

// Query and Scan: one range read in storage each, paged by Limit and DynamoDB's 1 MB page,
// filtered after the read, projected last.

extension DynamoDBService {
    /// DynamoDB reads at most 1 MB per Query/Scan page, before any filter.
    static let maxPageBytes = 1024 * 1024
    static let maxTotalSegments: Int64 = 1_000_000

    enum Select: String {
        case allAttributes = "ALL_ATTRIBUTES"
        case allProjectedAttributes = "ALL_PROJECTED_ATTRIBUTES"
        case specificAttributes = "SPECIFIC_ATTRIBUTES"
        case count = "COUNT"
    }

    /// What Query and Scan share once their parameters are parsed.
    struct ReadPlan {
        var table: TableDefinition
        var start: [UInt8]
        var end: [UInt8]
        var reverse: Bool
        var limit: Int
        var filter: Condition?
        var paths: [DocumentPath]?
        var select: Select
        var consistent: Bool
        var capacityMode: ReturnConsumedCapacity
    }

    /// Select, ProjectionExpression / AttributesToGet, and their DynamoDB consistency rules.
    /// The texts are DynamoDB's as reported by conformance suites run against it (and DynamoDB
    /// Local's error table); Query wraps the projection conflicts in the "1 validation error
    /// detected: " envelope and Scan does not (docs/compatibility.md).
    func parseSelect(_ parameters: inout RequestParameters, attributes: inout ExpressionAttributes, isQuery: Bool) throws(DynamoDBError) -> (Select, [DocumentPath]?) {
        let selectText = try parameters.enumeration("Select", ["ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT"])
        try parameters.throwViolations()
        let projection = try DynamoDBService.projection(parameters, attributes: &attributes)
        let projectionName = parameters.has("ProjectionExpression") ? "ProjectionExpression" : "AttributesToGet"
        func conflict(_ message: String) -> DynamoDBError {
            DynamoDBError.validation(isQuery ? "1 validation error detected: \(message)" : message)
        }
        let select: Select
        switch (selectText.flatMap(Select.init(rawValue:)), projection != nil) {
        case (nil, let hasProjection):
            select = hasProjection ? .specificAttributes : .allAttributes
        case (.allAttributes, true):
            throw conflict("Cannot specify the \(projectionName) when choosing to get ALL_ATTRIBUTES")
        case (.allProjectedAttributes, true):
            throw conflict("Cannot specify the \(projectionName) when choosing to get ALL_PROJECTED_ATTRIBUTES")
        case (.count, true):
            throw conflict("Cannot specify the \(projectionName) when choosing to get only the Count")
        case (.specificAttributes, false):
            throw conflict("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
        case (.allProjectedAttributes, false):
            // Tables have no secondary indexes yet, so there is never an IndexName here.
            throw DynamoDBError.validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
        case (.some(let value), _):
            select = value
        }
        return (select, projection)
    }

    func parseLimit(_ parameters: inout RequestParameters) throws(DynamoDBError) -> Int {
        guard let limit = try parameters.integer("Limit") else { return Int.max }
        if limit < 1 {
            parameters.violation("limit", value: String(limit), "Member must have value greater than or equal to 1")
        }
        return Int(max(1, limit))
    }

    /// The storage key just after `key`: keys are prefix-free, so appending a zero byte is the
    /// smallest key greater than it.
    static func successor(_ key: [UInt8]) -> [UInt8] { key + [0] }

    func query(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let tableName = try parameters.tableName()
        let limit = try parseLimit(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        try parameters.throwViolations()
        if parameters.has("IndexName") {
            throw DynamoDBError.validation("Tern does not support secondary indexes yet; see docs/compatibility.md")
        }
        var attributes = try DynamoDBService.expressionAttributes(parameters)
        let (select, paths) = try parseSelect(&parameters, attributes: &attributes, isQuery: true)
        let table = try existingTable(tableName)
        let keyCondition = try DynamoDBService.keyCondition(parameters, table: table, attributes: &attributes)
        let filter = try DynamoDBService.filter(parameters, kind: "QueryFilter", attributes: &attributes, table: table, isQuery: true)
        try DynamoDBService.finishExpressionAttributes(parameters, attributes)
        let forward = try parameters.bool("ScanIndexForward") ?? true
        let prefix = KeyEncoding.partitionPrefix(tableId: table.tableId, partitionKey: keyCondition.partitionKeyValue)
        var (start, end) = DynamoDBService.sortKeyRange(prefix: prefix, condition: keyCondition.sortCondition)
        if let startKey = try parameters.attributeMap("ExclusiveStartKey") {
            let key = try DynamoDBService.exclusiveStartKey(startKey, table: table)
            guard key.partition == keyCondition.partitionKeyValue else {
                throw DynamoDBError.validation("The provided starting key is outside query boundaries based on provided conditions")
            }
            let storageKey = table.storageKey(key)
            if forward { start = DynamoDBService.laterKey(start, DynamoDBService.successor(storageKey)) } else { end = DynamoDBService.earlierKey(end, storageKey) }
        }
        let plan = ReadPlan(
            table: table, start: start, end: end, reverse: !forward, limit: limit, filter: filter, paths: paths,
            select: select, consistent: try parameters.bool("ConsistentRead") ?? false, capacityMode: capacityMode
        )
        return try await runRead(plan)
    }

    /// The key range of one partition that satisfies a sort-key condition. The encodings are
    /// order-preserving and prefix-free, so every condition is one contiguous range.
    static func sortKeyRange(prefix: [UInt8], condition: KeyCondition.SortCondition?) -> (start: [UInt8], end: [UInt8]) {
        let partitionEnd = KeyEncoding.prefixEnd(prefix)
        func encoded(_ value: AttributeValue) -> [UInt8] {
            var key = prefix
            KeyEncoding.appendComponent(value, to: &key)
            return key
        }
        switch condition {
        case nil: return (prefix, partitionEnd)
        case .equal(let v): return (encoded(v), successor(encoded(v)))
        case .less(let v): return (prefix, encoded(v))
        case .lessOrEqual(let v): return (prefix, successor(encoded(v)))
        case .greater(let v): return (successor(encoded(v)), partitionEnd)
        case .greaterOrEqual(let v): return (encoded(v), partitionEnd)
        case .between(let low, let high):
            let start = encoded(low)
            let end = successor(encoded(high))
            return start.lexicographicallyPrecedes(end) ? (start, end) : (start, start)
        case .beginsWith(let v):
            var key = prefix
            KeyEncoding.appendPrefixComponent(v, to: &key)
            return (key, KeyEncoding.prefixEnd(key))
        }
    }

    static func laterKey(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        a.lexicographicallyPrecedes(b) ? b : a
    }

    static func earlierKey(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        a.lexicographicallyPrecedes(b) ? a : b
    }

    /// ExclusiveStartKey: exactly the table's key attributes, of the right types.
    static func exclusiveStartKey(_ map: Item, table: TableDefinition) throws(DynamoDBError) -> PrimaryKey {
        do {
            return try table.primaryKey(ofKey: map)
        } catch {
            throw DynamoDBError.validation("The provided starting key is invalid: \(error.message)")
        }
    }

    func scan(_ input: RequestParameters) async throws -> [UInt8] {
        var parameters = input
        let tableName = try parameters.tableName()
        let limit = try parseLimit(&parameters)
        let capacityMode = try DynamoDBService.returnConsumedCapacity(&parameters)
        let segment = try parameters.integer("Segment")
        let totalSegments = try parameters.integer("TotalSegments")
        if let segment, segment < 0 {
            parameters.violation("segment", value: String(segment), "Member must have value greater than or equal to 0")
        }
        if let segment, segment > 999_999 {
            parameters.violation("segment", value: String(segment), "Member must have value less than or equal to 999999")
        }
        if let totalSegments, totalSegments < 1 {
            parameters.violation("totalSegments", value: String(totalSegments), "Member must have value greater than or equal to 1")
        }
        if let totalSegments, totalSegments > DynamoDBService.maxTotalSegments {
            parameters.violation("totalSegments", value: String(totalSegments), "Member must have value less than or equal to 1000000")
        }
        try parameters.throwViolations()
        if parameters.has("IndexName") {
            throw DynamoDBError.validation("Tern does not support secondary indexes yet; see docs/compatibility.md")
        }
        let range = try DynamoDBService.segmentRange(segment: segment, totalSegments: totalSegments)
        var attributes = try DynamoDBService.expressionAttributes(parameters)
        let (select, paths) = try parseSelect(&parameters, attributes: &attributes, isQuery: false)
        let table = try existingTable(tableName)
        let filter = try DynamoDBService.filter(parameters, kind: "ScanFilter", attributes: &attributes, table: table, isQuery: false)
        try DynamoDBService.finishExpressionAttributes(parameters, attributes)
        let tablePrefix = KeyEncoding.tablePrefix(table.tableId)
        var start = tablePrefix + DynamoDBService.tokenBytes(range.low)
        let end = range.high.map { tablePrefix + DynamoDBService.tokenBytes($0) } ?? KeyEncoding.tableEnd(table.tableId)
        if let startKey = try parameters.attributeMap("ExclusiveStartKey") {
            let key = try DynamoDBService.exclusiveStartKey(startKey, table: table)
            let storageKey = table.storageKey(key)
            guard !storageKey.lexicographicallyPrecedes(start), storageKey.lexicographicallyPrecedes(end) else {
                throw DynamoDBError.validation("The provided Exclusive start key does not map to the provided segment")
            }
            start = DynamoDBService.successor(storageKey)
        }
        let plan = ReadPlan(
            table: table, start: start, end: end, reverse: false, limit: limit, filter: filter, paths: paths,
            select: select, consistent: try parameters.bool("ConsistentRead") ?? false, capacityMode: capacityMode
        )
        return try await runRead(plan)
    }

    /// Parallel scan: segment `s` of `T` owns the tokens [s·2⁶⁴/T, (s+1)·2⁶⁴/T), so segments are
    /// disjoint and together cover the table (DESIGN.md §3).
    static func segmentRange(segment: Int64?, totalSegments: Int64?) throws(DynamoDBError) -> (low: UInt64, high: UInt64?) {
        switch (segment, totalSegments) {
        case (nil, nil):
            return (0, nil)
        case (.some, nil):
            throw DynamoDBError.validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
        case (nil, .some):
            throw DynamoDBError.validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
        case (.some(let s), .some(let t)):
            guard s < t else {
                throw DynamoDBError.validation("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: \(s) is not less than TotalSegments: \(t)")
            }
            func boundary(_ i: Int64) -> UInt64 {
                // floor(i · 2⁶⁴ / T): divide the 128-bit value (high: i, low: 0); i < T, so no overflow.
                UInt64(t).dividingFullWidth((high: UInt64(i), low: 0)).quotient
            }
            return (boundary(s), s + 1 == t ? nil : boundary(s + 1))
        }
    }

    static func tokenBytes(_ token: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: token >> (56 - 8 * UInt64($0))) }
    }

    /// Reads one page, filters, projects and encodes the Query/Scan response.
    func runRead(_ plan: ReadPlan) async throws -> [UInt8] {
        let page = try await coordinator.readRange(
            plan.table, start: plan.start, end: plan.end, reverse: plan.reverse, maxItems: plan.limit,
            maxBytes: DynamoDBService.maxPageBytes, consistent: plan.consistent, readQuorum: RequestOptions.current.readQuorum
        )
        var count = 0
        var writer = JSONWriter(capacity: 4096)
        writer.raw("{")
        if plan.select != .count { writer.raw("\"Items\":[") }
        for entry in page.items {
            if let filter = plan.filter, !filter.evaluate(entry.item) { continue }
            if plan.select != .count {
                if count > 0 { writer.comma() }
                writer.attributeMap(plan.paths.map { Projection.apply($0, to: entry.item) } ?? entry.item)
            }
            count += 1
        }
        if plan.select != .count { writer.raw("],") }
        writer.raw("\"Count\":")
        writer.rawString(String(count))
        writer.raw(",\"ScannedCount\":")
        writer.rawString(String(page.items.count))
        if !page.exhausted, let lastKey = page.lastExaminedKey {
            writer.raw(",\"LastEvaluatedKey\":")
            // A page may end on a tombstone (its tombstone bound): then the key is decoded from
            // the storage key, as there are no attributes to take it from.
            if let last = page.items.last, last.storageKey == lastKey {
                writer.attributeMap(plan.table.keyMap(of: last.item))
            } else {
                writer.attributeMap(try plan.table.keyMap(fromStorageKey: lastKey))
            }
        }
        if plan.capacityMode != .none {
            writer.comma()
            // Query and Scan are charged once on the total bytes read, before the filter.
            let units = DynamoDBService.readUnits(page.bytes, consistent: plan.consistent)
            DynamoDBService.writeConsumedCapacity(&writer, table: plan.table.name, units: units, mode: plan.capacityMode)
        }
        writer.raw("}")
        return writer.bytes
    }
}
