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
        // Acknowledged writes still waiting for a replica's answer: they may yet become hints.
        writer.key("trailingWrites")
        writer.rawString(String(coordinator.trailingWrites))
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

extension DynamoDBService {
    /// `GET /metrics` in Prometheus' text format: the hints this node holds per member, which
    /// members it can reach, and the coordinator's load. Built from in-memory counts only.
    public func metricsText() -> [UInt8] {
        var text = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for sample in samples { text += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        let members = coordinator.memberStatus()
        let hints = coordinator.hintTotals()
        family(
            "tern_hints_pending", "Hints this node holds for a member and has not delivered yet (Dynamo 4.6).",
            members.filter { !$0.isLocal }.map { ("{target=\"\($0.node)\"}", hints[$0.node]?.hints ?? 0) }
        )
        family(
            "tern_hint_bytes_pending", "Bytes of the hints this node holds for a member.",
            members.filter { !$0.isLocal }.map { ("{target=\"\($0.node)\"}", hints[$0.node]?.bytes ?? 0) }
        )
        family(
            "tern_peer_reachable", "1 when this node can reach the member now (connected, breaker not open).",
            members.filter { !$0.isLocal }.map { ("{peer=\"\($0.node)\"}", $0.reachable ? 1 : 0) }
        )
        let load = coordinator.load
        family("tern_coordinator_operations", "Writes and applies in the coordinator, lock waiters included.", [("", load.operations)])
        family("tern_coordinator_lock_waiters", "Operations waiting for a key's lock.", [("", load.lockWaiters)])
        family("tern_partitions", "Partitions of the ring.", [("", coordinator.view.map.ring.partitionCount)])
        return Array(text.utf8)
    }
}
