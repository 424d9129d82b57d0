/// A table's own replication settings, from its tags `tern:n`, `tern:w` and `tern:r`
/// (DESIGN.md §5): N is fixed at CreateTable, W and R may change later.
public struct TableReplication: Sendable, Equatable {
    public var replicationFactor: Int?
    public var writeQuorum: Int?
    public var readQuorum: Int?

    public init(replicationFactor: Int? = nil, writeQuorum: Int? = nil, readQuorum: Int? = nil) {
        self.replicationFactor = replicationFactor
        self.writeQuorum = writeQuorum
        self.readQuorum = readQuorum
    }

    public static let replicationTag = "tern:n"
    public static let writeQuorumTag = "tern:w"
    public static let readQuorumTag = "tern:r"
    /// The largest N a table may ask for.
    public static let replicationFactorMax = 16

    public var isEmpty: Bool { replicationFactor == nil && writeQuorum == nil && readQuorum == nil }

    /// The settings `tags` ask for, or DynamoDB's ValidationException naming the bad tag.
    public static func parse(_ tags: [(key: String, value: String)]) throws(DynamoDBError) -> TableReplication {
        var replication = TableReplication()
        for (key, value) in tags where key.hasPrefix("tern:") {
            guard let number = Int(value), (1...replicationFactorMax).contains(number) else {
                throw DynamoDBError.validation("Tag \(key) must be an integer from 1 to \(replicationFactorMax), got '\(value)'")
            }
            switch key {
            case replicationTag: replication.replicationFactor = number
            case writeQuorumTag: replication.writeQuorum = number
            case readQuorumTag: replication.readQuorum = number
            default: throw DynamoDBError.validation("Unknown Tern tag \(key): tern:n, tern:w and tern:r are the ones Tern reads")
            }
        }
        let n = replication.replicationFactor ?? replicationFactorMax
        if let w = replication.writeQuorum, w > n { throw DynamoDBError.validation("Tag tern:w (\(w)) must not exceed tern:n (\(n))") }
        if let r = replication.readQuorum, r > n { throw DynamoDBError.validation("Tag tern:r (\(r)) must not exceed tern:n (\(n))") }
        return replication
    }
}

extension TableDefinition {
    /// The table's replication tags; empty when it has none (the node's defaults apply).
    public var replication: TableReplication {
        guard tags.contains(where: { $0.key.hasPrefix("tern:") }) else { return TableReplication() }
        return (try? TableReplication.parse(tags)) ?? TableReplication()
    }
}
