import TernCluster
import TernCore

/// The cluster as this node sees it: the partition map and the replication defaults. Immutable:
/// request tasks read it without a lock; a new map replaces the whole view.
public struct ClusterView: Sendable {
    public let local: NodeID
    public let map: PartitionMap
    /// N, W and R when neither the table nor the request says otherwise.
    public let replicationFactor: Int
    public let writeQuorum: Int
    public let readQuorum: Int
    /// Preference lists of every partition for the default N, computed once (Q lists of N names).
    let lists: [PreferenceList]
    /// The plan of every key on a cluster of one, shared so a write allocates none.
    let singlePlan: ReplicaPlan?

    /// `replicationFactor` larger than the cluster is clamped to the cluster's size (a cluster of
    /// two keeps two copies); W and R are clamped the same way.
    public init(local: NodeID, map: PartitionMap, replicationFactor: Int, writeQuorum: Int, readQuorum: Int) {
        precondition(map.members.contains { $0.node == local }, "\(local) is not a member of the map")
        self.local = local
        self.map = map
        let n = min(replicationFactor, map.members.count)
        self.replicationFactor = n
        self.writeQuorum = min(writeQuorum, n)
        self.readQuorum = min(readQuorum, n)
        self.lists = (0..<map.ring.partitionCount).map { map.preferenceList(forPartition: $0, replicationFactor: n) }
        self.singlePlan = map.members.count == 1 ? .single(local) : nil
    }

    /// A cluster of one: this node owns every partition.
    public static func single(_ local: NodeID) -> ClusterView {
        let map = try! PartitionMap.initial(members: [PartitionMap.Member(local)], partitionCount: 1)
        return ClusterView(local: local, map: map, replicationFactor: 1, writeQuorum: 1, readQuorum: 1)
    }

    public var isSingleNode: Bool { singlePlan != nil }

    /// Other members of the cluster.
    public var peers: [NodeID] { map.members.map(\.node).filter { $0 != local } }

    /// The plan of `key`: its preference list and fallbacks, with W and R from the request (or
    /// the defaults), each clamped to 1…N.
    public func plan(forKey key: [UInt8], replicationFactor: Int? = nil, writeQuorum w: Int? = nil, readQuorum r: Int? = nil) -> ReplicaPlan {
        if let singlePlan { return singlePlan }
        let partition = map.ring.partition(ofStorageKey: key) ?? 0
        let list: PreferenceList
        if let replicationFactor, min(replicationFactor, map.members.count) != self.replicationFactor {
            // A table with its own N (tag tern:n): its lists are walked per request (O(members)).
            list = map.preferenceList(forPartition: partition, replicationFactor: replicationFactor)
        } else {
            list = lists[partition]
        }
        let n = list.replicas.count
        return ReplicaPlan(
            preference: list.replicas, fallbacks: list.fallbacks,
            writeQuorum: min(max(w ?? writeQuorum, 1), n), readQuorum: min(max(r ?? readQuorum, 1), n)
        )
    }
}

/// How the coordinator's shell reaches other nodes' replicas: the peer transport in a node, a
/// direct call in tests. `send` calls `completion` exactly once, with the reply or a failure,
/// by the request's deadline at the latest.
public protocol ReplicaMessenger: Sendable {
    func send(
        _ message: ReplicaMessage, to node: NodeID, deadlineMillis: UInt32,
        completion: @escaping @Sendable (Result<ReplicaMessage, PeerError>) -> Void
    )
    /// Whether a request to `node` would be sent now (connected, breaker closed).
    func isReachable(_ node: NodeID) -> Bool
    /// The peer connection's state for status pages.
    func breakerState(of node: NodeID) -> String
    /// Probes the peers whose breaker is open and past its cool-down (the coordinator's tick
    /// calls this). A peer is never probed with a client's request: an open peer is skipped, and
    /// only a probe's answer can close its breaker again.
    func probeDuePeers()
}

extension ReplicaMessenger {
    /// A messenger without breakers has nothing to probe.
    public func probeDuePeers() {}

    /// The state of the connection to `node` for status pages: "closed", "open", "half-open" or
    /// "unreachable"; a messenger without breakers answers from reachability alone.
    public func breakerState(of node: NodeID) -> String {
        isReachable(node) ? "closed" : "unreachable"
    }
}

/// What `GET /cluster/status` reports about one member.
public struct MemberStatus: Sendable, Equatable {
    public var node: NodeID
    public var zone: Zone?
    public var isLocal: Bool
    public var reachable: Bool
    /// The peer connection's circuit breaker ("closed", "open", "half-open"; "local" for this node).
    public var breaker: String
    /// Partitions this member owns in the map, and those it holds a replica of (N lists).
    public var partitionsOwned: Int
    public var partitionsReplicated: Int
    /// Hints this node holds for the member.
    public var hintsPending: Int
}

extension CoordinatorShell {
    /// The members as this node sees them, for `GET /cluster/status`.
    public func memberStatus() -> [MemberStatus] {
        let hints = hintCounts()
        var replicated: [NodeID: Int] = [:]
        for list in view.lists { for replica in list.replicas { replicated[replica, default: 0] += 1 } }
        return view.map.members.map { member in
            let isLocal = member.node == nodeId
            return MemberStatus(
                node: member.node, zone: member.zone, isLocal: isLocal, reachable: isReachable(member.node),
                breaker: isLocal ? "local" : (messenger?.breakerState(of: member.node) ?? "unreachable"),
                partitionsOwned: view.map.partitions(ownedBy: member.node).count,
                partitionsReplicated: replicated[member.node, default: 0], hintsPending: hints[member.node, default: 0]
            )
        }
    }
}
