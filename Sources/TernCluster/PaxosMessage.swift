import TernCore

/// The messages of single-decree Paxos (Lamport, "Paxos Made Simple", 2001). Values are opaque
/// bytes: Paxos never looks inside them, it only compares them, and they cross a wire and a disk
/// at both ends, where bytes have a size that can be bounded. Which instance a message belongs
/// to (a catalog slot, later an item key) is said by the envelope around it, not here.
public enum PaxosMessage: Sendable, Equatable {
    /// Phase 1a, proposer → acceptors.
    case prepare(Ballot)
    /// Phase 1b, acceptor → proposer: the acceptor promised `ballot` and reports the value it
    /// accepted last (with the ballot it accepted it at), if any.
    case promise(Ballot, accepted: PaxosAcceptor.Accepted?)
    /// Phase 2a, proposer → acceptors.
    case accept(Ballot, value: [UInt8])
    /// Phase 2b, acceptor → proposer.
    case accepted(Ballot)
    /// An acceptor refused `ballot` (a prepare or an accept) because it promised `promised`,
    /// which is higher; the proposer retries above it.
    case nack(Ballot, promised: Ballot)
    /// The value is chosen (a majority accepted it); sent to every member so they learn it.
    case decided(value: [UInt8])
}
