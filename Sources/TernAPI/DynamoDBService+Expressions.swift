import TernCore

// Expressions and their legacy (pre-2014) forms, resolved once per request into the AST types
// of TernCore: ProjectionExpression / AttributesToGet, ConditionExpression / Expected,
// FilterExpression / QueryFilter / ScanFilter, KeyConditionExpression / KeyConditions.

extension DynamoDBService {
    static let expressionParameterNames = ["ConditionExpression", "FilterExpression", "KeyConditionExpression", "ProjectionExpression", "UpdateExpression"]
    static let legacyParameterNames = ["AttributeUpdates", "AttributesToGet", "ConditionalOperator", "Expected", "KeyConditions", "QueryFilter", "ScanFilter"]

    /// ExpressionAttributeNames and ExpressionAttributeValues, validated; and DynamoDB's refusal
    /// to mix legacy parameters with expressions in one request.
    static func expressionAttributes(_ parameters: RequestParameters) throws(DynamoDBError) -> ExpressionAttributes {
        let expressions = expressionParameterNames.filter { parameters.has($0) }
        let legacy = legacyParameterNames.filter { parameters.has($0) }
        if !expressions.isEmpty, !legacy.isEmpty {
            throw DynamoDBError.validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {\(legacy.joined(separator: ", "))} Expression parameters: {\(expressions.joined(separator: ", "))}")
        }
        let names = try parameters.stringMap("ExpressionAttributeNames") ?? [:]
        for (key, name) in names.sorted(by: { $0.key < $1.key }) {
            try checkPlaceholderLength(key, map: "ExpressionAttributeNames")
            guard isPlaceholder(key, sigil: UInt8(ascii: "#")) else {
                throw DynamoDBError.validation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"\(key)\"")
            }
            if name.isEmpty {
                throw DynamoDBError.validation("ExpressionAttributeNames contains invalid value: Empty attribute name for key \(key)")
            }
        }
        var values: [String: AttributeValue] = [:]
        if let members = try parameters.object("ExpressionAttributeValues")?.objectMembers {
            for (key, _) in members { try checkPlaceholderLength(key, map: "ExpressionAttributeValues") }
            for (key, _) in members where !isPlaceholder(key, sigil: UInt8(ascii: ":")) {
                throw DynamoDBError.validation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"\(key)\"")
            }
            for (key, json) in members {
                do {
                    values[key] = try AttributeValue(json: json)
                } catch {
                    throw DynamoDBError(code: error.code, namespace: error.namespace, message: "ExpressionAttributeValues contains invalid value: \(error.message) for key \(key)", httpStatus: error.httpStatus)
                }
            }
        }
        if expressions.isEmpty {
            if parameters.has("ExpressionAttributeNames") {
                throw DynamoDBError.validation("ExpressionAttributeNames can only be specified when using expressions")
            }
            if parameters.has("ExpressionAttributeValues") {
                throw DynamoDBError.validation("ExpressionAttributeValues can only be specified when using expressions")
            }
        }
        if parameters.has("ExpressionAttributeNames"), names.isEmpty {
            throw DynamoDBError.validation("ExpressionAttributeNames must not be empty")
        }
        if parameters.has("ExpressionAttributeValues"), values.isEmpty {
            throw DynamoDBError.validation("ExpressionAttributeValues must not be empty")
        }
        try checkSubstitutionSize(names: names, values: values)
        return ExpressionAttributes(names: names, values: values)
    }

    /// Developer guide, "Constraints › Expression parameters": a single expression attribute
    /// name or value placeholder is at most 255 bytes. The text is DynamoDB's as DAX's request
    /// validator and conformance suites give it.
    static let maxPlaceholderBytes = 255
    /// The same page: "The maximum length of all substitution variables in an expression is
    /// 2 MB", the sum over ExpressionAttributeNames and ExpressionAttributeValues.
    static let maxSubstitutionBytes = 2 * 1024 * 1024

    static func checkPlaceholderLength(_ key: String, map: String) throws(DynamoDBError) {
        let size = key.utf8.count
        guard size > maxPlaceholderBytes else { return }
        throw DynamoDBError.validation("\(map) contains invalid key: The expression attribute map contains a key that is too long; size of key: \(size)")
    }

    /// Counts each placeholder's bytes plus what it stands for: a name's bytes, a value's size as
    /// DynamoDB counts item sizes. Messages follow DAX's validator, DynamoDB's own client.
    static func checkSubstitutionSize(names: [String: String], values: [String: AttributeValue]) throws(DynamoDBError) {
        let namesSize = names.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if namesSize > maxSubstitutionBytes {
            throw DynamoDBError.validation("ExpressionAttributeNames exceeds max size")
        }
        let valuesSize = values.reduce(0) { $0 + $1.key.utf8.count + ItemSize.of($1.value) }
        if valuesSize > maxSubstitutionBytes {
            throw DynamoDBError.validation("ExpressionAttributeValues exceeds max size")
        }
        if namesSize + valuesSize > maxSubstitutionBytes {
            throw DynamoDBError.validation("Combined size of ExpressionAttributeNames and ExpressionAttributeValues exceeds max size")
        }
    }

    /// `#name` / `:value`: the sigil, then one or more of [A-Za-z0-9_].
    static func isPlaceholder(_ key: String, sigil: UInt8) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count > 1, bytes[0] == sigil else { return false }
        return bytes.dropFirst().allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }
    }

    /// After every expression of the request is parsed: no placeholder may go unused.
    static func finishExpressionAttributes(_ parameters: RequestParameters, _ attributes: ExpressionAttributes) throws(DynamoDBError) {
        try attributes.checkAllUsed()
    }

    /// ProjectionExpression or AttributesToGet (never both), resolved to document paths.
    static func projection(_ parameters: RequestParameters, attributes: inout ExpressionAttributes) throws(DynamoDBError) -> [DocumentPath]? {
        if let expression = try parameters.string("ProjectionExpression") {
            var parser = ProjectionExpressionParser(expression, names: attributes.names)
            let paths = try parser.parse()
            attributes.markNamesUsed(parser.usedNames)
            return paths
        }
        guard let attributesToGet = try parameters.array("AttributesToGet") else { return nil }
        var names: [String] = []
        for element in attributesToGet {
            guard case .string(let name) = element else {
                throw DynamoDBError.serialization(element.mismatchMessage(expecting: .string))
            }
            names.append(name)
        }
        if names.isEmpty {
            throw DynamoDBError.validation("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1")
        }
        var seen = Set<[UInt8]>()
        for name in names where !seen.insert(Array(name.utf8)).inserted {
            throw DynamoDBError.validation("One or more parameter values were invalid: Duplicate value in attribute name: \(name)")
        }
        return names.map { DocumentPath([.name($0)]) }
    }

    /// ConditionExpression, or the legacy Expected with ConditionalOperator.
    static func writeCondition(_ parameters: RequestParameters, attributes: inout ExpressionAttributes) throws(DynamoDBError) -> Condition? {
        if let text = try parameters.string("ConditionExpression") {
            return try ConditionParser.parse(text, kind: "ConditionExpression", attributes: &attributes)
        }
        guard let expected = try parameters.object("Expected")?.objectMembers else {
            if parameters.has("ConditionalOperator") {
                throw DynamoDBError.validation("ConditionalOperator can only be used when Filter or Expected has two or more elements")
            }
            return nil
        }
        return try LegacyConditions.expected(expected, conditionalOperator: try parameters.string("ConditionalOperator"))
    }

    /// FilterExpression, or the legacy QueryFilter / ScanFilter with ConditionalOperator.
    /// A Query filter may not name key attributes (DynamoDB: filter after the key condition).
    static func filter(_ parameters: RequestParameters, kind legacyName: String, attributes: inout ExpressionAttributes, table: TableDefinition, isQuery: Bool) throws(DynamoDBError) -> Condition? {
        if let text = try parameters.string("FilterExpression") {
            let condition = try ConditionParser.parse(text, kind: "FilterExpression", attributes: &attributes)
            if isQuery, let keyName = table.keyAttributes.map(\.name).first(where: { condition.references(topLevel: $0) }) {
                throw DynamoDBError.validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: \(keyName)")
            }
            return condition
        }
        guard let filter = try parameters.object(legacyName)?.objectMembers else {
            if parameters.has("ConditionalOperator") {
                throw DynamoDBError.validation("ConditionalOperator can only be used when Filter or Expected has two or more elements")
            }
            return nil
        }
        if isQuery, let keyName = table.keyAttributes.map(\.name).first(where: { name in filter.contains { $0.0 == name } }) {
            throw DynamoDBError.validation("QueryFilter can only contain non-primary key attributes: Primary key attribute: \(keyName)")
        }
        return try LegacyConditions.filter(filter, conditionalOperator: try parameters.string("ConditionalOperator"))
    }

    /// KeyConditionExpression, or the legacy KeyConditions.
    static func keyCondition(_ parameters: RequestParameters, table: TableDefinition, attributes: inout ExpressionAttributes) throws(DynamoDBError) -> KeyCondition {
        if let text = try parameters.string("KeyConditionExpression") {
            return try KeyConditionParser.parse(text, partitionKey: table.partitionKey, sortKey: table.sortKey, attributes: &attributes)
        }
        guard let conditions = try parameters.object("KeyConditions")?.objectMembers else {
            throw DynamoDBError.validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        }
        return try LegacyConditions.keyConditions(conditions, table: table)
    }
}

extension Condition {
    /// Whether the condition reads the top-level attribute `name` anywhere.
    func references(topLevel name: String) -> Bool {
        func path(_ p: DocumentPath) -> Bool { p.elements.first == .name(name) }
        func operand(_ o: Operand) -> Bool {
            switch o {
            case .path(let p), .size(let p): return path(p)
            case .value: return false
            }
        }
        switch self {
        case .compare(let a, _, let b), .beginsWith(let a, let b), .contains(let a, let b): return operand(a) || operand(b)
        case .between(let a, let b, let c): return operand(a) || operand(b) || operand(c)
        case .isIn(let a, let list): return operand(a) || list.contains(where: operand)
        case .and(let a, let b), .or(let a, let b): return a.references(topLevel: name) || b.references(topLevel: name)
        case .not(let inner): return inner.references(topLevel: name)
        case .attributeExists(let p), .attributeNotExists(let p), .attributeType(let p, _): return path(p)
        }
    }
}
