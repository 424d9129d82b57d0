import TernCore

/// Identifies one client operation inside a coordinator. Allocated by the shell, unique for the
/// life of the process.
public struct OperationID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static func < (lhs: OperationID, rhs: OperationID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "op\(rawValue)" }
}

/// What a coordinator is told about time on every event: the wall clock (for HLC timestamps,
/// which must stay close to real time) and a monotonic clock (for deadlines, which must not jump).
public struct Now: Sendable, Equatable {
    public var wallMillis: UInt64
    public var monotonicMillis: UInt64

    public init(wallMillis: UInt64, monotonicMillis: UInt64) {
        self.wallMillis = wallMillis
        self.monotonicMillis = monotonicMillis
    }
}

/// The coordinator of item reads and writes (DESIGN.md §1, §5), as a pure state machine
/// (STYLE.md: instance, shell, action).
///
/// Events and `now` go in; actions come out: read this key on that replica, let the API decide
/// the new item, write this version to that replica, reply. The instance never awaits, reads a
/// clock or touches storage; a shell carries the actions out and feeds their results back.
///
/// What it decides:
/// - **Reads** keep no state here: each is its own small machine, `ReadRound`, which asks the
///   replicas of the key's preference list and answers after R of them, so reads never contend
///   for the instance that serialises writes.
/// - **Writes** are read-modify-writes serialised per key: an operation takes the key's lock
///   (waiters queue in FIFO order, bounded in number and in time), reads the current version,
///   asks the shell to `decide` (conditions, update expressions: API logic), stamps the new
///   version — it descends from the one it replaces and carries an HLC timestamp — and sends it
///   to the N replicas; it is acknowledged after W of them made it durable.
/// - **Table fences**: once DeleteTable fences a table id, no new write of that table is
///   accepted, and `tableDrained` tells the shell when the writes already accepted are done, so
///   the table's range delete runs after every write that raced it.
/// - **The HLC** never issues a timestamp above the last durable clock ceiling, so a restart
///   (even with a wall clock stepped back) resumes above every timestamp ever stored.
///
/// - **Replicas**: every write carries a `ReplicaPlan` (the key's preference list and fallbacks
///   from the partition map, W and R). Before deciding, a write reads N − W + 1 replicas, so it
///   sees every acknowledged write; it sends the new version to the N replicas, a replica that is
///   down or fails is replaced by the next fallback with a hint for it (sloppy quorum, Dynamo
///   §4.6), and the write is acknowledged after W durable acknowledgements.
/// - **Applies**: a version another coordinator sends to this node's replica is reconciled with
///   the one held, under the same key lock, and stored only if it is not dominated (§4.4).
public struct Coordinator: Sendable {
    public struct Settings: Sendable, Equatable {
        /// N: replicas of every key.
        public var replicationFactor: Int
        /// W: durable replica acknowledgements before a write is acknowledged.
        public var writeQuorum: Int
        /// R: replica answers before a read is answered.
        public var readQuorum: Int
        /// Operations that may wait for one key's lock; more are refused at once.
        public var lockWaitersPerKeyMax: Int
        /// Operations that may wait for any key lock in total.
        public var lockWaitersMax: Int
        /// How long an operation may wait for a key's lock before it fails (retryable).
        public var lockWaitMillis: UInt64
        /// How far ahead of the wall clock a persisted clock ceiling is set.
        public var clockCeilingWindowMillis: UInt64
        /// How long a write waits for its replicas (reads before the write, then the W
        /// acknowledgements) before it fails, retryable; the transport's own deadlines normally
        /// answer first, this bounds the operation whatever the shell does.
        public var replicaTimeoutMillis: UInt64

        public init(
            replicationFactor: Int = 1, writeQuorum: Int = 1, readQuorum: Int = 1,
            lockWaitersPerKeyMax: Int = 64, lockWaitersMax: Int = 4096, lockWaitMillis: UInt64 = 2_000,
            clockCeilingWindowMillis: UInt64 = 10_000, replicaTimeoutMillis: UInt64 = 5_000
        ) {
            self.replicationFactor = replicationFactor
            self.writeQuorum = writeQuorum
            self.readQuorum = readQuorum
            self.lockWaitersPerKeyMax = lockWaitersPerKeyMax
            self.lockWaitersMax = lockWaitersMax
            self.lockWaitMillis = lockWaitMillis
            self.clockCeilingWindowMillis = clockCeilingWindowMillis
            self.replicaTimeoutMillis = replicaTimeoutMillis
        }

        /// N at least 1; W and R between 1 and N.
        public func validate() throws(ConfigurationError) {
            guard (1...16).contains(replicationFactor) else {
                throw ConfigurationError("replication factor N must be between 1 and 16 (got \(replicationFactor))")
            }
            guard (1...replicationFactor).contains(writeQuorum), (1...replicationFactor).contains(readQuorum) else {
                throw ConfigurationError("write quorum W and read quorum R must be between 1 and N = \(replicationFactor) (got W=\(writeQuorum) R=\(readQuorum))")
            }
            guard lockWaitersPerKeyMax >= 1, lockWaitersMax >= lockWaitersPerKeyMax else {
                throw ConfigurationError("lock waiter bounds must be at least 1, and the total at least the per-key bound")
            }
            guard lockWaitMillis >= 1 else { throw ConfigurationError("lock wait must be at least 1 ms") }
            guard clockCeilingWindowMillis >= 100 else { throw ConfigurationError("clock ceiling window must be at least 100 ms") }
            guard replicaTimeoutMillis >= 1 else { throw ConfigurationError("replica timeout must be at least 1 ms") }
        }
    }

    public enum Event: Sendable {
        /// A client write of one key of table `tableId` (conditional or not): lock, read, decide,
        /// write. `plan` nil: this node alone (a cluster of one).
        case update(OperationID, key: [UInt8], tableId: UInt32, plan: ReplicaPlan? = nil)
        /// A version another coordinator (or a hint) sends to this node's replica of `key`.
        case apply(OperationID, key: [UInt8], tableId: UInt32, value: StoredValue)
        /// A replica answered a `readReplica`.
        case replicaRead(OperationID, replica: NodeID, ReplicaRead)
        /// The shell's answer to `decide`.
        case decided(OperationID, Decision)
        /// The shell's answer to `readAndDecide`: this node's version of the key (nil: never
        /// written) and the API's decision on it.
        case decidedOnRead(OperationID, current: StoredValue?, Decision)
        /// A replica answered a `writeReplica` (`hintFor` as in the action): nil when the version
        /// is durable there.
        case replicaWrote(OperationID, replica: NodeID, failure: ReplicaFailure?, hintFor: NodeID? = nil)
        /// The ceiling asked for by `persistClockCeiling` is durable (or failed to be).
        case clockCeilingPersisted(UInt64, succeeded: Bool)
        /// A timestamp seen on another node's version.
        case observeTimestamp(UInt64)
        /// Whether the shell can reach a node now (its breaker is closed, its connection up).
        /// Writes skip unreachable replicas at once instead of waiting for them.
        case reachability(NodeID, reachable: Bool)
        /// DeleteTable: refuse new writes of the table; report `tableDrained` when none is left.
        case fenceTable(UInt32)
        /// Time passed: expire lock waiters and replica waits whose deadline is over.
        case tick
    }

    public enum ReplicaRead: Sendable, Equatable {
        case value(StoredValue?)
        case failed(ReplicaFailure)
    }

    public enum Decision: Sendable, Equatable {
        /// Store this item (nil: a tombstone).
        case write(Item?)
        /// Change nothing; the operation succeeds.
        case keep
        /// The API refused the write (a failed condition, a validation error): change nothing.
        case abort
    }

    public enum ReplicaFailure: Sendable, Equatable {
        /// The read could not be answered from memory (the shell retries it where blocking is allowed).
        case wouldBlock
        /// The replica's queues are full.
        case overloaded
        /// The replica has fenced the key's table (DeleteTable): the client gets
        /// ResourceNotFoundException, as from a single node, not a retryable error.
        case tableDeleted
        /// Anything else: unreachable, closed, timed out, an I/O error.
        case unavailable(String)
    }

    public enum Failure: Sendable, Equatable {
        /// The table was fenced by DeleteTable before this write was accepted.
        case tableDeleted
        /// Too many operations already wait for this key (or for any key).
        case lockQueueFull
        /// The key's lock was not granted within `lockWaitMillis`.
        case lockTimeout
        /// Fewer than R (reads) or W (writes) replicas answered; the last replica failure.
        case quorumNotReached(ReplicaFailure)
        /// The clock ceiling could not be made durable, so no timestamp could be issued.
        case clockUnavailable
        /// The shell's `decide` aborted the write.
        case aborted
    }

    public enum Outcome: Sendable, Equatable {
        case read(StoredValue?)
        case written(old: StoredValue?, new: StoredValue)
        case unchanged(StoredValue?)
        case failed(Failure)
    }

    public enum Action: Sendable, Equatable {
        case readReplica(OperationID, replica: NodeID, key: [UInt8])
        /// Ask the API what to write, given the current version (nil: never written).
        case decide(OperationID, current: StoredValue?)
        /// Read this node's replica of `key` and, if it answers, ask the API what to write given
        /// that version: a `readReplica` and a `decide` in one step, for a write whose read
        /// quorum is this node alone (a cluster of one, W = N), as the read costs no network.
        /// Answered by `decidedOnRead`, or by `replicaRead` with the read's failure.
        case readAndDecide(OperationID, key: [UInt8])
        /// Make `value` durable on `replica`: in its data when `hintFor` is nil, otherwise as a
        /// hint the replica keeps for `hintFor` and delivers when that node is back (Dynamo §4.6).
        case writeReplica(OperationID, replica: NodeID, key: [UInt8], value: StoredValue, hintFor: NodeID?)
        /// Make `ceiling` durable (system key space) and report `clockCeilingPersisted`.
        case persistClockCeiling(UInt64)
        case reply(OperationID, Outcome)
        /// Every write accepted before the fence of this table has replied.
        case tableDrained(UInt32)
        /// Keep a hint on this node for `target`: a write was acknowledged to its client before
        /// `target` (a replica, or the fallback holding a hint for it) answered, and then it
        /// failed or stayed silent past the replica deadline. Nobody waits for this hint.
        case storeHint(key: [UInt8], value: StoredValue, target: NodeID)
    }

    // MARK: - State

    enum Phase: Sendable {
        case waitingForLock(deadlineMillis: UInt64)
        case readingCurrent(CurrentRead)
        case deciding(current: StoredValue?)
        case waitingForClock(current: StoredValue?, item: Item?)
        case writing(WriteRound)
        /// An apply reads this node's version to reconcile `incoming` with it.
        case applying(incoming: StoredValue)
    }

    /// The replicas a write reads before it decides, and what they answered.
    struct CurrentRead: Sendable {
        var asked: [NodeID]
        var answers: [StoredValue?] = []
        var failures = 0
        var needed: Int
        var lastFailure: ReplicaFailure?
    }

    /// One target of a write: a replica of the preference list, or a fallback holding a hint for one.
    struct WriteTarget: Sendable, Equatable {
        var replica: NodeID
        var hintFor: NodeID?
        var answered = false
        /// Whether its acknowledgement counts toward W: not for a hint the coordinator keeps
        /// itself when no fallback is left (Cassandra's hinted handoff: the copy is delivered
        /// later, but it adds no durability now).
        var countsTowardQuorum = true
    }

    /// A version on its way to the replicas.
    struct WriteRound: Sendable {
        var old: StoredValue?
        var new: StoredValue
        var targets: [WriteTarget] = []
        var acks = 0
        var failures = 0
        var lastFailure: ReplicaFailure?
        /// Fallbacks not used yet, in ring order.
        var spareFallbacks: [NodeID]
    }

    /// A write acknowledged (W reached) while some of its remote targets had not answered: if one
    /// of them fails or stays silent past the deadline, this node keeps a hint for its replica, so
    /// that replica still gets the version (Dynamo §4.6; Cassandra hints a replica that misses the
    /// write timeout even after the client had its answer).
    struct TrailingWrite: Sendable {
        var key: [UInt8]
        var value: StoredValue
        var targets: [WriteTarget]
        var deadlineMillis: UInt64
    }

    /// Trailing writes followed at most; beyond it a write's silent replicas get no hint (read
    /// repair and anti-entropy find them).
    public static let trailingWritesMax = 16_384

    struct Operation: Sendable {
        var key: [UInt8]
        /// The table whose in-flight count this write holds (see fences).
        var tableId: UInt32
        var plan: ReplicaPlan
        var phase: Phase
        /// When waiting for replicas must end (reads before the write, acknowledgements).
        var replicaDeadlineMillis: UInt64 = .max
        /// For an apply: the version to reconcile once the key's lock is granted.
        var pendingApply: StoredValue?
    }

    public let node: NodeID
    public let settings: Settings
    var operations: [OperationID: Operation] = [:]
    var trailing: [OperationID: TrailingWrite] = [:]
    var locks = KeyLocks()
    var fencedTables: Set<UInt32> = []
    var writesInFlight: [UInt32: Int] = [:]
    var drainsAwaited: Set<UInt32> = []
    var clock: CeilingClock
    /// Nodes the shell reported unreachable; bounded by the cluster's members.
    var unreachable: Set<NodeID> = []
    /// The time of the event being handled, for work that an event of another operation starts
    /// (a lock handed over).
    var lastNow = Now(wallMillis: 0, monotonicMillis: 0)

    /// `recoveredClockCeiling`: the last durable ceiling read back at start-up (0 for a new node).
    public init(node: NodeID, settings: Settings = Settings(), recoveredClockCeiling: UInt64) {
        self.node = node
        self.settings = settings
        self.clock = CeilingClock(durableCeiling: recoveredClockCeiling, windowMillis: settings.clockCeilingWindowMillis)
    }

    /// Operations in progress (writes, applies, lock waiters); bounded by the shell's callers.
    public var operationCount: Int { operations.count }
    /// Keys whose lock is held.
    public var lockedKeyCount: Int { locks.lockedKeyCount }
    /// Operations waiting for a key lock.
    public var lockWaiterCount: Int { locks.waiterCount }

    /// Where keys live on a cluster of one; immutable, so reads use it without the instance
    /// (see `ReadRound`).
    public var placement: Placement { Placement(node: node, settings: settings) }

    /// This node's plan for a key when the shell gives none: itself alone.
    var localPlan: ReplicaPlan { .single(node) }

    func isReachable(_ replica: NodeID) -> Bool {
        replica == node || !unreachable.contains(replica)
    }

    /// Whether `nodes` is this node alone (compared without building `[node]` on every write).
    func isThisNodeAlone(_ nodes: [NodeID]) -> Bool {
        nodes.count == 1 && nodes[0] == node
    }

    // MARK: - Events

    public mutating func handle(_ event: Event, now: Now) -> [Action] {
        lastNow = now
        switch event {
        case .update(let id, let key, let tableId, let plan):
            return startUpdate(id, key: key, tableId: tableId, plan: plan ?? localPlan, now: now)
        case .apply(let id, let key, let tableId, let value):
            return startApply(id, key: key, tableId: tableId, value: value, now: now)
        case .replicaRead(let id, let replica, let result):
            return replicaRead(id, replica: replica, result, now: now)
        case .decided(let id, let decision):
            return decided(id, decision, now: now)
        case .decidedOnRead(let id, let current, let decision):
            return decidedOnRead(id, current: current, decision, now: now)
        case .replicaWrote(let id, let replica, let failure, let hintFor):
            return replicaWrote(id, replica: replica, failure: failure, hintFor: hintFor)
        case .clockCeilingPersisted(let ceiling, let succeeded):
            return clockCeilingPersisted(ceiling, succeeded: succeeded, now: now)
        case .observeTimestamp(let remote):
            return observe(remote, now: now)
        case .reachability(let replica, let reachable):
            if reachable { unreachable.remove(replica) } else if replica != node { unreachable.insert(replica) }
            return []
        case .fenceTable(let tableId):
            return fence(tableId)
        case .tick:
            return expireDeadlines(now: now)
        }
    }

    mutating func observe(_ remote: UInt64, now: Now) -> [Action] {
        clock.observe(remote, wallMillis: now.wallMillis).map { [.persistClockCeiling($0)] } ?? []
    }

    /// A fresh timestamp of this node's HLC, issued after observing `after`, for a user outside
    /// the coordinator: the catalog's Paxos ballots (`CatalogLog.Action.stampBallot`) and proposal
    /// numbers. It comes from the same durable-ceiling clock as every write's timestamp, so it
    /// never repeats, not even across a restart. Nil when the clock must wait for a durable
    /// ceiling: the shell carries out the actions (a ceiling to persist) and asks again.
    public mutating func issueTimestamp(after: UInt64, now: Now) -> (timestamp: UInt64?, actions: [Action]) {
        lastNow = now
        switch clock.tick(wallMillis: now.wallMillis, after: after) {
        case .timestamp(let timestamp, let persist):
            return (timestamp, persist.map { [.persistClockCeiling($0)] } ?? [])
        case .mustWait(let persist):
            return (nil, persist.map { [.persistClockCeiling($0)] } ?? [])
        }
    }

    // MARK: Reads before a write

    /// Asks N − W + 1 reachable replicas of the preference list for the current version, this
    /// node first when it is one (its answer costs no network).
    mutating func readCurrent(_ id: OperationID, now: Now) -> [Action] {
        let index = operations.index(forKey: id)!
        let plan = operations.values[index].plan
        if isThisNodeAlone(plan.preference) {
            // A cluster of one: no list to order (the common single-node write allocates less),
            // and the read and the decision are one step.
            operations.values[index].phase = .readingCurrent(CurrentRead(asked: plan.preference, needed: 1))
            operations.values[index].replicaDeadlineMillis = now.monotonicMillis + settings.replicaTimeoutMillis
            return [.readAndDecide(id, key: operations.values[index].key)]
        }
        let operation = operations.values[index]
        let reachable = plan.preference.filter(isReachable)
        let ordered = reachable.filter { $0 == node } + reachable.filter { $0 != node }
        // N − W + 1 when that many are reachable; otherwise whoever is: whether the write can
        // be acknowledged is W's to say (a W = 1 write must not need every replica up just to
        // read). With fewer than N − W + 1 reachable, W replicas are not reachable either,
        // except through fallbacks, and a write W accepts that way may decide on an older
        // version: the sloppy quorum's known cost (docs/consistency.md).
        let needed = min(plan.readBeforeWriteQuorum, ordered.count)
        // Fail before reading when W cannot be reached: reachable replicas, plus reachable
        // fallbacks standing in for unreachable ones, are all the acknowledgements there can be.
        let standIns = min(plan.replicationFactor - reachable.count, plan.fallbacks.count(where: isReachable))
        guard needed >= 1, reachable.count + standIns >= plan.writeQuorum else {
            let unreachable = plan.replicationFactor - reachable.count
            return finishWrite(id, .failed(.quorumNotReached(.unavailable("\(unreachable) of \(plan.replicationFactor) replicas unreachable"))))
        }
        let asked = Array(ordered.prefix(needed))
        operations[id]!.phase = .readingCurrent(CurrentRead(asked: asked, needed: needed))
        operations[id]!.replicaDeadlineMillis = now.monotonicMillis + settings.replicaTimeoutMillis
        if isThisNodeAlone(asked) {
            return [.readAndDecide(id, key: operation.key)]  // W = N: this node's read suffices
        }
        return asked.map { .readReplica(id, replica: $0, key: operation.key) }
    }

    mutating func replicaRead(_ id: OperationID, replica: NodeID, _ result: ReplicaRead, now: Now) -> [Action] {
        guard let operation = operations[id] else { return [] }  // a late answer after the reply
        switch operation.phase {
        case .readingCurrent(var read):
            guard read.asked.contains(replica) else { return [] }  // a duplicate or stray answer
            switch result {
            case .value(let value):
                read.answers.append(value)
                if let timestamp = value?.timestamp, replica != node {
                    return observe(timestamp, now: now) + currentAnswered(id, read)
                }
            case .failed(let failure):
                read.failures += 1
                read.lastFailure = failure
                // Ask the next reachable replica not asked yet, if any.
                if let next = operation.plan.preference.first(where: { isReachable($0) && !read.asked.contains($0) }) {
                    read.asked.append(next)
                    operations[id]!.phase = .readingCurrent(read)
                    return [.readReplica(id, replica: next, key: operation.key)]
                }
            }
            return currentAnswered(id, read)
        case .applying(let incoming):
            precondition(replica == node, "an apply reads only this node's replica")
            switch result {
            case .value(let held):
                return reconcileApply(id, held: held, incoming: incoming, now: now)
            case .failed(let failure):
                return finishWrite(id, .failed(.quorumNotReached(failure)))
            }
        case .waitingForLock, .deciding, .waitingForClock, .writing:
            return []  // a duplicate answer of a read already decided
        }
    }

    mutating func currentAnswered(_ id: OperationID, _ read: CurrentRead) -> [Action] {
        if read.answers.count >= read.needed {
            let current = ReadRound.newest(read.answers)
            operations[id]!.phase = .deciding(current: current)
            operations[id]!.replicaDeadlineMillis = .max
            return [.decide(id, current: current)]
        }
        if read.answers.count + (read.asked.count - read.answers.count - read.failures) < read.needed {
            return finishWrite(id, .failed(.quorumNotReached(read.lastFailure ?? .unavailable("no replica answered"))))
        }
        operations[id]!.phase = .readingCurrent(read)
        return []
    }

    // MARK: Writes

    mutating func startUpdate(_ id: OperationID, key: [UInt8], tableId: UInt32, plan: ReplicaPlan, now: Now) -> [Action] {
        precondition(operations[id] == nil, "operation \(id) started twice")
        if fencedTables.contains(tableId) {
            return [.reply(id, .failed(.tableDeleted))]
        }
        let phase: Phase
        switch locks.acquire(key, by: id, perKeyMax: settings.lockWaitersPerKeyMax, totalMax: settings.lockWaitersMax) {
        case .refused:
            return [.reply(id, .failed(.lockQueueFull))]
        case .waiting:
            phase = .waitingForLock(deadlineMillis: now.monotonicMillis + settings.lockWaitMillis)
        case .granted:
            phase = .readingCurrent(CurrentRead(asked: [], needed: 0))
        }
        writesInFlight[tableId, default: 0] += 1
        operations[id] = Operation(key: key, tableId: tableId, plan: plan, phase: phase)
        if case .waitingForLock = phase { return [] }
        return readCurrent(id, now: now)
    }

    /// A `readAndDecide` answered: this node's version is the current one (the read quorum is
    /// this node alone), and the API decided on it.
    mutating func decidedOnRead(_ id: OperationID, current: StoredValue?, _ decision: Decision, now: Now) -> [Action] {
        guard let index = operations.index(forKey: id), case .readingCurrent(let read) = operations.values[index].phase,
            isThisNodeAlone(read.asked), read.answers.isEmpty
        else {
            preconditionFailure("a decision on this node's read for \(id) outside its local read: \(String(describing: operations[id]?.phase))")
        }
        operations.values[index].replicaDeadlineMillis = .max
        return settle(decision, of: id, current: current, now: now)
    }

    mutating func decided(_ id: OperationID, _ decision: Decision, now: Now) -> [Action] {
        guard let operation = operations[id], case .deciding(let current) = operation.phase else {
            preconditionFailure("decision for \(id) outside its deciding phase: \(String(describing: operations[id]?.phase))")
        }
        return settle(decision, of: id, current: current, now: now)
    }

    /// What the API decided on `current`: nothing to write, a refusal, or a new version.
    mutating func settle(_ decision: Decision, of id: OperationID, current: StoredValue?, now: Now) -> [Action] {
        switch decision {
        case .keep:
            return finishWrite(id, .unchanged(current))
        case .abort:
            return finishWrite(id, .failed(.aborted))
        case .write(let item):
            return stamp(id, current: current, item: item, now: now)
        }
    }

    /// Gives the new version its timestamp and sends it to the replicas, or parks the operation
    /// until the clock ceiling allows a timestamp.
    mutating func stamp(_ id: OperationID, current: StoredValue?, item: Item?, now: Now) -> [Action] {
        switch clock.tick(wallMillis: now.wallMillis, after: current?.timestamp) {
        case .timestamp(let timestamp, let persist):
            // The new version descends from the one it replaces (Dynamo §4.4).
            let new = StoredValue.successor(of: current, item: item, node: node, timestamp: timestamp)
            guard let persist else { return send(id, old: current, new: new, now: now) }
            return [.persistClockCeiling(persist)] + send(id, old: current, new: new, now: now)
        case .mustWait(let persist):
            operations[id]!.phase = .waitingForClock(current: current, item: item)
            return persist.map { [.persistClockCeiling($0)] } ?? []
        }
    }

    /// Sends `new` to the N replicas of the plan; an unreachable replica's copy goes to the next
    /// reachable fallback with a hint for it (Dynamo §4.6: the hinted replica counts toward W).
    mutating func send(_ id: OperationID, old: StoredValue?, new: StoredValue, now: Now) -> [Action] {
        let index = operations.index(forKey: id)!
        let plan = operations.values[index].plan
        var round = WriteRound(old: old, new: new, spareFallbacks: plan.fallbacks)
        for owner in plan.preference {
            if isReachable(owner) {
                round.targets.append(WriteTarget(replica: owner, hintFor: nil))
            } else if let fallback = round.takeFallback(isReachable) {
                round.targets.append(WriteTarget(replica: fallback, hintFor: owner))
            } else {
                round.failures += 1
                round.lastFailure = .unavailable("replica \(owner) unreachable and no fallback left")
                round.targets.append(WriteTarget(replica: node, hintFor: owner, countsTowardQuorum: false))
            }
        }
        operations.values[index].replicaDeadlineMillis = now.monotonicMillis + settings.replicaTimeoutMillis
        return settleWrite(id, round, sending: round.targets)
    }

    /// Records the round and decides it: acknowledged once W replicas are durable, failed once W
    /// can no longer be reached; otherwise sends `sending` and waits.
    mutating func settleWrite(_ id: OperationID, _ round: WriteRound, sending: [WriteTarget]) -> [Action] {
        let index = operations.index(forKey: id)!
        let writeQuorum = operations.values[index].plan.writeQuorum
        if round.acks >= writeQuorum {
            followTrailing(id, round)
            return finishWrite(id, .written(old: round.old, new: round.new))
        }
        let outstanding = round.targets.count { !$0.answered && $0.countsTowardQuorum }
        if round.acks + outstanding < writeQuorum {
            return finishWrite(id, .failed(.quorumNotReached(round.lastFailure ?? .unavailable("no replica answered"))))
        }
        operations.values[index].phase = .writing(round)
        let key = operations.values[index].key
        return sending.map { .writeReplica(id, replica: $0.replica, key: key, value: round.new, hintFor: $0.hintFor) }
    }

    mutating func clockCeilingPersisted(_ ceiling: UInt64, succeeded: Bool, now: Now) -> [Action] {
        clock.persisted(ceiling, succeeded: succeeded)
        var actions: [Action] = []
        let parked = operations.filter { if case .waitingForClock = $0.value.phase { return true } else { return false } }
            .keys.sorted()
        for id in parked {
            guard case .waitingForClock(let current, let item) = operations[id]!.phase else { continue }
            if !succeeded {
                actions += finishWrite(id, .failed(.clockUnavailable))
                continue
            }
            // The clock asks for a ceiling only when none is in flight, so at most one of these
            // stamps carries a request.
            actions += stamp(id, current: current, item: item, now: now)
        }
        return actions
    }

    mutating func replicaWrote(_ id: OperationID, replica: NodeID, failure: ReplicaFailure?, hintFor: NodeID?) -> [Action] {
        guard let slot = operations.index(forKey: id) else {
            return trailingAnswered(id, replica: replica, failure: failure, hintFor: hintFor)  // a late acknowledgement
        }
        guard case .writing(var round) = operations.values[slot].phase,
            let index = round.targets.firstIndex(where: { $0.replica == replica && $0.hintFor == hintFor && !$0.answered })
        else {
            return []  // a duplicate acknowledgement, or one for a write already settled
        }
        // The round is moved out of the operation, so changing it copies no array; every path
        // below stores it back (directly or through `settleWrite`) or finishes the operation.
        operations.values[slot].phase = .deciding(current: nil)
        round.targets[index].answered = true
        guard round.targets[index].countsTowardQuorum else {
            operations.values[slot].phase = .writing(round)
            return []  // the coordinator's own hint: delivered later, no part of W
        }
        guard let failure else {
            round.acks += 1
            return settleWrite(id, round, sending: [])
        }
        // Sloppy quorum on failure too: the copy goes to the next reachable fallback, with a
        // hint for the replica that should have had it.
        let owner = round.targets[index].hintFor ?? replica
        if owner != node, let fallback = round.takeFallback(isReachable) {
            let target = WriteTarget(replica: fallback, hintFor: owner)
            round.targets.append(target)
            return settleWrite(id, round, sending: [target])
        }
        round.failures += 1
        round.lastFailure = failure
        // No fallback left: keep a hint here, so the replica gets the version when it is back.
        let hinted = owner != node && !round.targets.contains { $0.replica == node && $0.hintFor == owner }
        let hint = WriteTarget(replica: node, hintFor: owner, countsTowardQuorum: false)
        if hinted { round.targets.append(hint) }
        return settleWrite(id, round, sending: hinted ? [hint] : [])
    }

    // MARK: Trailing writes

    /// Follows the remote targets of an acknowledged write that have not answered yet.
    mutating func followTrailing(_ id: OperationID, _ round: WriteRound) {
        let silent = round.targets.filter { !$0.answered && $0.countsTowardQuorum && $0.replica != node }
        guard !silent.isEmpty, trailing.count < Self.trailingWritesMax, let operation = operations[id] else { return }
        trailing[id] = TrailingWrite(key: operation.key, value: round.new, targets: silent, deadlineMillis: operation.replicaDeadlineMillis)
    }

    /// A target of an acknowledged write answered: a failure leaves a hint here for its replica.
    mutating func trailingAnswered(_ id: OperationID, replica: NodeID, failure: ReplicaFailure?, hintFor: NodeID?) -> [Action] {
        guard var write = trailing[id], let index = write.targets.firstIndex(where: { $0.replica == replica && $0.hintFor == hintFor }) else {
            return []
        }
        let target = write.targets.remove(at: index)
        trailing[id] = write.targets.isEmpty ? nil : write
        guard let failure, failure != .tableDeleted else { return [] }
        return hint(write, for: target)
    }

    func hint(_ write: TrailingWrite, for target: WriteTarget) -> [Action] {
        let owner = target.hintFor ?? target.replica
        return owner == node ? [] : [.storeHint(key: write.key, value: write.value, target: owner)]
    }

    /// Acknowledged writes followed now (tests, metrics).
    public var trailingWriteCount: Int { trailing.count }

    // MARK: Applies (this node as a replica of another coordinator's write)

    mutating func startApply(_ id: OperationID, key: [UInt8], tableId: UInt32, value: StoredValue, now: Now) -> [Action] {
        precondition(operations[id] == nil, "operation \(id) started twice")
        if fencedTables.contains(tableId) {
            return [.reply(id, .failed(.tableDeleted))]
        }
        let observed = observe(value.timestamp, now: now)
        let phase: Phase
        switch locks.acquire(key, by: id, perKeyMax: settings.lockWaitersPerKeyMax, totalMax: settings.lockWaitersMax) {
        case .refused:
            return observed + [.reply(id, .failed(.lockQueueFull))]
        case .waiting:
            phase = .waitingForLock(deadlineMillis: now.monotonicMillis + settings.lockWaitMillis)
        case .granted:
            phase = .applying(incoming: value)
        }
        writesInFlight[tableId, default: 0] += 1
        operations[id] = Operation(key: key, tableId: tableId, plan: localPlan, phase: phase, pendingApply: value)
        if case .waitingForLock = phase { return observed }
        return observed + [.readReplica(id, replica: node, key: key)]
    }

    /// Stores the reconciliation of what this replica holds and what arrived, unless what it
    /// holds already wins (an old or duplicate delivery changes nothing).
    mutating func reconcileApply(_ id: OperationID, held: StoredValue?, incoming: StoredValue, now: Now) -> [Action] {
        let winner = held.map { StoredValue.reconcile($0, incoming) } ?? incoming
        if let held, winner == held {
            return finishWrite(id, .unchanged(held))
        }
        let round = WriteRound(old: held, new: winner, targets: [WriteTarget(replica: node, hintFor: nil)], spareFallbacks: [])
        operations[id]!.replicaDeadlineMillis = now.monotonicMillis + settings.replicaTimeoutMillis
        return settleWrite(id, round, sending: round.targets)
    }

    // MARK: Finishing

    /// Replies, releases the key's lock (handing it to the next waiter) and the table's
    /// in-flight count (reporting a drained fenced table).
    mutating func finishWrite(_ id: OperationID, _ outcome: Outcome) -> [Action] {
        guard let operation = operations.removeValue(forKey: id) else {
            preconditionFailure("finishing unknown operation \(id)")
        }
        var actions: [Action] = [.reply(id, outcome)]
        if case .waitingForLock = operation.phase {
            locks.removeWaiter(id, of: operation.key)
        } else if let next = locks.release(operation.key, by: id) {
            actions += lockGranted(next)
        }
        actions += writeFinished(tableId: operation.tableId)
        return actions
    }

    /// The lock passed to a waiter: an apply reads this replica, a write its read quorum.
    mutating func lockGranted(_ id: OperationID) -> [Action] {
        let operation = operations[id]!
        if let incoming = operation.pendingApply {
            operations[id]!.phase = .applying(incoming: incoming)
            return [.readReplica(id, replica: node, key: operation.key)]
        }
        operations[id]!.phase = .readingCurrent(CurrentRead(asked: [], needed: 0))
        return readCurrent(id, now: lastNow)
    }

    // MARK: Fences

    mutating func fence(_ tableId: UInt32) -> [Action] {
        fencedTables.insert(tableId)
        if writesInFlight[tableId, default: 0] == 0 {
            return [.tableDrained(tableId)]
        }
        drainsAwaited.insert(tableId)
        return []
    }

    mutating func writeFinished(tableId: UInt32) -> [Action] {
        guard let index = writesInFlight.index(forKey: tableId) else {
            preconditionFailure("table \(tableId) in-flight count below zero")
        }
        writesInFlight.values[index] -= 1
        guard writesInFlight.values[index] == 0 else { return [] }
        writesInFlight.remove(at: index)
        if drainsAwaited.remove(tableId) != nil {
            return [.tableDrained(tableId)]
        }
        return []
    }

    // MARK: Deadlines

    mutating func expireDeadlines(now: Now) -> [Action] {
        var lockExpired: [OperationID] = []
        var replicaExpired: [OperationID] = []
        for (id, operation) in operations {
            if case .waitingForLock(let deadline) = operation.phase {
                if deadline <= now.monotonicMillis { lockExpired.append(id) }
            } else if operation.replicaDeadlineMillis <= now.monotonicMillis {
                replicaExpired.append(id)
            }
        }
        let timedOut = ReplicaFailure.unavailable("replicas did not answer within \(settings.replicaTimeoutMillis) ms")
        // Targets of acknowledged writes still silent at the deadline get their hint.
        var silent: [OperationID] = []
        for (id, write) in trailing where write.deadlineMillis <= now.monotonicMillis { silent.append(id) }
        silent.sort()
        let hints = silent.flatMap { id -> [Action] in
            let write = trailing.removeValue(forKey: id)!
            return write.targets.flatMap { hint(write, for: $0) }
        }
        return hints + lockExpired.sorted().flatMap { finishWrite($0, .failed(.lockTimeout)) }
            + replicaExpired.sorted().flatMap { id in
                // An earlier expiry in this loop may have finished nothing of `id`'s, but check.
                operations[id] == nil ? [] : finishWrite(id, .failed(.quorumNotReached(timedOut)))
            }
    }
}

extension Coordinator.WriteRound {
    /// The next fallback that is reachable, removed from the spares.
    mutating func takeFallback(_ isReachable: (NodeID) -> Bool) -> NodeID? {
        while !spareFallbacks.isEmpty {
            let candidate = spareFallbacks.removeFirst()
            if isReachable(candidate) { return candidate }
        }
        return nil
    }
}
