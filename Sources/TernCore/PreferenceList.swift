/// The nodes that hold the replicas of one partition, in preference order (Dynamo §4.3), and
/// the nodes that stand in for them when they are down (Dynamo §4.6, sloppy quorum).
///
/// Text form (`description`), as in the tests' fixtures: replicas, then `|` and the fallbacks.
///
///     A C B | D E
public struct PreferenceList: Sendable, Equatable, CustomStringConvertible {
    /// The partition whose replicas these are.
    public let partition: Int
    /// N distinct nodes (every member when N exceeds them): the partition's owner first, then
    /// nodes in zones not yet used, then the nearest other nodes once the zones run out.
    public let replicas: [NodeID]
    /// Every other member, in the order the ring walk meets them: a write whose replica is down
    /// goes to the first healthy one of these with a hint for the replica it stands in for.
    public let fallbacks: [NodeID]

    public init(partition: Int, replicas: [NodeID], fallbacks: [NodeID]) {
        self.partition = partition
        self.replicas = replicas
        self.fallbacks = fallbacks
    }

    public var description: String {
        let head = replicas.joined(separator: " ")
        return fallbacks.isEmpty ? head : head + " | " + fallbacks.joined(separator: " ")
    }
}
