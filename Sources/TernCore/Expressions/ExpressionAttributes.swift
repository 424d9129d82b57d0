/// Placeholder tables for one request (ExpressionAttributeNames and ExpressionAttributeValues);
/// records which placeholders the request's expressions used, so unused ones can be refused.
public struct ExpressionAttributes: Sendable {
    public let names: [String: String]
    public let values: [String: AttributeValue]
    public private(set) var usedNames: Set<String> = []
    public private(set) var usedValues: Set<String> = []

    public init(names: [String: String], values: [String: AttributeValue]) {
        self.names = names
        self.values = values
    }

    /// The name a `#placeholder` stands for, marking it used; nil when undefined.
    mutating func resolveName(_ placeholder: String) -> String? {
        guard let name = names[placeholder] else { return nil }
        usedNames.insert(placeholder)
        return name
    }

    /// The value a `:placeholder` stands for, marking it used; nil when undefined.
    mutating func resolveValue(_ placeholder: String) -> AttributeValue? {
        guard let value = values[placeholder] else { return nil }
        usedValues.insert(placeholder)
        return value
    }

    /// Records placeholders used by another parser (such as ProjectionExpressionParser).
    public mutating func markNamesUsed<S: Sequence>(_ placeholders: S) where S.Element == String {
        for placeholder in placeholders where names[placeholder] != nil { usedNames.insert(placeholder) }
    }

    /// DynamoDB's errors for placeholders that no expression used, names first; keys sorted.
    public func checkAllUsed() throws(DynamoDBError) {
        let unusedNames = names.keys.filter { !usedNames.contains($0) }
        if !unusedNames.isEmpty {
            throw DynamoDBError.validation(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {\(Self.sortedList(unusedNames))}")
        }
        let unusedValues = values.keys.filter { !usedValues.contains($0) }
        if !unusedValues.isEmpty {
            throw DynamoDBError.validation(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {\(Self.sortedList(unusedValues))}")
        }
    }

    static func sortedList(_ keys: [String]) -> String {
        keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: ", ")
    }
}
