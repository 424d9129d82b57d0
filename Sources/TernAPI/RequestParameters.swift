import TernCore

/// Typed access to the members of a request's JSON object, with DynamoDB's errors:
/// a member of the wrong JSON type is a SerializationException worded as DynamoDB words it
/// (`JSON.mismatchMessage`); a value outside its constraint
/// is collected as a "N validation errors detected" ValidationException.
struct RequestParameters {
    let json: JSON
    var constraintErrors: [String] = []

    init(_ json: JSON) throws(DynamoDBError) {
        // The request itself is a structure: an array or scalar in its place is DynamoDB's
        // "Start of list found where not expected" / "Expected null".
        guard case .object = json else {
            throw DynamoDBError.serialization(json.mismatchMessage(expecting: .structure))
        }
        self.json = json
    }

    /// Request members whose model type is a map (every other object-valued member is a
    /// structure); the two get different SerializationException messages.
    static let mapMembers: Set<String> = [
        "Key", "Item", "ExclusiveStartKey", "ExpressionAttributeNames", "ExpressionAttributeValues",
        "RequestItems", "Expected", "KeyConditions", "QueryFilter", "ScanFilter", "AttributeUpdates",
    ]

    /// Integer members whose model type is a 64-bit Long (the rest are 32-bit Integers).
    static let longMembers: Set<String> = ["ReadCapacityUnits", "WriteCapacityUnits"]

    func has(_ name: String) -> Bool {
        if let value = json[name], value != .null { return true }
        return false
    }

    func value(_ name: String) -> JSON? {
        guard let value = json[name], value != .null else { return nil }
        return value
    }

    func string(_ name: String) throws(DynamoDBError) -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else {
            throw DynamoDBError.serialization(value.mismatchMessage(expecting: .string))
        }
        return text
    }

    func bool(_ name: String) throws(DynamoDBError) -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let flag) = value else {
            throw DynamoDBError.serialization(value.mismatchMessage(expecting: .boolean))
        }
        return flag
    }

    func integer(_ name: String) throws(DynamoDBError) -> Int64? {
        guard let value = value(name) else { return nil }
        return try RequestParameters.integer(value, name: name)
    }

    static func integer(_ value: JSON, name: String) throws(DynamoDBError) -> Int64 {
        guard case .number(let text) = value else {
            throw DynamoDBError.serialization(value.mismatchMessage(expecting: longMembers.contains(name) ? .long : .integer))
        }
        if let exact = Int64(text) { return exact }
        // Fractions are truncated as the Java SDK-based service does; out-of-range values saturate.
        if let number = try? DynamoNumber(parsing: text) {
            if number.exponent > 18 { return number.isNegative ? Int64.min : Int64.max }
            let integerDigits = number.digits.prefix(max(0, number.exponent))
            var result: Int64 = 0
            for d in integerDigits { result = result * 10 + Int64(d) }
            for _ in 0..<max(0, number.exponent - integerDigits.count) { result *= 10 }
            return number.isNegative ? -result : result
        }
        throw DynamoDBError.serialization("Unexpected value in payload: \(name) is not an integer: \(text)")
    }

    func object(_ name: String) throws(DynamoDBError) -> JSON? {
        guard let value = value(name) else { return nil }
        guard case .object = value else {
            throw DynamoDBError.serialization(value.mismatchMessage(expecting: RequestParameters.mapMembers.contains(name) ? .map : .structure))
        }
        return value
    }

    func array(_ name: String) throws(DynamoDBError) -> [JSON]? {
        guard let value = value(name) else { return nil }
        guard case .array(let elements) = value else {
            throw DynamoDBError.serialization(value.mismatchMessage(expecting: .list))
        }
        return elements
    }

    func stringMap(_ name: String) throws(DynamoDBError) -> [String: String]? {
        guard let members = try object(name)?.objectMembers else { return nil }
        var map: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else {
                throw DynamoDBError.serialization(value.mismatchMessage(expecting: .string))
            }
            map[key] = text
        }
        return map
    }

    func attributeMap(_ name: String) throws(DynamoDBError) -> Item? {
        guard let value = try object(name) else { return nil }
        return try Item(json: value)
    }

    // MARK: Constraints

    static func lowerFirst(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }

    /// Records "Value 'v' at 'path' failed to satisfy constraint: message".
    mutating func violation(_ path: String, value: String?, _ message: String) {
        let shown = value.map { "'\($0)'" } ?? "null"
        constraintErrors.append("Value \(shown) at '\(path)' failed to satisfy constraint: \(message)")
    }

    /// Collects the standard TableName constraints (present, 3-255 characters, [a-zA-Z0-9_.-]+).
    mutating func tableName(_ name: String = "TableName", path: String? = nil) throws(DynamoDBError) -> String {
        let path = path ?? RequestParameters.lowerFirst(name)
        guard let tableName = try string(name) else {
            violation(path, value: nil, "Member must not be null")
            return ""
        }
        checkTableName(tableName, path: path)
        return tableName
    }

    mutating func checkTableName(_ tableName: String, path: String) {
        if !tableName.utf8.allSatisfy(RequestParameters.isTableNameByte) {
            violation(path, value: tableName, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        }
        let length = tableName.count
        if length < 3 {
            violation(path, value: tableName, "Member must have length greater than or equal to 3")
        }
        if length > 255 {
            violation(path, value: tableName, "Member must have length less than or equal to 255")
        }
    }

    static func isTableNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// An enum-valued string member; records a violation when the value is not allowed.
    mutating func enumeration(_ name: String, _ allowed: [String], path: String? = nil) throws(DynamoDBError) -> String? {
        guard let value = try string(name) else { return nil }
        if !allowed.contains(value) {
            violation(path ?? RequestParameters.lowerFirst(name), value: value, "Member must satisfy enum value set: [\(allowed.joined(separator: ", "))]")
        }
        return value
    }

    /// Throws the collected constraint violations, if any, as DynamoDB does.
    func throwViolations() throws(DynamoDBError) {
        guard !constraintErrors.isEmpty else { return }
        let shown = constraintErrors.prefix(10)
        let count = constraintErrors.count
        let noun = count == 1 ? "error" : "errors"
        throw DynamoDBError.validation("\(count) validation \(noun) detected: \(shown.joined(separator: "; "))")
    }
}
