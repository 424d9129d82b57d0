import TernCore

/// The proposer of one single-decree Paxos instance (Lamport, "Paxos Made Simple", 2001), as a
/// pure state machine: events and `now` (monotonic milliseconds) in, actions out.
///
/// One proposal: ask the shell for a ballot (a fresh HLC timestamp above every ballot seen),
/// send `prepare` to every member; on promises from a majority, propose the value accepted at the
/// highest ballot among them, or its own value if none; send `accept`; on acceptances from a
/// majority the value is chosen, and every other member is told (`decided`). A refusal (`nack`,
/// carrying the higher ballot an acceptor promised) or a round without a majority in time ends
/// the attempt; after a randomised backoff (full jitter, from the instance's own seeded
/// generator, so two duelling proposers drift apart) it tries again with a higher ballot. It gives
/// up after `attemptsMax` attempts or at `deadlineMillis`, whichever comes first, with a
/// retryable failure: a change that needs a majority fails quickly without one.
///
/// A failure does not mean the value was not chosen: acceptances may have reached a majority
/// whose answers were lost. Whoever proposes next in this instance learns the chosen value in
/// phase 1, so the instance never decides two values; callers report such a failure as
/// retryable and re-validate before retrying.
///
/// Messages from other rounds, duplicates, and messages from non-members are ignored, so a
/// network that reorders, duplicates or replays messages cannot make it count twice.
public struct PaxosProposer: Sendable {
    public struct Settings: Sendable, Equatable {
        /// How long one round (phase 1 or phase 2) waits for a majority before it is abandoned.
        public var roundTimeoutMillis: UInt64
        /// Attempts (ballots) before the proposal fails.
        public var attemptsMax: Int
        /// The whole proposal fails after this long, whatever the attempt.
        public var deadlineMillis: UInt64
        /// Backoff before attempt k+1 is drawn from 1...min(backoffMaxMillis, backoffBaseMillis·2^k).
        public var backoffBaseMillis: UInt64
        public var backoffMaxMillis: UInt64

        public init(roundTimeoutMillis: UInt64 = 500, attemptsMax: Int = 4, deadlineMillis: UInt64 = 2_000,
                    backoffBaseMillis: UInt64 = 10, backoffMaxMillis: UInt64 = 200) {
            self.roundTimeoutMillis = roundTimeoutMillis
            self.attemptsMax = attemptsMax
            self.deadlineMillis = deadlineMillis
            self.backoffBaseMillis = backoffBaseMillis
            self.backoffMaxMillis = backoffMaxMillis
        }

        public func validate() throws(ConfigurationError) {
            guard roundTimeoutMillis >= 1, deadlineMillis >= roundTimeoutMillis else {
                throw ConfigurationError("Paxos round timeout must be at least 1 ms and at most the proposal deadline")
            }
            guard attemptsMax >= 1, attemptsMax <= 100 else { throw ConfigurationError("Paxos attempts must be between 1 and 100") }
            guard backoffBaseMillis >= 1, backoffMaxMillis >= backoffBaseMillis else {
                throw ConfigurationError("Paxos backoff must be at least 1 ms, and its maximum at least its base")
            }
        }
    }

    public enum Event: Sendable, Equatable {
        /// Start proposing `value` (once per instance).
        case propose([UInt8])
        /// The shell's answer to `stampBallot`: a fresh HLC timestamp.
        case ballotStamped(UInt64)
        /// A message from a member (replies to this proposer, or `decided`).
        case receive(from: NodeID, PaxosMessage)
        /// A message to this member could not be sent (no connection, open circuit breaker): the
        /// round stops waiting for it, and ends at once when a majority can no longer answer.
        case unreachable(NodeID)
        /// Time passed: round timeouts, backoff, the overall deadline.
        case tick
    }

    public enum Failure: Sendable, Equatable {
        /// Every attempt ended without a majority (refused by higher ballots, or unanswered).
        case noMajority(attempts: Int)
        /// The proposal's deadline passed.
        case deadlineExceeded
    }

    public enum Outcome: Sendable, Equatable {
        /// This value is chosen: the proposer's own or one that an earlier proposal got accepted.
        case decided(value: [UInt8])
        /// Retryable; the value may still turn out chosen (see the type's summary).
        case failed(Failure)
    }

    public enum Action: Sendable, Equatable {
        /// Issue an HLC timestamp after observing `after` (`CeilingClock.tick(wallMillis:after:)`)
        /// and answer with `ballotStamped`.
        case stampBallot(after: UInt64)
        /// Send to a member; a send to this node itself goes to its own acceptor.
        case send(to: NodeID, PaxosMessage)
        /// The proposal is over; the instance ignores every later event.
        case finished(Outcome)
    }

    struct Round: Sendable, Equatable {
        var ballot: Ballot
        var attempt: Int
        var deadlineMillis: UInt64
        /// Members that cannot answer this round.
        var unreachable: Set<NodeID> = []
    }

    enum Phase: Sendable, Equatable {
        case idle
        case stamping(attempt: Int)
        case preparing(Round, promisedBy: Set<NodeID>, highestAccepted: PaxosAcceptor.Accepted?)
        case accepting(Round, value: [UInt8], acceptedBy: Set<NodeID>)
        case backingOff(attempt: Int, untilMillis: UInt64)
        case finished(Outcome)
    }

    public let node: NodeID
    public let members: [NodeID]
    public let settings: Settings
    private(set) var phase: Phase = .idle
    private(set) var value: [UInt8] = []
    private(set) var deadlineMillis: UInt64 = 0
    /// The highest ballot seen in a refusal or a promise; the next ballot goes above it.
    public private(set) var highestSeen: Ballot?
    private var random: SplitMix64

    /// `members` are every node of the instance, this one included; `seed` drives the backoff.
    public init(node: NodeID, members: [NodeID], settings: Settings = Settings(), seed: UInt64, highestSeen: Ballot? = nil) {
        precondition(members.contains(node), "the proposer \(node) must be a member of \(members)")
        precondition(Set(members).count == members.count, "members must be distinct: \(members)")
        self.node = node
        self.members = members
        self.settings = settings
        self.random = SplitMix64(seed: seed)
        self.highestSeen = highestSeen
    }

    public var majority: Int { members.count / 2 + 1 }

    /// The outcome once finished.
    public var outcome: Outcome? {
        if case .finished(let outcome) = phase { return outcome }
        return nil
    }

    /// The next time `tick` can change something, for the shell's timer; nil when idle or finished.
    public var nextDeadlineMillis: UInt64? {
        switch phase {
        case .idle, .finished: return nil
        case .stamping: return deadlineMillis
        case .preparing(let round, _, _), .accepting(let round, _, _): return min(round.deadlineMillis, deadlineMillis)
        case .backingOff(_, let until): return min(until, deadlineMillis)
        }
    }

    public mutating func handle(_ event: Event, now: UInt64) -> [Action] {
        switch event {
        case .propose(let value):
            return propose(value, now: now)
        case .ballotStamped(let stamp):
            return ballotStamped(stamp, now: now)
        case .receive(let from, let message):
            guard members.contains(from) else { return [] }
            return receive(from: from, message, now: now)
        case .unreachable(let member):
            return unreachable(member, now: now)
        case .tick:
            return tick(now: now)
        }
    }

    // MARK: - Rounds

    mutating func propose(_ value: [UInt8], now: UInt64) -> [Action] {
        guard case .idle = phase else { preconditionFailure("proposer \(node) asked to propose twice, in phase \(phase)") }
        self.value = value
        deadlineMillis = now + settings.deadlineMillis
        return askForBallot(attempt: 1)
    }

    mutating func askForBallot(attempt: Int) -> [Action] {
        phase = .stamping(attempt: attempt)
        return [.stampBallot(after: highestSeen?.timestamp ?? 0)]
    }

    mutating func ballotStamped(_ stamp: UInt64, now: UInt64) -> [Action] {
        guard case .stamping(let attempt) = phase else { return [] }  // a stamp for an attempt already over
        guard let ballot = Ballot.next(stamp: stamp, node: node, above: highestSeen) else {
            // A higher ballot arrived after the stamp was asked for; ask again above it.
            return askForBallot(attempt: attempt)
        }
        let round = Round(ballot: ballot, attempt: attempt, deadlineMillis: now + settings.roundTimeoutMillis)
        phase = .preparing(round, promisedBy: [], highestAccepted: nil)
        return members.map { .send(to: $0, .prepare(ballot)) }
    }

    mutating func receive(from: NodeID, _ message: PaxosMessage, now: UInt64) -> [Action] {
        switch message {
        case .promise(let ballot, let accepted):
            return promised(ballot, by: from, accepted: accepted)
        case .accepted(let ballot):
            return accepted(ballot, by: from)
        case .nack(let ballot, let promised):
            return refused(ballot, promised: promised, now: now)
        case .decided(let value):
            return learned(value)
        case .prepare, .accept:
            return []  // for the acceptor
        }
    }

    mutating func promised(_ ballot: Ballot, by member: NodeID, accepted: PaxosAcceptor.Accepted?) -> [Action] {
        guard case .preparing(let round, var promisedBy, var highest) = phase, round.ballot == ballot else { return [] }
        guard promisedBy.insert(member).inserted else { return [] }  // a duplicate
        if let accepted, highest.map({ accepted.ballot > $0.ballot }) ?? true {
            highest = accepted
        }
        guard promisedBy.count >= majority else {
            phase = .preparing(round, promisedBy: promisedBy, highestAccepted: highest)
            return []
        }
        // Paxos' one rule: a value accepted by some member of this majority may have been chosen,
        // so the one accepted at the highest ballot is proposed instead of our own.
        let proposal = highest?.value ?? value
        phase = .accepting(round, value: proposal, acceptedBy: [])
        return members.map { .send(to: $0, .accept(ballot, value: proposal)) }
    }

    mutating func accepted(_ ballot: Ballot, by member: NodeID) -> [Action] {
        guard case .accepting(let round, let proposal, var acceptedBy) = phase, round.ballot == ballot else { return [] }
        guard acceptedBy.insert(member).inserted else { return [] }
        guard acceptedBy.count >= majority else {
            phase = .accepting(round, value: proposal, acceptedBy: acceptedBy)
            return []
        }
        phase = .finished(.decided(value: proposal))
        var actions: [Action] = members.filter { $0 != node }.map { .send(to: $0, .decided(value: proposal)) }
        actions.append(.finished(.decided(value: proposal)))
        return actions
    }

    /// A refusal of the current ballot ends the round: someone holds a higher one, and waiting
    /// for the others cannot help it. Refusals of older ballots only teach the higher ballot.
    mutating func refused(_ ballot: Ballot, promised: Ballot, now: UInt64) -> [Action] {
        if highestSeen.map({ promised > $0 }) ?? true { highestSeen = promised }
        guard let round = currentRound, round.ballot == ballot else { return [] }
        return abandon(round, now: now)
    }

    mutating func learned(_ value: [UInt8]) -> [Action] {
        switch phase {
        case .idle, .finished:
            return []
        case .stamping, .preparing, .accepting, .backingOff:
            phase = .finished(.decided(value: value))
            return [.finished(.decided(value: value))]
        }
    }

    mutating func unreachable(_ member: NodeID, now: UInt64) -> [Action] {
        guard members.contains(member), var round = currentRound else { return [] }
        round.unreachable.insert(member)
        switch phase {
        case .preparing(_, let promisedBy, let highest):
            phase = .preparing(round, promisedBy: promisedBy, highestAccepted: highest)
            return majorityStillPossible(round, answered: promisedBy) ? [] : abandon(round, now: now)
        case .accepting(_, let proposal, let acceptedBy):
            phase = .accepting(round, value: proposal, acceptedBy: acceptedBy)
            return majorityStillPossible(round, answered: acceptedBy) ? [] : abandon(round, now: now)
        case .idle, .stamping, .backingOff, .finished:
            return []
        }
    }

    func majorityStillPossible(_ round: Round, answered: Set<NodeID>) -> Bool {
        let silent = round.unreachable.subtracting(answered).count
        return members.count - silent >= majority
    }

    mutating func tick(now: UInt64) -> [Action] {
        switch phase {
        case .idle, .finished:
            return []
        case .stamping, .preparing, .accepting, .backingOff:
            break
        }
        if now >= deadlineMillis {
            return finish(.failed(.deadlineExceeded))
        }
        switch phase {
        case .idle, .finished, .stamping:
            return []
        case .preparing(let round, _, _), .accepting(let round, _, _):
            return now >= round.deadlineMillis ? abandon(round, now: now) : []
        case .backingOff(let attempt, let until):
            return now >= until ? askForBallot(attempt: attempt + 1) : []
        }
    }

    /// Ends the round: fails after the last attempt, otherwise backs off for a random time.
    mutating func abandon(_ round: Round, now: UInt64) -> [Action] {
        guard round.attempt < settings.attemptsMax else {
            return finish(.failed(.noMajority(attempts: round.attempt)))
        }
        let shift = UInt64(min(round.attempt - 1, 20))
        let cap = min(settings.backoffMaxMillis, settings.backoffBaseMillis << shift)
        let delay = 1 + UInt64(random.next(below: Int(cap)))
        phase = .backingOff(attempt: round.attempt, untilMillis: now + delay)
        return []
    }

    mutating func finish(_ outcome: Outcome) -> [Action] {
        phase = .finished(outcome)
        return [.finished(outcome)]
    }

    var currentRound: Round? {
        switch phase {
        case .preparing(let round, _, _), .accepting(let round, _, _): return round
        case .idle, .stamping, .backingOff, .finished: return nil
        }
    }
}
