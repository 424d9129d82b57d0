import TernCore

/// How nodes named by `--seeds` learn each other's identity at start-up: every node derives the
/// partition map from the same member set, so each must know every member's node id and zone,
/// and all must agree on the partition count.
public enum MembershipMessage: Sendable, Equatable {
    /// Who are you?
    case identify
    /// The answer: this node's id, zone and partition count Q.
    case identity(node: NodeID, zone: Zone?, partitionCount: Int)

    public var kind: UInt16 {
        switch self {
        case .identify: 9
        case .identity: 10
        }
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        if case .identity(let node, let zone, let partitionCount) = self {
            writer.lengthPrefixed(node.utf8)
            writer.lengthPrefixed((zone ?? "").utf8)
            writer.varint(partitionCount)
        }
        return writer.bytes
    }

    public static func decode(kind: UInt16, _ bytes: [UInt8]) -> MembershipMessage? {
        var reader = ByteReader(bytes)
        switch kind {
        case 9:
            return bytes.isEmpty ? .identify : nil
        case 10:
            guard let node = try? ReplicaMessage.string(&reader), let zone = try? ReplicaMessage.string(&reader),
                let count = try? reader.varint(), count <= UInt64(Ring.partitionCountMax), reader.isAtEnd
            else { return nil }
            return .identity(node: node, zone: zone.isEmpty ? nil : zone, partitionCount: Int(count))
        default:
            return nil
        }
    }
}
