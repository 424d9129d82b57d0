import TernCore

/// A Paxos ballot (Lamport, "Paxos Made Simple", 2001: "proposal number"): an HLC timestamp and
/// the proposing node, ordered by timestamp and then by node id.
///
/// Paxos is safe only if two proposals never share a ballot. The node id makes ballots of
/// different nodes distinct; within one node, every ballot's timestamp is a fresh timestamp of the
/// node's HLC, which never goes back across restarts (`CeilingClock`), so a node never reuses a
/// ballot either, not even one it used before a crash. HLC timestamps stay close to real time, so
/// a proposer that restarts or lost touch does not start far below the others.
public struct Ballot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// A 64-bit HLC timestamp: 48 bits of milliseconds, 16 bits of logical counter.
    public var timestamp: UInt64
    public var node: NodeID

    public init(timestamp: UInt64, node: NodeID) {
        self.timestamp = timestamp
        self.node = node
    }

    /// Node ids compare by their UTF-8 bytes, an order that does not depend on the platform or
    /// on Unicode normalisation, so every node orders ballots the same way.
    public static func < (lhs: Ballot, rhs: Ballot) -> Bool {
        if lhs.timestamp != rhs.timestamp { return lhs.timestamp < rhs.timestamp }
        return lhs.node.utf8.lexicographicallyPrecedes(rhs.node.utf8)
    }

    /// The ballot a proposer uses next: `stamp` is a fresh HLC timestamp that the shell issued
    /// after observing `highestSeen` (`PaxosProposer.Action.stampBallot`), so it is above every
    /// ballot the proposer has seen. Nil when it is not (a stamp asked for before a higher
    /// ballot arrived): the proposer asks for another one.
    public static func next(stamp: UInt64, node: NodeID, above highestSeen: Ballot?) -> Ballot? {
        let ballot = Ballot(timestamp: stamp, node: node)
        guard let highestSeen else { return ballot }
        return ballot > highestSeen ? ballot : nil
    }

    public var description: String { "\(timestamp >> 16).\(timestamp & 0xFFFF)@\(node)" }
}
