/// The type of a key attribute.
public enum ScalarAttributeType: String, Sendable, Equatable, CaseIterable {
    case string = "S"
    case number = "N"
    case binary = "B"

    func matches(_ value: AttributeValue) -> Bool {
        switch (self, value) {
        case (.string, .s), (.number, .n), (.binary, .b): return true
        default: return false
        }
    }
}

/// One attribute of the primary key.
public struct KeyAttribute: Sendable, Equatable {
    public var name: String
    public var type: ScalarAttributeType

    public init(name: String, type: ScalarAttributeType) {
        self.name = name
        self.type = type
    }
}

/// The primary key of one item, validated against its table's schema.
public struct PrimaryKey: Sendable, Equatable {
    public var partition: AttributeValue
    public var sort: AttributeValue?

    public init(partition: AttributeValue, sort: AttributeValue?) {
        self.partition = partition
        self.sort = sort
    }
}

/// Everything Tern records about a table: its schema and its settings.
public struct TableDefinition: Sendable, Equatable {
    public enum Status: String, Sendable { case creating = "CREATING", active = "ACTIVE", deleting = "DELETING", updating = "UPDATING" }

    public var name: String
    /// Internal id, the first four bytes of every storage key of the table; never reused.
    public var tableId: UInt32
    /// The public TableId (a UUID-shaped string derived from the internal id and creation time).
    public var uuid: String
    public var partitionKey: KeyAttribute
    public var sortKey: KeyAttribute?
    public var attributeDefinitions: [KeyAttribute]
    public var billingMode: String
    public var readCapacityUnits: Int
    public var writeCapacityUnits: Int
    /// Creation time, seconds since 1970 with millisecond precision.
    public var creationDateTime: Double
    public var lastBillingModeChange: Double?
    public var status: Status
    public var tags: [(key: String, value: String)]
    public var deletionProtection: Bool

    public init(
        name: String, tableId: UInt32, uuid: String, partitionKey: KeyAttribute, sortKey: KeyAttribute?,
        attributeDefinitions: [KeyAttribute], billingMode: String, readCapacityUnits: Int, writeCapacityUnits: Int,
        creationDateTime: Double, status: Status = .active, tags: [(key: String, value: String)] = [],
        deletionProtection: Bool = false
    ) {
        self.name = name
        self.tableId = tableId
        self.uuid = uuid
        self.partitionKey = partitionKey
        self.sortKey = sortKey
        self.attributeDefinitions = attributeDefinitions
        self.billingMode = billingMode
        self.readCapacityUnits = readCapacityUnits
        self.writeCapacityUnits = writeCapacityUnits
        self.creationDateTime = creationDateTime
        self.status = status
        self.tags = tags
        self.deletionProtection = deletionProtection
    }

    public static func == (lhs: TableDefinition, rhs: TableDefinition) -> Bool {
        lhs.encodedJSON() == rhs.encodedJSON()
    }

    public var keyAttributes: [KeyAttribute] { [partitionKey] + (sortKey.map { [$0] } ?? []) }

    public static let maxPartitionKeyBytes = 2048
    public static let maxSortKeyBytes = 1024

    /// The primary key of an item to be written; DynamoDB's errors when it is missing or wrong.
    public func primaryKey(ofItem item: Item) throws(DynamoDBError) -> PrimaryKey {
        let partition = try keyValue(partitionKey, in: item, missing: "Missing the key \(partitionKey.name) in the item")
        var sort: AttributeValue? = nil
        if let sortKey {
            sort = try keyValue(sortKey, in: item, missing: "Missing the key \(sortKey.name) in the item")
        }
        let key = PrimaryKey(partition: partition, sort: sort)
        try checkKeySizes(key)
        return key
    }

    func keyValue(_ attribute: KeyAttribute, in item: Item, missing: String) throws(DynamoDBError) -> AttributeValue {
        guard let value = item[attribute.name] else {
            throw DynamoDBError.validation("One or more parameter values were invalid: \(missing)")
        }
        try checkKeyValue(value, of: attribute)
        return value
    }

    func checkKeyValue(_ value: AttributeValue, of attribute: KeyAttribute) throws(DynamoDBError) {
        guard attribute.type.matches(value) else {
            throw DynamoDBError.validation("One or more parameter values were invalid: Type mismatch for key \(attribute.name) expected: \(attribute.type.rawValue) actual: \(value.typeName)")
        }
        switch value {
        case .s(let text) where text.isEmpty:
            throw DynamoDBError.validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: \(attribute.name)")
        case .b(let blob) where blob.isEmpty:
            throw DynamoDBError.validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: \(attribute.name)")
        default:
            break
        }
    }

    func checkKeySizes(_ key: PrimaryKey) throws(DynamoDBError) {
        if ItemSize.of(key.partition) > TableDefinition.maxPartitionKeyBytes {
            throw DynamoDBError.validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
        }
        if let sort = key.sort, ItemSize.of(sort) > TableDefinition.maxSortKeyBytes {
            throw DynamoDBError.validation("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
        }
    }

    /// The primary key named by a `Key` parameter: exactly the key attributes, nothing else.
    public func primaryKey(ofKey key: Item) throws(DynamoDBError) -> PrimaryKey {
        let mismatch = DynamoDBError.validation("The provided key element does not match the schema")
        guard key.count == keyAttributes.count,
              let partition = key[partitionKey.name], partitionKey.type.matches(partition)
        else { throw mismatch }
        try checkKeyValue(partition, of: partitionKey)
        var sort: AttributeValue? = nil
        if let sortKey {
            guard let value = key[sortKey.name], sortKey.type.matches(value) else { throw mismatch }
            try checkKeyValue(value, of: sortKey)
            sort = value
        }
        let primary = PrimaryKey(partition: partition, sort: sort)
        try checkKeySizes(primary)
        return primary
    }

    /// The storage key of an item of this table.
    public func storageKey(_ key: PrimaryKey) -> [UInt8] {
        KeyEncoding.itemKey(tableId: tableId, partitionKey: key.partition, sortKey: key.sort)
    }

    /// The key attributes of `item`, as a `Key` map (for UnprocessedKeys, LastEvaluatedKey…).
    public func keyMap(of item: Item) -> Item {
        var key = Item()
        for attribute in keyAttributes {
            key[attribute.name] = item[attribute.name]
        }
        return key
    }

    /// The primary key stored under `storageKey`, which must be an item key of this table.
    /// A page that stops on a tombstone (a value with no attributes) builds its LastEvaluatedKey
    /// from this; a corrupt or foreign key throws instead of trapping.
    public func primaryKey(fromStorageKey storageKey: [UInt8]) throws(KeyEncoding.DecodeError) -> PrimaryKey {
        let decoded = try KeyEncoding.decodeItemKey(storageKey, partitionType: partitionKey.type, sortType: sortKey?.type)
        guard decoded.tableId == tableId else { throw KeyEncoding.DecodeError(.wrongTable, at: 0) }
        return PrimaryKey(partition: decoded.partition, sort: decoded.sort)
    }

    /// The `Key` map (as `keyMap(of:)` builds it) of the item stored under `storageKey`.
    public func keyMap(fromStorageKey storageKey: [UInt8]) throws(KeyEncoding.DecodeError) -> Item {
        keyMap(of: try primaryKey(fromStorageKey: storageKey))
    }

    /// `key` as a `Key` map with this table's attribute names.
    public func keyMap(of key: PrimaryKey) -> Item {
        var map = Item()
        map[partitionKey.name] = key.partition
        if let sortKey, let sort = key.sort { map[sortKey.name] = sort }
        return map
    }
}

// MARK: - Persistence as JSON

extension TableDefinition {
    static func keyAttributeJSON(_ attribute: KeyAttribute) -> JSON {
        .object([("name", .string(attribute.name)), ("type", .string(attribute.type.rawValue))])
    }

    static func keyAttribute(from json: JSON?) -> KeyAttribute? {
        guard let json, let name = json["name"]?.stringValue,
              let type = json["type"]?.stringValue.flatMap(ScalarAttributeType.init(rawValue:)) else { return nil }
        return KeyAttribute(name: name, type: type)
    }

    public func encodedJSON() -> [UInt8] {
        var members: [(String, JSON)] = [
            ("name", .string(name)),
            ("tableId", .number(String(tableId))),
            ("uuid", .string(uuid)),
            ("partitionKey", TableDefinition.keyAttributeJSON(partitionKey)),
            ("attributeDefinitions", .array(attributeDefinitions.map(TableDefinition.keyAttributeJSON))),
            ("billingMode", .string(billingMode)),
            ("readCapacityUnits", .number(String(readCapacityUnits))),
            ("writeCapacityUnits", .number(String(writeCapacityUnits))),
            ("creationDateTime", .number(String(creationDateTime))),
            ("status", .string(status.rawValue)),
            ("tags", .array(tags.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })),
            ("deletionProtection", .bool(deletionProtection)),
        ]
        if let sortKey { members.append(("sortKey", TableDefinition.keyAttributeJSON(sortKey))) }
        if let lastBillingModeChange { members.append(("lastBillingModeChange", .number(String(lastBillingModeChange)))) }
        return JSON.object(members).serialized()
    }

    public static func decode(_ bytes: [UInt8]) -> TableDefinition? {
        guard let json = try? JSON.parse(bytes),
              let name = json["name"]?.stringValue,
              case .number(let idText)? = json["tableId"], let tableId = UInt32(idText),
              let uuid = json["uuid"]?.stringValue,
              let partitionKey = keyAttribute(from: json["partitionKey"]),
              let definitions = json["attributeDefinitions"]?.arrayValue,
              let billingMode = json["billingMode"]?.stringValue,
              case .number(let rcu)? = json["readCapacityUnits"],
              case .number(let wcu)? = json["writeCapacityUnits"],
              case .number(let created)? = json["creationDateTime"],
              let status = json["status"]?.stringValue.flatMap(Status.init(rawValue:))
        else { return nil }
        var definition = TableDefinition(
            name: name, tableId: tableId, uuid: uuid, partitionKey: partitionKey,
            sortKey: keyAttribute(from: json["sortKey"]),
            attributeDefinitions: definitions.compactMap { keyAttribute(from: $0) },
            billingMode: billingMode, readCapacityUnits: Int(rcu) ?? 0, writeCapacityUnits: Int(wcu) ?? 0,
            creationDateTime: Double(created) ?? 0, status: status,
            tags: (json["tags"]?.arrayValue ?? []).compactMap { tag in
                guard let key = tag["key"]?.stringValue, let value = tag["value"]?.stringValue else { return nil }
                return (key: key, value: value)
            },
            deletionProtection: json["deletionProtection"]?.boolValue ?? false
        )
        if case .number(let changed)? = json["lastBillingModeChange"] { definition.lastBillingModeChange = Double(changed) }
        return definition
    }
}
