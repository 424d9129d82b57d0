// DynamoDB's JSON form of attribute values: {"S": "text"}, {"N": "12.5"}, {"M": {...}}, …

extension AttributeValue {
    /// The deepest nesting of maps and lists DynamoDB accepts.
    public static let maxNestingDepth = 32

    /// Decodes and validates one attribute value as DynamoDB does.
    public init(json: JSON) throws(DynamoDBError) {
        try self.init(json: json, depth: 0)
    }

    init(json: JSON, depth: Int) throws(DynamoDBError) {
        guard case .object(let members) = json else {
            throw DynamoDBError.serialization(json.mismatchMessage(expecting: .structure))
        }
        var decoded: AttributeValue? = nil
        var typeCount = 0
        for (type, payload) in members {
            if case .null = payload { continue }
            typeCount += 1
            decoded = try AttributeValue.decode(type: type, payload: payload, depth: depth)
        }
        if typeCount == 0 {
            throw DynamoDBError.validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
        }
        if typeCount > 1 {
            throw DynamoDBError.validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
        }
        self = decoded!
    }

    static func expectString(_ payload: JSON, type: String) throws(DynamoDBError) -> String {
        guard case .string(let text) = payload else {
            throw DynamoDBError.serialization(payload.mismatchMessage(expecting: type == "B" || type == "BS" ? .blob : .string))
        }
        return text
    }

    static func expectList(_ payload: JSON, type: String) throws(DynamoDBError) -> [JSON] {
        guard case .array(let elements) = payload else {
            throw DynamoDBError.serialization(payload.mismatchMessage(expecting: .list))
        }
        return elements
    }

    static func decodeBinary(_ payload: JSON, type: String) throws(DynamoDBError) -> [UInt8] {
        let text = try expectString(payload, type: type)
        guard let bytes = Base64.decode(text) else {
            throw DynamoDBError.serialization("Base64 encoded length is expected a multiple of 4 bytes or contains invalid characters: '\(text.prefix(64))'")
        }
        return bytes
    }

    static func decode(type: String, payload: JSON, depth: Int) throws(DynamoDBError) -> AttributeValue {
        switch type {
        case "S":
            return .s(try expectString(payload, type: type))
        case "N":
            return .n(try DynamoNumber(parsing: try expectString(payload, type: type)))
        case "B":
            return .b(try decodeBinary(payload, type: type))
        case "BOOL":
            guard case .bool(let flag) = payload else {
                throw DynamoDBError.serialization(payload.mismatchMessage(expecting: .boolean))
            }
            return .bool(flag)
        case "NULL":
            guard case .bool(true) = payload else {
                throw DynamoDBError.validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
            }
            return .null
        case "M":
            return .m(try decodeMap(payload, depth: depth + 1))
        case "L":
            return .l(try decodeList(payload, depth: depth + 1))
        case "SS":
            return .ss(try decodeStringSet(payload))
        case "NS":
            return .ns(try decodeNumberSet(payload))
        case "BS":
            return .bs(try decodeBinarySet(payload))
        default:
            throw DynamoDBError.serialization("Unknown AttributeValue data type: \(type)")
        }
    }

    static func checkDepth(_ depth: Int) throws(DynamoDBError) {
        if depth > maxNestingDepth {
            throw DynamoDBError.validation("Nesting Levels have exceeded supported limits")
        }
    }

    static func decodeMap(_ payload: JSON, depth: Int) throws(DynamoDBError) -> AttributeMap {
        try checkDepth(depth)
        guard case .object(let members) = payload else {
            throw DynamoDBError.serialization(payload.mismatchMessage(expecting: .map))
        }
        var map = AttributeMap()
        for (name, value) in members {
            map[name] = try AttributeValue(json: value, depth: depth)
        }
        return map
    }

    static func decodeList(_ payload: JSON, depth: Int) throws(DynamoDBError) -> [AttributeValue] {
        try checkDepth(depth)
        let elements = try expectList(payload, type: "L")
        var values: [AttributeValue] = []
        values.reserveCapacity(elements.count)
        for element in elements {
            values.append(try AttributeValue(json: element, depth: depth))
        }
        return values
    }

    static func emptySet() -> DynamoDBError {
        DynamoDBError.validation("One or more parameter values were invalid: An AttributeValue may not contain an empty set.")
    }

    static func decodeStringSet(_ payload: JSON) throws(DynamoDBError) -> [String] {
        let elements = try expectList(payload, type: "SS")
        if elements.isEmpty { throw emptySet() }
        var strings: [String] = []
        // Members are compared byte-wise, as DynamoDB does (not by Unicode equivalence).
        var seen = Set<[UInt8]>()
        for element in elements {
            let text = try expectString(element, type: "SS")
            strings.append(text)
            seen.insert(Array(text.utf8))
        }
        if seen.count != strings.count {
            throw DynamoDBError.validation("One or more parameter values were invalid: Input collection [\(strings.joined(separator: ", "))] contains duplicates.")
        }
        return strings
    }

    static func decodeNumberSet(_ payload: JSON) throws(DynamoDBError) -> [DynamoNumber] {
        let elements = try expectList(payload, type: "NS")
        if elements.isEmpty { throw emptySet() }
        var numbers: [DynamoNumber] = []
        var seen = Set<DynamoNumber>()
        for element in elements {
            let number = try DynamoNumber(parsing: try expectString(element, type: "NS"))
            numbers.append(number)
            seen.insert(number)
        }
        if seen.count != numbers.count {
            throw DynamoDBError.validation("Input collection contains duplicates")
        }
        return numbers
    }

    static func decodeBinarySet(_ payload: JSON) throws(DynamoDBError) -> [[UInt8]] {
        let elements = try expectList(payload, type: "BS")
        if elements.isEmpty { throw emptySet() }
        var blobs: [[UInt8]] = []
        var seen = Set<[UInt8]>()
        for element in elements {
            let blob = try decodeBinary(element, type: "BS")
            blobs.append(blob)
            seen.insert(blob)
        }
        if seen.count != blobs.count {
            throw DynamoDBError.validation("One or more parameter values were invalid: Input collection contains duplicates of type BS.")
        }
        return blobs
    }
}

extension AttributeMap {
    /// Decodes a JSON object of attribute values (an Item, a Key, ExpressionAttributeValues).
    public init(json: JSON) throws(DynamoDBError) {
        guard case .object(let members) = json else {
            throw DynamoDBError.serialization(json.mismatchMessage(expecting: .map))
        }
        self.init()
        for (name, value) in members {
            self[name] = try AttributeValue(json: value, depth: 0)
        }
    }
}

// MARK: - Writing

extension JSONWriter {
    public mutating func attributeValue(_ value: AttributeValue) {
        bytes.append(UInt8(ascii: "{"))
        switch value {
        case .s(let text):
            raw("\"S\":")
            string(text)
        case .n(let number):
            raw("\"N\":")
            string(number.description)
        case .b(let blob):
            raw("\"B\":")
            string(Base64.encode(blob))
        case .bool(let flag):
            raw("\"BOOL\":")
            if flag { raw("true") } else { raw("false") }
        case .null:
            raw("\"NULL\":true")
        case .m(let map):
            raw("\"M\":")
            attributeMap(map)
        case .l(let list):
            raw("\"L\":[")
            for (i, element) in list.enumerated() {
                if i > 0 { comma() }
                attributeValue(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .ss(let strings):
            raw("\"SS\":")
            stringArray(strings)
        case .ns(let numbers):
            raw("\"NS\":")
            stringArray(numbers.map(\.description))
        case .bs(let blobs):
            raw("\"BS\":")
            stringArray(blobs.map(Base64.encode))
        }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func stringArray(_ strings: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (i, text) in strings.enumerated() {
            if i > 0 { comma() }
            string(text)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func attributeMap(_ map: AttributeMap) {
        bytes.append(UInt8(ascii: "{"))
        for (i, entry) in map.entries.enumerated() {
            if i > 0 { comma() }
            key(entry.name)
            attributeValue(entry.value)
        }
        bytes.append(UInt8(ascii: "}"))
    }
}
