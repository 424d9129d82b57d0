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
/// Today the preference list of every key is this node alone (N = R = W = 1); the next issue
/// replaces `replicas(for:)` with the partition map without changing the shape of events and
/// actions.
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

        public init(
            replicationFactor: Int = 1, writeQuorum: Int = 1, readQuorum: Int = 1,
            lockWaitersPerKeyMax: Int = 64, lockWaitersMax: Int = 4096, lockWaitMillis: UInt64 = 2_000,
            clockCeilingWindowMillis: UInt64 = 10_000
        ) {
            self.replicationFactor = replicationFactor
            self.writeQuorum = writeQuorum
            self.readQuorum = readQuorum
            self.lockWaitersPerKeyMax = lockWaitersPerKeyMax
            self.lockWaitersMax = lockWaitersMax
            self.lockWaitMillis = lockWaitMillis
            self.clockCeilingWindowMillis = clockCeilingWindowMillis
        }

        /// Today a node is a cluster of one: N = R = W = 1 is the only valid placement.
        public func validate() throws(ConfigurationError) {
            guard replicationFactor == 1, writeQuorum == 1, readQuorum == 1 else {
                throw ConfigurationError("a single node replicates with N = R = W = 1 (got N=\(replicationFactor) R=\(readQuorum) W=\(writeQuorum))")
            }
            guard lockWaitersPerKeyMax >= 1, lockWaitersMax >= lockWaitersPerKeyMax else {
                throw ConfigurationError("lock waiter bounds must be at least 1, and the total at least the per-key bound")
            }
            guard lockWaitMillis >= 1 else { throw ConfigurationError("lock wait must be at least 1 ms") }
            guard clockCeilingWindowMillis >= 100 else { throw ConfigurationError("clock ceiling window must be at least 100 ms") }
        }
    }

    public enum Event: Sendable {
        /// A client write of one key of table `tableId` (conditional or not): lock, read, decide, write.
        case update(OperationID, key: [UInt8], tableId: UInt32)
        /// A replica answered a `readReplica`.
        case replicaRead(OperationID, replica: NodeID, ReplicaRead)
        /// The shell's answer to `decide`.
        case decided(OperationID, Decision)
        /// A replica answered a `writeReplica`: nil when the version is durable there.
        case replicaWrote(OperationID, replica: NodeID, failure: ReplicaFailure?)
        /// The ceiling asked for by `persistClockCeiling` is durable (or failed to be).
        case clockCeilingPersisted(UInt64, succeeded: Bool)
        /// A timestamp seen on another node's version (peers; the next issue).
        case observeTimestamp(UInt64)
        /// DeleteTable: refuse new writes of the table; report `tableDrained` when none is left.
        case fenceTable(UInt32)
        /// Time passed: expire lock waiters whose deadline is over.
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
        /// Anything else: unreachable, closed, an I/O error.
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
        case writeReplica(OperationID, replica: NodeID, key: [UInt8], value: StoredValue)
        /// Make `ceiling` durable (system key space) and report `clockCeilingPersisted`.
        case persistClockCeiling(UInt64)
        case reply(OperationID, Outcome)
        /// Every write accepted before the fence of this table has replied.
        case tableDrained(UInt32)
    }

    // MARK: - State

    enum Phase: Sendable {
        case waitingForLock(deadlineMillis: UInt64)
        case readingCurrent
        case deciding(current: StoredValue?)
        case waitingForClock(current: StoredValue?, item: Item?)
        case writing(old: StoredValue?, new: StoredValue, acks: Int, failures: Int)
    }

    struct Operation: Sendable {
        var key: [UInt8]
        /// The table whose in-flight count this write holds (see fences).
        var tableId: UInt32
        var phase: Phase
    }

    public let node: NodeID
    public let settings: Settings
    var operations: [OperationID: Operation] = [:]
    var locks = KeyLocks()
    var fencedTables: Set<UInt32> = []
    var writesInFlight: [UInt32: Int] = [:]
    var drainsAwaited: Set<UInt32> = []
    var clock: CeilingClock

    /// `recoveredClockCeiling`: the last durable ceiling read back at start-up (0 for a new node).
    public init(node: NodeID, settings: Settings = Settings(), recoveredClockCeiling: UInt64) {
        self.node = node
        self.settings = settings
        self.clock = CeilingClock(durableCeiling: recoveredClockCeiling, windowMillis: settings.clockCeilingWindowMillis)
    }

    /// Operations in progress (reads, writes, lock waiters); bounded by the shell's callers.
    public var operationCount: Int { operations.count }
    /// Keys whose lock is held.
    public var lockedKeyCount: Int { locks.lockedKeyCount }
    /// Operations waiting for a key lock.
    public var lockWaiterCount: Int { locks.waiterCount }

    /// Where keys live; immutable, so reads use it without the instance (see `ReadRound`).
    public var placement: Placement { Placement(node: node, settings: settings) }

    func replicas(for key: [UInt8]) -> [NodeID] {
        placement.replicas(for: key)
    }

    // MARK: - Events

    public mutating func handle(_ event: Event, now: Now) -> [Action] {
        switch event {
        case .update(let id, let key, let tableId):
            return startUpdate(id, key: key, tableId: tableId, now: now)
        case .replicaRead(let id, let replica, let result):
            return replicaRead(id, replica: replica, result)
        case .decided(let id, let decision):
            return decided(id, decision, now: now)
        case .replicaWrote(let id, let replica, let failure):
            return replicaWrote(id, replica: replica, failure: failure)
        case .clockCeilingPersisted(let ceiling, let succeeded):
            return clockCeilingPersisted(ceiling, succeeded: succeeded, now: now)
        case .observeTimestamp(let remote):
            return clock.observe(remote, wallMillis: now.wallMillis).map { [.persistClockCeiling($0)] } ?? []
        case .fenceTable(let tableId):
            return fence(tableId)
        case .tick:
            return expireLockWaiters(now: now)
        }
    }

    // MARK: Reads

    mutating func replicaRead(_ id: OperationID, replica: NodeID, _ result: ReplicaRead) -> [Action] {
        guard let operation = operations[id] else { return [] }  // a late answer after the reply
        switch operation.phase {
        case .readingCurrent:
            switch result {
            case .value(let current):
                operations[id]!.phase = .deciding(current: current)
                return [.decide(id, current: current)]
            case .failed(let failure):
                return finishWrite(id, .failed(.quorumNotReached(failure)))
            }
        case .waitingForLock, .deciding, .waitingForClock, .writing:
            preconditionFailure("replica read for \(id) in phase \(operation.phase)")
        }
    }



    // MARK: Writes

    mutating func startUpdate(_ id: OperationID, key: [UInt8], tableId: UInt32, now: Now) -> [Action] {
        precondition(operations[id] == nil, "operation \(id) started twice")
        if fencedTables.contains(tableId) {
            return [.reply(id, .failed(.tableDeleted))]
        }
        switch locks.acquire(key, by: id, perKeyMax: settings.lockWaitersPerKeyMax, totalMax: settings.lockWaitersMax) {
        case .refused:
            return [.reply(id, .failed(.lockQueueFull))]
        case .waiting:
            writesInFlight[tableId, default: 0] += 1
            operations[id] = Operation(key: key, tableId: tableId, phase: .waitingForLock(deadlineMillis: now.monotonicMillis + settings.lockWaitMillis))
            return []
        case .granted:
            writesInFlight[tableId, default: 0] += 1
            operations[id] = Operation(key: key, tableId: tableId, phase: .readingCurrent)
            return readCurrent(id, key: key)
        }
    }

    func readCurrent(_ id: OperationID, key: [UInt8]) -> [Action] {
        // The lock holder reads its key from the first replica; per-key Paxos among the
        // replicas replaces this when N > 1 (DESIGN.md §5).
        [.readReplica(id, replica: replicas(for: key)[0], key: key)]
    }

    mutating func decided(_ id: OperationID, _ decision: Decision, now: Now) -> [Action] {
        guard let operation = operations[id], case .deciding(let current) = operation.phase else {
            preconditionFailure("decision for \(id) outside its deciding phase: \(String(describing: operations[id]?.phase))")
        }
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
        let key = operations[id]!.key
        switch clock.tick(wallMillis: now.wallMillis, after: current?.timestamp) {
        case .timestamp(let timestamp, let persist):
            // The new version descends from the one it replaces (Dynamo §4.4).
            let new = StoredValue.successor(of: current, item: item, node: node, timestamp: timestamp)
            operations[id]!.phase = .writing(old: current, new: new, acks: 0, failures: 0)
            var actions: [Action] = persist.map { [.persistClockCeiling($0)] } ?? []
            for replica in replicas(for: key).prefix(settings.replicationFactor) {
                actions.append(.writeReplica(id, replica: replica, key: key, value: new))
            }
            return actions
        case .mustWait(let persist):
            operations[id]!.phase = .waitingForClock(current: current, item: item)
            return persist.map { [.persistClockCeiling($0)] } ?? []
        }
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

    mutating func replicaWrote(_ id: OperationID, replica: NodeID, failure: ReplicaFailure?) -> [Action] {
        guard let operation = operations[id] else { return [] }  // a late acknowledgement
        guard case .writing(let old, let new, var acks, var failures) = operation.phase else {
            preconditionFailure("write acknowledgement for \(id) in phase \(operation.phase)")
        }
        if let failure {
            failures += 1
            let asked = min(settings.replicationFactor, replicas(for: operation.key).count)
            if asked - failures < settings.writeQuorum {
                return finishWrite(id, .failed(.quorumNotReached(failure)))
            }
        } else {
            acks += 1
            if acks >= settings.writeQuorum {
                return finishWrite(id, .written(old: old, new: new))
            }
        }
        operations[id]!.phase = .writing(old: old, new: new, acks: acks, failures: failures)
        return []
    }

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
            operations[next]!.phase = .readingCurrent
            actions += readCurrent(next, key: operation.key)
        }
        actions += writeFinished(tableId: operation.tableId)
        return actions
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
        let remaining = writesInFlight[tableId, default: 0] - 1
        precondition(remaining >= 0, "table \(tableId) in-flight count below zero")
        writesInFlight[tableId] = remaining == 0 ? nil : remaining
        if remaining == 0, drainsAwaited.remove(tableId) != nil {
            return [.tableDrained(tableId)]
        }
        return []
    }

    // MARK: Deadlines

    mutating func expireLockWaiters(now: Now) -> [Action] {
        let expired = operations.compactMap { entry -> OperationID? in
            guard case .waitingForLock(let deadline) = entry.value.phase, deadline <= now.monotonicMillis else { return nil }
            return entry.key
        }.sorted()
        return expired.flatMap { finishWrite($0, .failed(.lockTimeout)) }
    }
}
