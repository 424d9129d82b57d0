import TernCore

/// The catalog the whole cluster agrees on, as a log of slots with one single-decree Paxos
/// instance per slot (DESIGN.md §4), as a pure state machine.
///
/// The catalog at version v is the result of applying the decided entries of slots 1…v in order;
/// a change validated against version v is proposed for slot v + 1. If that slot is decided with
/// another node's change, this node learns and applies it, and the proposal ends `superseded`:
/// the caller re-validates against the new version (where a CreateTable of the same name now
/// fails with ResourceInUseException) and proposes again for the next slot. Because every node
/// applies the same entries in the same order, anything derived from that order — a table id
/// taken from the slot or from a counter in the catalog — is the same on every node, unique,
/// and never reused.
///
/// Durability and catch-up:
/// - Acceptor state is made durable before any promise or acceptance is sent
///   (`persistAcceptorThenSend`). Decided entries come out as `apply`, in slot order, exactly
///   once each; after them `forgetAcceptorStates` lets the shell delete the acceptor state of
///   slots that are applied, whose decision makes that state useless.
/// - A node starts `catchingUp`: it asks every peer for the slots after its last applied one,
///   applies what comes back in order, and reports `caughtUp` once a majority of members
///   (itself included) has nothing newer; the catalog serves only after that. Later it asks one
///   peer every `catchUpIntervalMillis`, and at once when a message shows it is behind.
/// - Peers answer from the decided entries they retain (`decidedRetainedMax`); a peer asking for
///   slots older than those gets `sendSnapshot`: the shell sends the applied catalog itself,
///   and the receiver reports `snapshotInstalled` once it holds it durably.
///
/// Bounds: one proposal in flight and `proposalsQueuedMax` queued; acceptors and learned entries
/// only for `slotsAheadMax` slots past the last applied one; `decidedRetainedMax` entries kept
/// for catch-up; a change at most `changeBytesMax`; a catch-up answer at most
/// `catchUpEntriesMax` entries and `catchUpBytesMax` bytes of changes.
public struct CatalogLog: Sendable {
    public struct Settings: Sendable, Equatable {
        public var proposer: PaxosProposer.Settings
        /// Proposals waiting behind the one in flight; more are refused at once.
        public var proposalsQueuedMax: Int
        /// Slots past the last applied one for which acceptor state or learned entries are kept;
        /// a message about a slot further ahead is dropped and starts a catch-up.
        public var slotsAheadMax: UInt64
        /// Decided entries kept in memory to answer catch-up requests.
        public var decidedRetainedMax: Int
        public var catchUpEntriesMax: Int
        public var catchUpBytesMax: Int
        /// The largest change a proposal may carry.
        public var changeBytesMax: Int
        /// How often a node asks a peer for newer slots (and, catching up, re-asks the silent ones).
        public var catchUpIntervalMillis: UInt64

        public init(
            proposer: PaxosProposer.Settings = .init(), proposalsQueuedMax: Int = 64, slotsAheadMax: UInt64 = 64,
            decidedRetainedMax: Int = 1_024, catchUpEntriesMax: Int = 64, catchUpBytesMax: Int = 1 << 20,
            changeBytesMax: Int = 64 << 10, catchUpIntervalMillis: UInt64 = 1_000
        ) {
            self.proposer = proposer
            self.proposalsQueuedMax = proposalsQueuedMax
            self.slotsAheadMax = slotsAheadMax
            self.decidedRetainedMax = decidedRetainedMax
            self.catchUpEntriesMax = catchUpEntriesMax
            self.catchUpBytesMax = catchUpBytesMax
            self.changeBytesMax = changeBytesMax
            self.catchUpIntervalMillis = catchUpIntervalMillis
        }

        public func validate() throws(ConfigurationError) {
            try proposer.validate()
            guard proposalsQueuedMax >= 0, slotsAheadMax >= 1, decidedRetainedMax >= 1, catchUpEntriesMax >= 1 else {
                throw ConfigurationError("catalog log bounds must be at least 1 (queued proposals at least 0)")
            }
            guard changeBytesMax >= 1, catchUpBytesMax >= changeBytesMax else {
                throw ConfigurationError("a catalog catch-up answer must hold at least one change of the largest size")
            }
            guard catchUpIntervalMillis >= 1 else { throw ConfigurationError("catalog catch-up interval must be at least 1 ms") }
        }
    }

    /// What the shell read back at start-up.
    public struct Restored: Sendable, Equatable {
        /// The last slot applied durably: the catalog's version.
        public var appliedThrough: UInt64
        /// The decided entries of the last slots up to `appliedThrough`, oldest first (as many as
        /// the shell keeps; at most `decidedRetainedMax` are used).
        public var recentDecided: [CatalogEntry]
        /// Persisted acceptor states by slot.
        public var acceptors: [UInt64: PaxosAcceptor.State]

        public init(appliedThrough: UInt64 = 0, recentDecided: [CatalogEntry] = [], acceptors: [UInt64: PaxosAcceptor.State] = [:]) {
            precondition(UInt64(recentDecided.count) <= appliedThrough, "more decided entries than applied slots")
            self.appliedThrough = appliedThrough
            self.recentDecided = recentDecided
            self.acceptors = acceptors
        }
    }

    public enum Event: Sendable, Equatable {
        /// Once, after start-up: begin catching up.
        case start
        /// Propose `entry` (its origin is this node), validated against catalog version `basedOn`.
        case propose(OperationID, CatalogEntry, basedOn: UInt64)
        /// The shell's answer to `stampBallot`.
        case ballotStamped(UInt64)
        case receive(from: NodeID, CatalogMessage)
        /// A send to this member failed at once (no connection, open circuit breaker).
        case unreachable(NodeID)
        /// The shell durably installed a peer's catalog snapshot at this version.
        case snapshotInstalled(version: UInt64)
        /// Time passed: proposal timeouts and backoff, periodic catch-up.
        case tick
    }

    public enum Refusal: Sendable, Equatable {
        case queueFull
        case changeTooLarge
    }

    public enum Outcome: Sendable, Equatable {
        /// The change is decided in slot `version`, and was applied (`apply`) before this outcome.
        case committed(version: UInt64)
        /// The slot went to another change (or the catalog moved past `basedOn`): re-validate
        /// against `version` and propose again.
        case superseded(version: UInt64)
        /// No majority in time; retryable. The change may still be decided later (it is then
        /// applied like any other entry), so a retry must re-validate first.
        case failed(PaxosProposer.Failure)
        case refused(Refusal)
    }

    public enum Action: Sendable, Equatable {
        case send(to: NodeID, CatalogMessage)
        /// Make the acceptor state of `slot` durable, then send the message (nothing if the
        /// write fails). The shell applies these writes in the order given.
        case persistAcceptorThenSend(slot: UInt64, PaxosAcceptor.State, to: NodeID, CatalogMessage)
        /// Issue an HLC timestamp after observing `after`; answer with `ballotStamped`.
        case stampBallot(after: UInt64)
        /// Apply the decided entry of `slot` to the catalog durably, before the actions after it.
        /// Slots come in order, each once.
        case apply(slot: UInt64, CatalogEntry)
        /// The acceptor states of slots up to this one are no longer needed; delete them.
        case forgetAcceptorStates(through: UInt64)
        /// Send the applied catalog (with its version) to a peer too far behind for entries.
        case sendSnapshot(to: NodeID)
        /// A majority has nothing newer than `version`: the catalog may serve.
        case caughtUp(version: UInt64)
        case finished(OperationID, Outcome)
    }

    enum Sync: Sendable, Equatable {
        /// Not yet serving: waiting for a majority that has nothing newer.
        case catchingUp(confirmedBy: Set<NodeID>, askedAtMillis: UInt64)
        /// Serving; asks one peer now and then.
        case current(askedAtMillis: UInt64)
    }

    struct Proposal: Sendable {
        var id: OperationID
        var entry: CatalogEntry
        var basedOn: UInt64
    }

    struct Active: Sendable {
        var proposal: Proposal
        var slot: UInt64
        var proposer: PaxosProposer
    }

    public let node: NodeID
    public let members: [NodeID]
    public let settings: Settings
    /// The last slot applied: the catalog's version.
    public private(set) var appliedThrough: UInt64
    var sync: Sync = .catchingUp(confirmedBy: [], askedAtMillis: 0)
    var acceptors: [UInt64: PaxosAcceptor] = [:]
    /// Decided entries not yet applied because an earlier slot is still unknown.
    var learned: [UInt64: CatalogEntry] = [:]
    /// Decided entries of slots `retainedFirstSlot…appliedThrough`, for catch-up answers.
    var retained: [CatalogEntry]
    var retainedFirstSlot: UInt64
    var active: Active?
    var queue: [Proposal] = []
    /// When a catch-up was last asked because a message showed this node behind (rate limit).
    var behindAskedAtMillis: UInt64?
    var nextPeer = 0
    private var random: SplitMix64

    public init(node: NodeID, members: [NodeID], settings: Settings = Settings(), restored: Restored = Restored(), seed: UInt64) {
        precondition(members.contains(node), "\(node) must be a member of \(members)")
        precondition(Set(members).count == members.count, "members must be distinct: \(members)")
        self.node = node
        self.members = members
        self.settings = settings
        self.random = SplitMix64(seed: seed)
        appliedThrough = restored.appliedThrough
        retained = Array(restored.recentDecided.suffix(settings.decidedRetainedMax))
        retainedFirstSlot = restored.appliedThrough + 1 - UInt64(retained.count)
        // Every restored state past the applied slots is kept, even beyond the window: forgetting
        // one would break its promise once the window reaches its slot.
        for (slot, state) in restored.acceptors where slot > restored.appliedThrough {
            acceptors[slot] = PaxosAcceptor(restoring: state)
        }
    }

    public var majority: Int { members.count / 2 + 1 }
    public var isCaughtUp: Bool {
        if case .current = sync { return true }
        return false
    }
    public var queuedProposalCount: Int { queue.count }
    public var hasProposalInFlight: Bool { active != nil }
    /// Slots with acceptor state in memory.
    public var acceptorSlotCount: Int { acceptors.count }
    var peers: [NodeID] { members.filter { $0 != node } }

    /// The next time `tick` has something to do (a proposal's timeout or backoff, the next
    /// catch-up request), for the shell's timer.
    public var nextDeadlineMillis: UInt64 {
        let askedAt: UInt64
        switch sync {
        case .catchingUp(_, let at), .current(let at): askedAt = at
        }
        let catchUp = askedAt + settings.catchUpIntervalMillis
        return active?.proposer.nextDeadlineMillis.map { min($0, catchUp) } ?? catchUp
    }

    func isWithinWindow(_ slot: UInt64) -> Bool {
        slot > appliedThrough && slot - appliedThrough <= settings.slotsAheadMax
    }

    public mutating func handle(_ event: Event, now: UInt64) -> [Action] {
        switch event {
        case .start:
            return start(now: now)
        case .propose(let id, let entry, let basedOn):
            return propose(Proposal(id: id, entry: entry, basedOn: basedOn), now: now)
        case .ballotStamped(let stamp):
            return drive(.ballotStamped(stamp), now: now)
        case .receive(let from, let message):
            guard members.contains(from) else { return [] }
            return receive(from: from, message, now: now)
        case .unreachable(let member):
            return drive(.unreachable(member), now: now)
        case .snapshotInstalled(let version):
            return snapshotInstalled(version, now: now)
        case .tick:
            return drive(.tick, now: now) + periodicCatchUp(now: now)
        }
    }

    // MARK: - Proposals

    mutating func propose(_ proposal: Proposal, now: UInt64) -> [Action] {
        precondition(proposal.entry.origin == node, "a proposal of \(node) carries origin \(proposal.entry.origin)")
        guard proposal.entry.change.count <= settings.changeBytesMax else {
            return [.finished(proposal.id, .refused(.changeTooLarge))]
        }
        guard active != nil else { return startNext(proposal, now: now) }
        guard queue.count < settings.proposalsQueuedMax else {
            return [.finished(proposal.id, .refused(.queueFull))]
        }
        queue.append(proposal)
        return []
    }

    /// Starts `proposal` (or the next queued ones) until one is in flight or none is left; a
    /// proposal validated against an older version than the current one is superseded at once.
    mutating func startNext(_ first: Proposal? = nil, now: UInt64) -> [Action] {
        var actions: [Action] = []
        var next = first
        while active == nil, let proposal = next ?? (queue.isEmpty ? nil : queue.removeFirst()) {
            next = nil
            guard proposal.basedOn == appliedThrough else {
                actions.append(.finished(proposal.id, .superseded(version: appliedThrough)))
                continue
            }
            let slot = appliedThrough + 1
            let proposer = PaxosProposer(node: node, members: members, settings: settings.proposer, seed: random.next())
            active = Active(proposal: proposal, slot: slot, proposer: proposer)
            actions += drive(.propose(proposal.entry.encoded()), now: now)
        }
        return actions
    }

    /// Feeds the proposer in flight and turns its actions into the log's.
    mutating func drive(_ event: PaxosProposer.Event, now: UInt64) -> [Action] {
        guard var current = active else { return [] }
        let proposerActions = current.proposer.handle(event, now: now)
        active = current
        var actions: [Action] = []
        for action in proposerActions {
            switch action {
            case .stampBallot(let after):
                actions.append(.stampBallot(after: after))
            case .send(let to, let message):
                actions.append(.send(to: to, .paxos(slot: current.slot, message)))
            case .finished(.decided(let value)):
                // The proposer only ever decides values that passed `validEntry` or its own.
                guard let entry = CatalogEntry(decoding: value) else { preconditionFailure("undecodable decided value in slot \(current.slot)") }
                actions += learn(current.slot, entry, source: nil, now: now)
            case .finished(.failed(let failure)):
                active = nil
                actions.append(.finished(current.proposal.id, .failed(failure)))
                actions += startNext(now: now)
            }
        }
        return actions
    }

    /// Ends the proposal in flight once its slot is applied: committed if its own entry was
    /// chosen there, superseded otherwise.
    mutating func settleActive(now: UInt64) -> [Action] {
        guard let current = active, current.slot <= appliedThrough else { return [] }
        active = nil
        let chosen = decidedEntry(current.slot)
        let outcome: Outcome = chosen == current.proposal.entry ? .committed(version: current.slot) : .superseded(version: appliedThrough)
        return [.finished(current.proposal.id, outcome)] + startNext(now: now)
    }

    // MARK: - Messages

    mutating func receive(from: NodeID, _ message: CatalogMessage, now: UInt64) -> [Action] {
        switch message {
        case .paxos(let slot, let paxos):
            guard slot >= 1, isValid(paxos) else { return [] }
            return receivePaxos(from: from, slot: slot, paxos, now: now)
        case .catchUpRequest(let after):
            return answerCatchUp(to: from, after: after)
        case .catchUpAnswer(let after, let entries, let theirs):
            guard entries.count <= settings.catchUpEntriesMax, entries.allSatisfy({ $0.change.count <= settings.changeBytesMax }),
                  entries.reduce(0, { $0 + $1.change.count }) <= settings.catchUpBytesMax else { return [] }
            return catchUpAnswered(by: from, after: after, entries: entries, theirs: theirs, now: now)
        }
    }

    /// Values are only what proposers of this log encode; anything else (oversized, corrupt,
    /// hostile) is dropped before an acceptor can accept it or a learner apply it.
    func isValid(_ message: PaxosMessage) -> Bool {
        switch message {
        case .prepare, .accepted, .nack, .promise(_, accepted: nil):
            return true
        case .promise(_, accepted: let accepted?):
            return validEntry(accepted.value) != nil
        case .accept(_, let value), .decided(let value):
            return validEntry(value) != nil
        }
    }

    func validEntry(_ value: [UInt8]) -> CatalogEntry? {
        guard let entry = CatalogEntry(decoding: value), entry.change.count <= settings.changeBytesMax else { return nil }
        return entry
    }

    mutating func receivePaxos(from: NodeID, slot: UInt64, _ message: PaxosMessage, now: UInt64) -> [Action] {
        switch message {
        case .prepare, .accept:
            return acceptorReceive(from: from, slot: slot, message, now: now)
        case .promise, .accepted, .nack:
            guard active?.slot == slot else { return [] }  // a reply to a proposal that is over
            return drive(.receive(from: from, message), now: now)
        case .decided(let value):
            return learn(slot, validEntry(value)!, source: from, now: now)
        }
    }

    /// A slot already applied here has a decision; the proposer learns it instead of a promise
    /// (safe: whatever it would learn from a majority is that decision). A slot too far ahead
    /// means this node is behind: it catches up instead of keeping state for it.
    mutating func acceptorReceive(from: NodeID, slot: UInt64, _ message: PaxosMessage, now: UInt64) -> [Action] {
        if slot <= appliedThrough {
            guard let entry = decidedEntry(slot) else {
                return [.send(to: from, .catchUpAnswer(after: appliedThrough, entries: [], appliedThrough: appliedThrough))]
            }
            return [.send(to: from, .paxos(slot: slot, .decided(value: entry.encoded())))]
        }
        guard isWithinWindow(slot) else { return askBecauseBehind(from, now: now) }
        var acceptor = acceptors[slot] ?? PaxosAcceptor()
        let action = acceptor.handle(message)
        acceptors[slot] = acceptor
        switch action {
        case .persistThenReply(let state, let reply):
            return [.persistAcceptorThenSend(slot: slot, state, to: from, .paxos(slot: slot, reply))]
        case .reply(let reply):
            return [.send(to: from, .paxos(slot: slot, reply))]
        case .none:
            return []
        }
    }

    // MARK: - Learning and applying

    /// Records a decided entry and applies every slot that is now contiguous with the applied
    /// ones; a gap before it means some slot was missed, so a catch-up is asked for (from the
    /// node that sent the entry, which knows at least that much, else from the next peer).
    mutating func learn(_ slot: UInt64, _ entry: CatalogEntry, source: NodeID?, now: UInt64) -> [Action] {
        guard isWithinWindow(slot) else { return [] }
        learned[slot] = entry
        var actions = applyContiguous()
        actions += settleActive(now: now)
        if !learned.isEmpty, let peer = source.flatMap({ $0 == node ? nil : $0 }) ?? nextPeerInTurn() {
            actions += askBecauseBehind(peer, now: now)
        }
        return actions
    }

    mutating func applyContiguous() -> [Action] {
        var actions: [Action] = []
        while let entry = learned.removeValue(forKey: appliedThrough + 1) {
            appliedThrough += 1
            acceptors.removeValue(forKey: appliedThrough)
            retain(entry)
            actions.append(.apply(slot: appliedThrough, entry))
        }
        if !actions.isEmpty { actions.append(.forgetAcceptorStates(through: appliedThrough)) }
        return actions
    }

    mutating func retain(_ entry: CatalogEntry) {
        retained.append(entry)
        let excess = retained.count - settings.decidedRetainedMax
        if excess > 0 {
            retained.removeFirst(excess)
            retainedFirstSlot += UInt64(excess)
        }
    }

    func decidedEntry(_ slot: UInt64) -> CatalogEntry? {
        guard slot >= retainedFirstSlot, slot <= appliedThrough else { return nil }
        return retained[Int(slot - retainedFirstSlot)]
    }

    mutating func snapshotInstalled(_ version: UInt64, now: UInt64) -> [Action] {
        guard version > appliedThrough else { return [] }
        appliedThrough = version
        retained = []
        retainedFirstSlot = version + 1
        acceptors = acceptors.filter { $0.key > version }
        learned = learned.filter { $0.key > version }
        var actions: [Action] = [.forgetAcceptorStates(through: version)]
        actions += applyContiguous()
        actions += settleActive(now: now)
        // Still catching up: ask again from the new version, so the answers that confirm it
        // come now rather than at the next interval.
        if case .catchingUp(let confirmedBy, _) = sync {
            actions += askPeers(peers.filter { !confirmedBy.contains($0) }, now: now)
        }
        return actions
    }

    // MARK: - Catch-up

    mutating func start(now: UInt64) -> [Action] {
        let forget: [Action] = appliedThrough > 0 ? [.forgetAcceptorStates(through: appliedThrough)] : []
        return forget + confirmIfMajority(confirmedBy: [], now: now) + askPeers(peers, now: now)
    }

    /// Asks `targets` for newer slots while catching up; a cluster of one is caught up at once.
    mutating func askPeers(_ targets: [NodeID], now: UInt64) -> [Action] {
        guard case .catchingUp(let confirmedBy, _) = sync else { return [] }
        sync = .catchingUp(confirmedBy: confirmedBy, askedAtMillis: now)
        return targets.map { .send(to: $0, .catchUpRequest(after: appliedThrough)) }
    }

    mutating func confirmIfMajority(confirmedBy: Set<NodeID>, now: UInt64) -> [Action] {
        guard confirmedBy.count + 1 >= majority else { return [] }
        sync = .current(askedAtMillis: now)
        return [.caughtUp(version: appliedThrough)]
    }

    mutating func periodicCatchUp(now: UInt64) -> [Action] {
        switch sync {
        case .catchingUp(let confirmedBy, let askedAt):
            guard now >= askedAt + settings.catchUpIntervalMillis else { return [] }
            return askPeers(peers.filter { !confirmedBy.contains($0) }, now: now)
        case .current(let askedAt):
            guard now >= askedAt + settings.catchUpIntervalMillis else { return [] }
            // Moved even with no peer to ask, so the next deadline is ahead (a cluster of one
            // would otherwise have a deadline in the past, and its shell would tick without pause).
            sync = .current(askedAtMillis: now)
            guard !peers.isEmpty, let peer = nextPeerInTurn() else { return [] }
            return [.send(to: peer, .catchUpRequest(after: appliedThrough))]
        }
    }

    /// Peers in turn, so one that is down does not stall catch-up.
    mutating func nextPeerInTurn() -> NodeID? {
        let peers = self.peers
        guard !peers.isEmpty else { return nil }
        defer { nextPeer = (nextPeer + 1) % peers.count }
        return peers[nextPeer % peers.count]
    }

    /// At most one such request per interval, however many messages show this node behind.
    mutating func askBecauseBehind(_ peer: NodeID, now: UInt64) -> [Action] {
        if let askedAt = behindAskedAtMillis, now < askedAt + settings.catchUpIntervalMillis { return [] }
        guard peer != node else { return [] }
        behindAskedAtMillis = now
        return [.send(to: peer, .catchUpRequest(after: appliedThrough))]
    }

    func answerCatchUp(to peer: NodeID, after: UInt64) -> [Action] {
        guard after < appliedThrough else {
            return [.send(to: peer, .catchUpAnswer(after: after, entries: [], appliedThrough: appliedThrough))]
        }
        guard after + 1 >= retainedFirstSlot else { return [.sendSnapshot(to: peer)] }
        var entries: [CatalogEntry] = []
        var bytes = 0
        var slot = after + 1
        while slot <= appliedThrough, entries.count < settings.catchUpEntriesMax, let entry = decidedEntry(slot) {
            guard entries.isEmpty || bytes + entry.change.count <= settings.catchUpBytesMax else { break }
            entries.append(entry)
            bytes += entry.change.count
            slot += 1
        }
        return [.send(to: peer, .catchUpAnswer(after: after, entries: entries, appliedThrough: appliedThrough))]
    }

    mutating func catchUpAnswered(by peer: NodeID, after: UInt64, entries: [CatalogEntry], theirs: UInt64, now: UInt64) -> [Action] {
        var actions: [Action] = []
        for (offset, entry) in entries.enumerated() {
            actions += learn(after + 1 + UInt64(offset), entry, source: peer, now: now)
        }
        if theirs > appliedThrough {
            // More to fetch: continue the conversation with the same peer, one batch at a time.
            return actions + [.send(to: peer, .catchUpRequest(after: appliedThrough))]
        }
        if case .catchingUp(var confirmedBy, let askedAt) = sync {
            confirmedBy.insert(peer)
            sync = .catchingUp(confirmedBy: confirmedBy, askedAtMillis: askedAt)
            actions += confirmIfMajority(confirmedBy: confirmedBy, now: now)
        }
        return actions
    }
}
