import TernCluster
import TernCore

/// How the catalog reaches the catalogs of other members: the peer transport in a node (frame
/// kind `CatalogPeerMessage.frameKind`), a direct call in tests. Mirrors `ReplicaMessenger`:
/// `send` calls `completion` exactly once, with the receiver's answer (what its
/// `Catalog.serve(_:from:)` returned) or a failure, by the deadline at the latest.
public protocol CatalogMessenger: Sendable {
    func send(
        _ message: CatalogPeerMessage, to node: NodeID, deadlineMillis: UInt32,
        completion: @escaping @Sendable (Result<CatalogPeerMessage, PeerError>) -> Void
    )
    /// Whether a request to `node` would be sent now (connected, breaker not open).
    func isReachable(_ node: NodeID) -> Bool
}

/// The applied catalog at one version, sent to a member too far behind for log entries
/// (`CatalogLog.Action.sendSnapshot`).
public struct CatalogSnapshot: Sendable, Equatable {
    public var version: UInt64
    public var nextTableId: UInt32
    /// Every table, in name order.
    public var tables: [TableDefinition]

    public init(version: UInt64, nextTableId: UInt32, tables: [TableDefinition]) {
        self.version = version
        self.nextTableId = nextTableId
        self.tables = tables
    }
}

/// What catalogs say to each other: a message of the catalog log, a snapshot, or nothing (the
/// answer to a message that needs none).
public enum CatalogPeerMessage: Sendable, Equatable {
    case log(CatalogMessage)
    case snapshot(CatalogSnapshot)
    case empty

    /// The peer frame message kind of catalog requests and answers (the replica protocol uses
    /// 1–6, other services 7–19).
    public static let frameKind: UInt16 = 20

    /// Tables a snapshot may hold (DynamoDB's default quota is 2,500 tables per region).
    public static let snapshotTablesMax = 10_000

    /// Kind (1 log, 2 snapshot, 3 empty), then: the `CatalogMessage` encoding; or version (UInt64
    /// big-endian), next table id (varint), table count (varint) and each definition's JSON,
    /// length-prefixed; or nothing.
    public func encoded() -> [UInt8] {
        switch self {
        case .log(let message):
            return [1] + message.encoded()
        case .snapshot(let snapshot):
            var writer = ByteWriter()
            writer.bytes.append(2)
            writer.uint64BigEndian(snapshot.version)
            writer.varint(UInt64(snapshot.nextTableId))
            writer.varint(snapshot.tables.count)
            for table in snapshot.tables { writer.lengthPrefixed(table.encodedJSON()) }
            return writer.bytes
        case .empty:
            return [3]
        }
    }

    /// Nil for bytes that are no message of this format (truncated, trailing bytes, unknown kind).
    public init?(decoding bytes: [UInt8]) {
        guard let kind = bytes.first else { return nil }
        switch kind {
        case 1:
            guard let message = CatalogMessage(decoding: Array(bytes[1...])) else { return nil }
            self = .log(message)
        case 2:
            guard let snapshot = Self.decodeSnapshot(bytes) else { return nil }
            self = .snapshot(snapshot)
        case 3:
            guard bytes.count == 1 else { return nil }
            self = .empty
        default:
            return nil
        }
    }

    static func decodeSnapshot(_ bytes: [UInt8]) -> CatalogSnapshot? {
        var reader = ByteReader(bytes)
        do {
            _ = try reader.byte()
            let version = try reader.uint64BigEndian()
            let nextTableId = try reader.varint()
            let count = try reader.varint()
            guard nextTableId <= UInt64(UInt32.max), count <= UInt64(snapshotTablesMax) else { return nil }
            var tables: [TableDefinition] = []
            for _ in 0..<count {
                guard let table = TableDefinition.decode(Array(try reader.lengthPrefixed())) else { return nil }
                tables.append(table)
            }
            guard reader.isAtEnd else { return nil }
            return CatalogSnapshot(version: version, nextTableId: UInt32(nextTableId), tables: tables)
        } catch {
            return nil
        }
    }
}
