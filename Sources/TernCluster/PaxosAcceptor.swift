import TernCore

/// The acceptor of one single-decree Paxos instance, as a pure state machine.
///
/// Its state must be durable before it answers: a promise or an acceptance forgotten in a crash
/// lets two values be chosen. So every answer that promises or accepts comes out as
/// `.persistThenReply`: the shell writes the new state, and only when the write is durable sends
/// the reply (if the write fails, it sends nothing; silence is always safe). A refusal changes no
/// state and is sent at once. At start-up the shell restores the acceptor from the last state it
/// persisted, so a restart never breaks a promise.
public struct PaxosAcceptor: Sendable, Equatable {
    /// A value accepted at a ballot.
    public struct Accepted: Sendable, Equatable {
        public var ballot: Ballot
        public var value: [UInt8]

        public init(ballot: Ballot, value: [UInt8]) {
            self.ballot = ballot
            self.value = value
        }
    }

    /// Everything an acceptor must keep across a restart.
    public struct State: Sendable, Equatable {
        /// The highest ballot promised (phase 1) or accepted (phase 2); nil before any.
        public var promised: Ballot?
        /// The last value accepted, at the ballot it was accepted at.
        public var accepted: Accepted?

        public init(promised: Ballot? = nil, accepted: Accepted? = nil) {
            self.promised = promised
            self.accepted = accepted
        }
    }

    public enum Action: Sendable, Equatable {
        /// Make `state` durable, then send `reply` to the proposer. The persists of one acceptor
        /// must reach the disk in the order they were asked for (a later state never overwritten
        /// by an earlier one).
        case persistThenReply(State, reply: PaxosMessage)
        /// Send `reply` now: nothing changed that needs to be durable.
        case reply(PaxosMessage)
        /// Nothing to answer (not a message for an acceptor).
        case none
    }

    public private(set) var state: State

    /// A new acceptor, or one restored from the state it last persisted.
    public init(restoring state: State = State()) {
        self.state = state
    }

    /// Handles a phase 1a or 2a message; other messages are not for an acceptor.
    public mutating func handle(_ message: PaxosMessage) -> Action {
        switch message {
        case .prepare(let ballot):
            return prepare(ballot)
        case .accept(let ballot, let value):
            return accept(ballot, value: value)
        case .promise, .accepted, .nack, .decided:
            return .none
        }
    }

    /// Promise `ballot` unless a higher one was promised. A repeated prepare of the ballot
    /// already promised (a duplicate) gets the same promise again, after the same state is
    /// persisted again: the first persist may still be in flight, and a promise is never sent
    /// before the state that holds it is durable.
    mutating func prepare(_ ballot: Ballot) -> Action {
        if let promised = state.promised, promised > ballot {
            return .reply(.nack(ballot, promised: promised))
        }
        state.promised = ballot
        return .persistThenReply(state, reply: .promise(ballot, accepted: state.accepted))
    }

    /// Accept `value` at `ballot` unless a higher ballot was promised. Ballots are unique to one
    /// proposal, so a second, different value at the ballot already accepted can only come from a
    /// broken or hostile peer: it is refused rather than allowed to overwrite the first.
    mutating func accept(_ ballot: Ballot, value: [UInt8]) -> Action {
        if let promised = state.promised, promised > ballot {
            return .reply(.nack(ballot, promised: promised))
        }
        if let accepted = state.accepted, accepted.ballot == ballot, accepted.value != value {
            return .reply(.nack(ballot, promised: state.promised ?? ballot))
        }
        state.promised = ballot
        state.accepted = Accepted(ballot: ballot, value: value)
        return .persistThenReply(state, reply: .accepted(ballot))
    }
}
