import TernCore
import TernTransport

extension DynamoDBService {
    /// `GET /cluster/status` (what `tern cluster status` prints): this node, the replication
    /// settings, and every member with its state, partitions, breaker and the hints held for it.
    public func clusterStatus() async -> [UInt8] {
        let view = coordinator.view
        var writer = JSONWriter(capacity: 1024)
        writer.raw("{")
        writer.key("node")
        writer.string(coordinator.nodeId)
        writer.comma()
        writer.key("mapVersion")
        writer.rawString(String(view.map.version))
        writer.comma()
        writer.key("partitions")
        writer.rawString(String(view.map.ring.partitionCount))
        writer.comma()
        writer.key("replication")
        writer.rawString("{\"N\":\(view.replicationFactor),\"W\":\(view.writeQuorum),\"R\":\(view.readQuorum)}")
        writer.comma()
        writer.key("members")
        writer.raw("[")
        for (index, member) in coordinator.memberStatus().enumerated() {
            if index > 0 { writer.comma() }
            writer.raw("{")
            writer.key("node")
            writer.string(member.node)
            writer.comma()
            writer.key("zone")
            if let zone = member.zone { writer.string(zone) } else { writer.raw("null") }
            writer.comma()
            writer.key("self")
            writer.rawString(member.isLocal ? "true" : "false")
            writer.comma()
            writer.key("state")
            writer.string(member.reachable ? "up" : "unreachable")
            writer.comma()
            writer.key("breaker")
            writer.string(member.breaker)
            writer.comma()
            writer.key("partitionsOwned")
            writer.rawString(String(member.partitionsOwned))
            writer.comma()
            writer.key("partitionsReplicated")
            writer.rawString(String(member.partitionsReplicated))
            writer.comma()
            writer.key("hintsPending")
            writer.rawString(String(member.hintsPending))
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}
