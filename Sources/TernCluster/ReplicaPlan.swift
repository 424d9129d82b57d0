import TernCore

/// Where one key's replicas are and how many of them must answer, as the shell found it in the
/// partition map for this request (table settings, `X-Tern-W`/`X-Tern-R` and node defaults
/// already resolved). A value: the coordinator keeps it for the life of the operation, so a map
/// that changes meanwhile does not move an operation's replicas under it.
public struct ReplicaPlan: Sendable, Equatable {
    /// The key's preference list: N distinct nodes, in preference order (Dynamo §4.3).
    public var preference: [NodeID]
    /// Further distinct nodes in ring order, for the sloppy quorum: a write whose replica is
    /// down goes to the next of these with a hint for the owner (Dynamo §4.6).
    public var fallbacks: [NodeID]
    /// W: durable acknowledgements before a write is acknowledged.
    public var writeQuorum: Int
    /// R: replica answers before a read is answered.
    public var readQuorum: Int
    /// A write whose outcome does not depend on the current item (a blind put or delete): it
    /// reads one replica before writing (this node's when it is one), only for the version its
    /// own descends from; a newer version elsewhere is then concurrent with it, and replicas
    /// reconcile the two (last writer wins), as Dynamo's and Cassandra's blind writes do.
    public var isBlindWrite = false

    public init(preference: [NodeID], fallbacks: [NodeID] = [], writeQuorum: Int, readQuorum: Int) {
        precondition(!preference.isEmpty, "a preference list names at least one replica")
        precondition((1...preference.count).contains(writeQuorum), "W=\(writeQuorum) outside 1...\(preference.count)")
        precondition((1...preference.count).contains(readQuorum), "R=\(readQuorum) outside 1...\(preference.count)")
        precondition(Set(preference + fallbacks).count == preference.count + fallbacks.count, "replicas and fallbacks are distinct nodes")
        self.preference = preference
        self.fallbacks = fallbacks
        self.writeQuorum = writeQuorum
        self.readQuorum = readQuorum
    }

    /// N.
    public var replicationFactor: Int { preference.count }

    /// The replica answers a write reads before it decides: N − W + 1, so that the replicas read
    /// and the W that acknowledged the last write always share one (R + W > N), and a conditional
    /// write sees every acknowledged write before it.
    public var readBeforeWriteQuorum: Int { isBlindWrite ? 1 : preference.count - writeQuorum + 1 }

    /// A cluster of one.
    public static func single(_ node: NodeID) -> ReplicaPlan {
        ReplicaPlan(preference: [node], writeQuorum: 1, readQuorum: 1)
    }
}
