/// A Query's KeyConditionExpression, validated against the key schema.
public struct KeyCondition: Sendable, Equatable {
    public enum SortCondition: Sendable, Equatable {
        case equal(AttributeValue)
        case less(AttributeValue)
        case lessOrEqual(AttributeValue)
        case greater(AttributeValue)
        case greaterOrEqual(AttributeValue)
        case between(AttributeValue, AttributeValue)
        case beginsWith(AttributeValue)

        /// Whether a sort key value satisfies the condition (same-type ordering as DynamoDB's).
        public func matches(_ value: AttributeValue) -> Bool {
            func order(_ bound: AttributeValue) -> ConditionEvaluator.Order? { ConditionEvaluator.order(value, bound) }
            switch self {
            case .equal(let v): return order(v) == .equal
            case .less(let v): return order(v) == .less
            case .lessOrEqual(let v): return order(v).map { $0 != .greater } ?? false
            case .greater(let v): return order(v) == .greater
            case .greaterOrEqual(let v): return order(v).map { $0 != .less } ?? false
            case .between(let low, let high):
                guard let a = order(low), let b = order(high) else { return false }
                return a != .less && b != .greater
            case .beginsWith(let prefix):
                switch (value, prefix) {
                case (.s(let s), .s(let p)): return s.utf8.starts(with: p.utf8)
                case (.b(let b), .b(let p)): return b.starts(with: p)
                default: return false
                }
            }
        }
    }

    public var partitionKeyName: String
    public var partitionKeyValue: AttributeValue
    public var sortKeyName: String?
    public var sortCondition: SortCondition?

    public init(partitionKeyName: String, partitionKeyValue: AttributeValue, sortKeyName: String? = nil, sortCondition: SortCondition? = nil) {
        self.partitionKeyName = partitionKeyName
        self.partitionKeyValue = partitionKeyValue
        self.sortKeyName = sortKeyName
        self.sortCondition = sortCondition
    }
}

public enum KeyConditionParser {
    static let kind = "KeyConditionExpression"

    /// Parses and validates against the table's (or index's) key attributes.
    public static func parse(
        _ text: String, partitionKey: KeyAttribute, sortKey: KeyAttribute?, attributes: inout ExpressionAttributes
    ) throws(DynamoDBError) -> KeyCondition {
        let condition = try ConditionParser.parse(text, kind: kind, attributes: &attributes)
        var parts: [Condition] = []
        flattenAnd(condition, into: &parts)

        var partition: (Comparator, AttributeValue)? = nil
        var sort: KeyCondition.SortCondition? = nil
        var others: [String] = []
        for part in parts {
            let (name, shape) = try keyPart(part)
            if name == partitionKey.name {
                if partition != nil { throw DynamoDBError.validation("KeyConditionExpressions must only contain one condition per key") }
                guard case .compare(let comparator, let value) = shape else {
                    throw DynamoDBError.validation("Query key condition not supported")
                }
                partition = (comparator, value)
            } else if let sortKey, name == sortKey.name {
                if sort != nil { throw DynamoDBError.validation("KeyConditionExpressions must only contain one condition per key") }
                sort = try sortCondition(shape)
            } else {
                others.append(name)
            }
        }
        guard let (comparator, partitionValue) = partition else {
            throw DynamoDBError.validation("Query condition missed key schema element: \(partitionKey.name)")
        }
        guard comparator == .equal else { throw DynamoDBError.validation("Query key condition not supported") }
        if !others.isEmpty {
            if let sortKey { throw DynamoDBError.validation("Query condition missed key schema element: \(sortKey.name)") }
            throw DynamoDBError.validation("Query key condition not supported")
        }
        var values = [partitionValue]
        switch sort {
        case .equal(let v)?, .less(let v)?, .lessOrEqual(let v)?, .greater(let v)?, .greaterOrEqual(let v)?, .beginsWith(let v)?:
            values.append(v)
        case .between(let a, let b)?:
            values.append(a)
            values.append(b)
        case nil:
            break
        }
        if !partitionKey.type.matches(partitionValue)
            || (sort != nil && !values.dropFirst().allSatisfy { sortKey?.type.matches($0) ?? false })
        {
            throw DynamoDBError.validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
        }
        return KeyCondition(
            partitionKeyName: partitionKey.name, partitionKeyValue: partitionValue,
            sortKeyName: sort == nil ? nil : sortKey?.name, sortCondition: sort)
    }

    static func flattenAnd(_ condition: Condition, into parts: inout [Condition]) {
        if case .and(let l, let r) = condition {
            flattenAnd(l, into: &parts)
            flattenAnd(r, into: &parts)
        } else {
            parts.append(condition)
        }
    }

    enum Shape {
        case compare(Comparator, AttributeValue)
        case between(AttributeValue, AttributeValue)
        case beginsWith(AttributeValue)
    }

    static func invalidOperator(_ name: String) -> DynamoDBError {
        DynamoDBError.validation("Invalid \(kind): Invalid operator used in KeyConditionExpression: \(name)")
    }

    /// The key attribute a condition constrains and how; refuses what key conditions cannot express.
    static func keyPart(_ condition: Condition) throws(DynamoDBError) -> (String, Shape) {
        switch condition {
        case .or: throw invalidOperator("OR")
        case .not: throw invalidOperator("NOT")
        case .and: throw invalidOperator("AND")
        case .isIn: throw invalidOperator("IN")
        case .attributeExists: throw invalidOperator("attribute_exists")
        case .attributeNotExists: throw invalidOperator("attribute_not_exists")
        case .attributeType: throw invalidOperator("attribute_type")
        case .contains: throw invalidOperator("contains")
        case .compare(let l, let comparator, let r):
            if comparator == .notEqual { throw invalidOperator("<>") }
            switch (l, r) {
            case (.path(let path), .value(let value)):
                return (try keyName(path), .compare(comparator, value))
            case (.value(let value), .path(let path)):
                return (try keyName(path), .compare(comparator.mirrored, value))
            case (.size, _), (_, .size):
                throw invalidOperator("size")
            case (.path, .path):
                throw DynamoDBError.validation("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
            case (.value, .value):
                throw DynamoDBError.validation("Invalid condition in KeyConditionExpression: No key attribute specified")
            }
        case .between(let x, let lo, let hi):
            guard case .path(let path) = x, case .value(let low) = lo, case .value(let high) = hi else {
                throw DynamoDBError.validation("Query key condition not supported")
            }
            return (try keyName(path), .between(low, high))
        case .beginsWith(let a, let b):
            guard case .path(let path) = a, case .value(let prefix) = b else {
                throw DynamoDBError.validation("Query key condition not supported")
            }
            return (try keyName(path), .beginsWith(prefix))
        }
    }

    static func keyName(_ path: DocumentPath) throws(DynamoDBError) -> String {
        guard path.elements.count == 1, case .name(let name) = path.elements[0] else {
            throw DynamoDBError.validation("KeyConditionExpressions cannot have conditions on nested attributes")
        }
        return name
    }

    static func sortCondition(_ shape: Shape) throws(DynamoDBError) -> KeyCondition.SortCondition {
        switch shape {
        case .compare(let comparator, let value):
            switch comparator {
            case .equal: return .equal(value)
            case .less: return .less(value)
            case .lessOrEqual: return .lessOrEqual(value)
            case .greater: return .greater(value)
            case .greaterOrEqual: return .greaterOrEqual(value)
            case .notEqual: throw invalidOperator("<>")
            }
        case .between(let a, let b):
            return .between(a, b)
        case .beginsWith(let prefix):
            return .beginsWith(prefix)
        }
    }
}
