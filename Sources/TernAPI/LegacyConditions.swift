import TernCore

/// The legacy (pre-expression) condition parameters — Expected, QueryFilter, ScanFilter,
/// KeyConditions — translated into the same AST that expressions parse to, so one evaluator
/// serves both. Messages follow DynamoDB's.
enum LegacyConditions {
    static let operators = ["EQ", "NE", "LE", "LT", "GE", "GT", "NOT_NULL", "NULL", "CONTAINS", "NOT_CONTAINS", "BEGINS_WITH", "IN", "BETWEEN"]

    static func invalid(_ message: String) -> DynamoDBError {
        DynamoDBError.validation("One or more parameter values were invalid: \(message)")
    }

    /// Expected: `{attr: {Value, Exists}}` or `{attr: {ComparisonOperator, AttributeValueList}}`.
    static func expected(_ members: [(String, JSON)], conditionalOperator: String?) throws(DynamoDBError) -> Condition? {
        var conditions: [Condition] = []
        for (name, json) in members {
            let entry = try RequestParameters(json)
            if entry.has("ComparisonOperator") {
                if entry.has("Exists") {
                    throw invalid("Exists and ComparisonOperator cannot be used together for Attribute: \(name)")
                }
                if entry.has("Value"), entry.has("AttributeValueList") {
                    throw invalid("Value and AttributeValueList cannot be used together for Attribute: \(name)")
                }
                conditions.append(try comparison(name: name, entry))
                continue
            }
            if entry.has("AttributeValueList") {
                throw invalid("AttributeValueList can only be used with a ComparisonOperator for Attribute: \(name)")
            }
            let exists = try entry.bool("Exists")
            let value = try entry.object("Value").map { (json) throws(DynamoDBError) in try AttributeValue(json: json) }
            let path = DocumentPath([.name(name)])
            switch (exists ?? true, value) {
            case (true, .some(let value)):
                conditions.append(.compare(.path(path), .equal, .value(value)))
            case (true, nil):
                throw invalid("Value must be provided when Exists is \(exists == nil ? "null" : "true") for Attribute: \(name)")
            case (false, .some):
                throw invalid("Value cannot be used when Exists is false for Attribute: \(name)")
            case (false, nil):
                conditions.append(.attributeNotExists(path))
            }
        }
        return try combine(conditions, conditionalOperator)
    }

    /// QueryFilter / ScanFilter: `{attr: {ComparisonOperator, AttributeValueList}}`.
    static func filter(_ members: [(String, JSON)], conditionalOperator: String?) throws(DynamoDBError) -> Condition? {
        var conditions: [Condition] = []
        for (name, json) in members {
            conditions.append(try comparison(name: name, try RequestParameters(json)))
        }
        return try combine(conditions, conditionalOperator)
    }

    static func combine(_ conditions: [Condition], _ conditionalOperator: String?) throws(DynamoDBError) -> Condition? {
        let useOr: Bool
        switch conditionalOperator {
        case nil, "AND": useOr = false
        case "OR": useOr = true
        case .some(let other):
            throw DynamoDBError.validation("1 validation error detected: Value '\(other)' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [OR, AND]")
        }
        guard var result = conditions.first else { return nil }
        for condition in conditions.dropFirst() {
            result = useOr ? .or(result, condition) : .and(result, condition)
        }
        return result
    }

    static func values(_ entry: RequestParameters) throws(DynamoDBError) -> [AttributeValue] {
        if let list = try entry.array("AttributeValueList") {
            var values: [AttributeValue] = []
            for json in list { values.append(try AttributeValue(json: json)) }
            return values
        }
        if let value = try entry.object("Value") { return [try AttributeValue(json: value)] }
        return []
    }

    static func isScalar(_ value: AttributeValue) -> Bool {
        switch value {
        case .s, .n, .b: return true
        default: return false
        }
    }

    /// DynamoDB refuses an AttributeValueList that mixes types (IN, BETWEEN) and a BETWEEN whose
    /// lower bound sorts after its upper bound, rather than letting the condition be false
    /// (dynalite and DynamoDB Local, both written against DynamoDB's answers, give these texts).
    static func checkValueList(_ values: [AttributeValue], op: String) throws(DynamoDBError) {
        if let first = values.first, values.contains(where: { $0.typeName != first.typeName }) {
            throw invalid("AttributeValues inside AttributeValueList must be of same type")
        }
        if op == "BETWEEN", values.count == 2, values[0].sortsAfter(values[1]) {
            throw DynamoDBError.validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
        }
    }

    /// One `{ComparisonOperator, AttributeValueList}` on a top-level attribute.
    static func comparison(name: String, _ entry: RequestParameters) throws(DynamoDBError) -> Condition {
        guard let op = try entry.string("ComparisonOperator") else {
            throw DynamoDBError.validation("1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: Member must not be null")
        }
        guard operators.contains(op) else {
            throw DynamoDBError.validation("1 validation error detected: Value '\(op)' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [\(operators.joined(separator: ", "))]")
        }
        let values = try values(entry)
        let expectedCount: ClosedRange<Int>
        switch op {
        case "NOT_NULL", "NULL": expectedCount = 0...0
        case "IN": expectedCount = 1...100
        case "BETWEEN": expectedCount = 2...2
        default: expectedCount = 1...1
        }
        guard expectedCount.contains(values.count) else {
            throw invalid("Invalid number of argument(s) for the \(op) ComparisonOperator")
        }
        if ["LE", "LT", "GE", "GT", "BETWEEN", "BEGINS_WITH", "IN"].contains(op), let bad = values.first(where: { !isScalar($0) }) {
            throw invalid("ComparisonOperator \(op) is not valid for \(bad.typeName) AttributeValue type")
        }
        if op == "BEGINS_WITH", case .n = values[0] {
            throw invalid("ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type")
        }
        if ["CONTAINS", "NOT_CONTAINS"].contains(op), !isScalar(values[0]) {
            throw invalid("ComparisonOperator \(op) is not valid for \(values[0].typeName) AttributeValue type")
        }
        try checkValueList(values, op: op)
        let path = Operand.path(DocumentPath([.name(name)]))
        switch op {
        case "EQ": return .compare(path, .equal, .value(values[0]))
        case "NE": return .compare(path, .notEqual, .value(values[0]))
        case "LE": return .compare(path, .lessOrEqual, .value(values[0]))
        case "LT": return .compare(path, .less, .value(values[0]))
        case "GE": return .compare(path, .greaterOrEqual, .value(values[0]))
        case "GT": return .compare(path, .greater, .value(values[0]))
        case "NOT_NULL": return .attributeExists(DocumentPath([.name(name)]))
        case "NULL": return .attributeNotExists(DocumentPath([.name(name)]))
        case "CONTAINS": return .contains(path, .value(values[0]))
        case "NOT_CONTAINS": return .and(.attributeExists(DocumentPath([.name(name)])), .not(.contains(path, .value(values[0]))))
        case "BEGINS_WITH": return .beginsWith(path, .value(values[0]))
        case "IN": return .isIn(path, values.map { .value($0) })
        default: return .between(path, .value(values[0]), .value(values[1]))
        }
    }

    /// KeyConditions: EQ on the partition key, and at most one supported operator on the sort key.
    static func keyConditions(_ members: [(String, JSON)], table: TableDefinition) throws(DynamoDBError) -> KeyCondition {
        var partition: AttributeValue?
        var sortCondition: KeyCondition.SortCondition?
        for (name, json) in members {
            let entry = try RequestParameters(json)
            guard let op = try entry.string("ComparisonOperator") else {
                throw DynamoDBError.validation("1 validation error detected: Value null at 'keyConditions.\(name).member.comparisonOperator' failed to satisfy constraint: Member must not be null")
            }
            let values = try values(entry)
            let attribute: KeyAttribute
            if name == table.partitionKey.name {
                attribute = table.partitionKey
            } else if let sortKey = table.sortKey, name == sortKey.name {
                attribute = sortKey
            } else {
                throw DynamoDBError.validation("Query condition missed key schema element: \(table.sortKey?.name ?? table.partitionKey.name)")
            }
            let count = op == "BETWEEN" ? 2 : 1
            guard values.count == count else { throw invalid("Invalid number of argument(s) for the \(op) ComparisonOperator") }
            try checkValueList(values, op: op)
            for value in values where value.typeName != attribute.type.rawValue {
                throw invalid("Condition parameter type does not match schema type")
            }
            if attribute.name == table.partitionKey.name {
                guard op == "EQ" else { throw DynamoDBError.validation("Query key condition not supported") }
                partition = values[0]
                continue
            }
            switch op {
            case "EQ": sortCondition = .equal(values[0])
            case "LT": sortCondition = .less(values[0])
            case "LE": sortCondition = .lessOrEqual(values[0])
            case "GT": sortCondition = .greater(values[0])
            case "GE": sortCondition = .greaterOrEqual(values[0])
            case "BETWEEN": sortCondition = .between(values[0], values[1])
            case "BEGINS_WITH" where attribute.type != .number: sortCondition = .beginsWith(values[0])
            default: throw DynamoDBError.validation("Query key condition not supported")
            }
        }
        guard let partition else {
            throw DynamoDBError.validation("Query condition missed key schema element: \(table.partitionKey.name)")
        }
        return KeyCondition(
            partitionKeyName: table.partitionKey.name, partitionKeyValue: partition,
            sortKeyName: sortCondition == nil ? nil : table.sortKey?.name, sortCondition: sortCondition
        )
    }
}
