import Synchronization
import TernCluster
import TernCore
import TernStorage

/// One change to one item, as BatchWriteItem asks for it.
public struct ItemMutation: Sendable {
    public var table: TableDefinition
    public var key: PrimaryKey
    /// The new item, or nil to delete.
    public var item: Item?

    public init(table: TableDefinition, key: PrimaryKey, item: Item?) {
        self.table = table
        self.key = key
        self.item = item
    }
}

/// The shell of the pure `Coordinator` (STYLE.md: instance, shell, action): it feeds the
/// instance events with the time, and carries out its actions on this node's replica — storage
/// reads (from memory inline, otherwise on the `BlockingPool`), durable writes (group commit),
/// clock ceilings — and hands each operation's actions to the task that waits for it.
///
/// Every operation is driven by its caller's task; an operation that must wait (for a key lock,
/// for a clock ceiling) parks in its mailbox until another task's event produces its next actions.
public final class CoordinatorShell: Sendable {
    public let nodeId: String
    let storage: any StorageEngine
    let pool: BlockingPool
    let clock: @Sendable () -> Now

    struct State: Sendable {
        var machine: Coordinator
        var mailboxes: [OperationID: Mailbox] = [:]
        var drainWaiters: [UInt32: [CheckedContinuation<Void, Never>]] = [:]
        var drained: Set<UInt32> = []
    }

    enum Mailbox: Sendable {
        case parked(CheckedContinuation<[Coordinator.Action], Never>)
        case pending([Coordinator.Action])
    }

    let state: Mutex<State>
    let nextOperation = Atomic<UInt64>(0)
    /// The cluster as this node sees it; immutable, so reads use it without taking `state`.
    public let view: ClusterView
    /// How the replicas on other nodes are reached; nil on a cluster of one.
    let messenger: (any ReplicaMessenger)?
    /// Hints this node keeps for other nodes (Dynamo §4.6).
    let hints: HintStore
    /// Read repairs in flight, bounded: a repair past the bound is skipped (a later read or
    /// anti-entropy finds the replica again).
    let repairsInFlight = Atomic<Int>(0)
    /// Peers the coordinator was last told are unreachable (only `tick` changes it).
    let reportedUnreachable = Mutex<Set<NodeID>>([])
    /// The versions this node's replica stored last (`RecentWrites`): a write of a key found
    /// there, or a read of it, skips the storage read.
    let recentWrites: RecentWrites

    /// Key of the durable clock ceiling (system key space, table id 0).
    public static let clockCeilingKey = KeyEncoding.tablePrefix(0) + Array("meta/hlc-ceiling".utf8)

    /// Opens the coordinator of this node, reading back the clock ceiling a previous run left.
    public init(
        nodeId: String, storage: any StorageEngine, pool: BlockingPool,
        settings: Coordinator.Settings = Coordinator.Settings(), clock: @escaping @Sendable () -> Now,
        view: ClusterView? = nil, messenger: (any ReplicaMessenger)? = nil, hintSettings: HintQueue.Settings = .init()
    ) throws {
        try settings.validate()
        self.nodeId = nodeId
        self.storage = storage
        self.pool = pool
        self.clock = clock
        self.view = view ?? .single(nodeId)
        precondition(self.view.local == nodeId, "the view is \(self.view.local)'s, not \(nodeId)'s")
        precondition(self.view.isSingleNode || messenger != nil, "a cluster needs a messenger")
        self.messenger = messenger
        self.recentWrites = RecentWrites(writesMayOverlap: !self.view.isSingleNode)
        self.hints = try HintStore(storage: storage, settings: hintSettings, now: clock())
        let ceiling = try storage.get(CoordinatorShell.clockCeilingKey).flatMap(CoordinatorShell.decodeCeiling) ?? 0
        let machine = Coordinator(node: nodeId, settings: settings, recoveredClockCeiling: ceiling)
        self.state = Mutex(State(machine: machine))
    }

    static func decodeCeiling(_ bytes: [UInt8]) -> UInt64? {
        var reader = ByteReader(bytes)
        guard let ceiling = try? reader.uint64BigEndian(), reader.isAtEnd else { return nil }
        return ceiling
    }

    static func encodeCeiling(_ ceiling: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.uint64BigEndian(ceiling)
        return writer.bytes
    }

    // MARK: - Reads

    /// A read served from memory alone, for callers that must not block (an event loop).
    public enum CachedItem: Sendable {
        case item(Item?)
        case notCached
    }

    /// The live item under `key`, or nil if absent or deleted. `readQuorum` nil: the view's R
    /// for a consistent read, otherwise 1 (DESIGN.md §5).
    public nonisolated(nonsending) func get(_ table: TableDefinition, _ key: PrimaryKey, consistent: Bool = true, readQuorum: Int? = nil) async throws -> Item? {
        let storageKey = table.storageKey(key)
        if view.isSingleNode {
            // A cluster of one: this replica's answer is the read's (no round to build).
            return try item(of: CoordinatorShell.outcome(await readBlocking(storageKey)))
        }
        let plan = readPlan(table, storageKey, consistent: consistent, readQuorum: readQuorum)
        var round = ReadRound(key: storageKey, plan: plan, local: nodeId, reachable: isReachable)
        if let outcome = round.outcomeWithoutAsking { return try item(of: outcome) }
        if round.replicas.contains(nodeId), let outcome = round.handle(nodeId, await readBlocking(storageKey)) {
            if round.pendingAsk == nil { return try item(of: outcome) }
        }
        return try item(of: await readRemote(round))
    }

    /// The live item under `key` when this node's replica alone answers the read and can answer
    /// from memory; `.notCached` otherwise. Never suspends and never blocks.
    public func getIfCached(_ table: TableDefinition, _ key: PrimaryKey, consistent: Bool = true, readQuorum: Int? = nil) throws -> CachedItem {
        let storageKey = table.storageKey(key)
        if view.isSingleNode {
            let read = readCached(storageKey)
            if case .failed(.wouldBlock) = read { return .notCached }
            return .item(try item(of: CoordinatorShell.outcome(read)))
        }
        let plan = readPlan(table, storageKey, consistent: consistent, readQuorum: readQuorum)
        var round = ReadRound(key: storageKey, plan: plan, local: nodeId, reachable: isReachable)
        if let outcome = round.outcomeWithoutAsking { return .item(try item(of: outcome)) }
        guard round.replicas == [nodeId] else { return .notCached }
        guard let outcome = round.handle(nodeId, readCached(storageKey)), round.pendingAsk == nil else { return .notCached }
        if case .failed(.quorumNotReached(.wouldBlock)) = outcome { return .notCached }
        return .item(try item(of: outcome))
    }

    /// R: the request's header, else 1 for an eventually consistent read, else the table's tag,
    /// else the node's default (DESIGN.md §5).
    func readPlan(_ table: TableDefinition, _ key: [UInt8], consistent: Bool, readQuorum: Int?) -> ReplicaPlan {
        let replication = table.replication
        return view.plan(
            forKey: key, replicationFactor: replication.replicationFactor,
            readQuorum: readQuorum ?? (consistent ? replication.readQuorum : 1)
        )
    }

    /// The outcome of a read that one replica answers alone.
    static func outcome(_ read: Coordinator.ReplicaRead) -> Coordinator.Outcome {
        switch read {
        case .value(let value): .read(value)
        case .failed(let failure): .failed(.quorumNotReached(failure))
        }
    }

    func isReachable(_ node: NodeID) -> Bool {
        node == nodeId || (messenger?.isReachable(node) ?? false)
    }

    func item(of outcome: Coordinator.Outcome) throws -> Item? {
        guard case .read(let value) = outcome else {
            try throwFailure(outcome)
            preconditionFailure("read outcome \(outcome)")
        }
        return value?.item
    }

    // MARK: - Writes

    /// What a read-modify-write decides after seeing the current item.
    public enum UpdateDecision: Sendable {
        /// Store this item (nil deletes it: a tombstone is written).
        case write(Item?)
        /// Change nothing.
        case keep
    }

    /// Reads the current item, lets `decide` choose the new one, and writes it — atomically with
    /// respect to every other write of the same key (conditional writes, UpdateItem, ADD).
    /// `decide` may throw (ConditionalCheckFailedException, validation errors): nothing is written
    /// and the error is rethrown. Returns the old and the new live item.
    ///
    /// In a cluster, writes of a key are serialised by the first reachable replica of its
    /// preference list: elsewhere, with `mayForward`, this throws `ForwardRequired` naming that
    /// node, before anything is decided or written, and the caller sends it the request.
    public nonisolated(nonsending) func update(
        _ table: TableDefinition, _ key: PrimaryKey, writeQuorum: Int? = nil, mayForward: Bool = false, blind: Bool = false,
        _ decide: @escaping @Sendable (Item?) throws -> UpdateDecision
    ) async throws -> (old: Item?, new: Item?) {
        let storageKey = table.storageKey(key)
        let replication = table.replication
        var plan = view.plan(forKey: storageKey, replicationFactor: replication.replicationFactor, writeQuorum: writeQuorum ?? replication.writeQuorum)
        if blind, !view.isSingleNode { plan.isBlindWrite = true }
        if mayForward, !view.isSingleNode, let first = plan.preference.first(where: isReachable), first != nodeId {
            throw ForwardRequired(node: first)
        }
        let (id, actions) = start { .update($0, key: storageKey, tableId: table.tableId, plan: plan) }
        var context = WriteContext(decide: decide)
        let outcome = await drive(id, actions, context: &context)
        switch outcome {
        case .written(let old, let new): return (old?.item, new.item)
        case .unchanged(let current): return (current?.item, current?.item)
        case .failed(.aborted):
            throw context.decideError ?? DynamoDBError.internalServerError()
        case .read, .failed:
            try throwFailure(outcome)
            preconditionFailure("unreachable")
        }
    }

    /// Writes several items, each as its own atomic single-item write (BatchWriteItem is not
    /// atomic across items in DynamoDB either, and a cluster could not keep that promise). The
    /// writes run concurrently (they share group commits); each result is the previous live item
    /// or the error that kept that write from happening, in the order given.
    public func write(_ mutations: [ItemMutation]) async -> [Result<Item?, any Error>] {
        await withTaskGroup(of: (Int, Result<Item?, any Error>).self) { group in
            for (index, mutation) in mutations.enumerated() {
                group.addTask {
                    do {
                        // Blind writes, coordinated here: a concurrent write of the same key
                        // elsewhere makes concurrent versions, which every replica reconciles
                        // the same way (last writer wins).
                        let result = try await self.update(mutation.table, mutation.key, blind: true) { _ in .write(mutation.item) }
                        return (index, .success(result.old))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Result<Item?, any Error>](repeating: .success(nil), count: mutations.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    // MARK: - Table fences

    /// Refuses every later write of `tableId` and returns once the writes already accepted have
    /// finished. DeleteTable calls this before its range delete, so no write lands after it.
    public func fence(tableId: UInt32) async {
        let actions = feed(.fenceTable(tableId), as: nil)
        await carryOutUnowned(actions)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.drained.remove(tableId) != nil { return true }
                state.drainWaiters[tableId, default: []].append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        recentWrites.forgetTable(tableId)
    }

    // MARK: - Deadlines

    /// Expires lock waiters and replica waits past their deadline, and tells the coordinator
    /// which peers became reachable or unreachable. The node calls this periodically.
    public func tick() async {
        var actions: [Coordinator.Action] = []
        if let messenger {
            messenger.probeDuePeers()
            let changes = reportedUnreachable.withLock { reported -> [(NodeID, Bool)] in
                var changes: [(NodeID, Bool)] = []
                for peer in view.peers {
                    let reachable = messenger.isReachable(peer)
                    if reachable == reported.contains(peer) {
                        changes.append((peer, reachable))
                        if reachable { reported.remove(peer) } else { reported.insert(peer) }
                    }
                }
                return changes
            }
            for (peer, reachable) in changes { actions += feed(.reachability(peer, reachable: reachable), as: nil) }
        }
        actions += feed(.tick, as: nil)
        await carryOutUnowned(actions)
    }

    /// Operations in progress and lock waiters (tests, metrics).
    public var load: (operations: Int, lockedKeys: Int, lockWaiters: Int) {
        state.withLock { ($0.machine.operationCount, $0.machine.lockedKeyCount, $0.machine.lockWaiterCount) }
    }

    /// Acknowledged writes whose remote replicas have not all answered yet: each may still leave
    /// a hint here (a failure, or silence until the replica deadline).
    public var trailingWrites: Int {
        state.withLock { $0.machine.trailingWriteCount }
    }

    // MARK: - Driving operations

    /// What a write's driver keeps besides the instance: the API's decision function, the
    /// version this node's replica held (the statistics delta is taken against it) and what the
    /// decision threw. Owned by the one task that drives the write.
    struct WriteContext {
        let decide: @Sendable (Item?) throws -> UpdateDecision
        var localCurrent: StoredValue?
        var decideError: (any Error)?

        init(decide: @escaping @Sendable (Item?) throws -> UpdateDecision) {
            self.decide = decide
        }
    }

    /// Allocates an operation and feeds its first event.
    ///
    /// Mailboxes: actions another task's event produces for an operation (a lock handed over, a
    /// ceiling made durable, a deadline) wait in its mailbox until its driver takes them, so
    /// none is lost whether or not the driver is parked yet. A mailbox opens when the first
    /// such action arrives or when the driver parks, and closes with the operation's reply; an
    /// operation that never waits (the common write) never has one.
    func start(_ event: (OperationID) -> Coordinator.Event) -> (OperationID, [Coordinator.Action]) {
        let id = OperationID(nextOperation.add(1, ordering: .relaxed).newValue)
        let now = clock()
        let actions = withState(as: id) { state in state.machine.handle(event(id), now: now) }
        return (id, actions)
    }

    /// Feeds an event; returns the actions of `owner` and those of no operation. Actions of
    /// other operations go to their mailboxes, waking parked drivers after the lock is released.
    func feed(_ event: Coordinator.Event, as owner: OperationID?) -> [Coordinator.Action] {
        let now = clock()
        return withState(as: owner) { state in state.machine.handle(event, now: now) }
    }

    func withState(as owner: OperationID?, _ body: (inout State) -> [Coordinator.Action]) -> [Coordinator.Action] {
        var wakeups: [(CheckedContinuation<[Coordinator.Action], Never>, [Coordinator.Action])] = []
        var drainWakeups: [CheckedContinuation<Void, Never>] = []
        let kept = state.withLock { state -> [Coordinator.Action] in
            let actions = body(&state)
            let kept = route(actions, owner: owner, in: &state, wakeups: &wakeups, drainWakeups: &drainWakeups)
            // The reply closes the owner's mailbox (its driver is running and takes the reply
            // itself). Actions still waiting there came first and are carried out too: a hint this
            // node must keep for a replica that failed while its own copy was being written.
            if let owner, !state.mailboxes.isEmpty, CoordinatorShell.containsReply(kept, for: owner),
                let mailbox = state.mailboxes.removeValue(forKey: owner), case .pending(let earlier) = mailbox, !earlier.isEmpty
            {
                return earlier + kept
            }
            return kept
        }
        for (continuation, actions) in wakeups { continuation.resume(returning: actions) }
        for continuation in drainWakeups { continuation.resume() }
        return kept
    }

    func route(
        _ actions: [Coordinator.Action], owner: OperationID?, in state: inout State,
        wakeups: inout [(CheckedContinuation<[Coordinator.Action], Never>, [Coordinator.Action])],
        drainWakeups: inout [CheckedContinuation<Void, Never>]
    ) -> [Coordinator.Action] {
        // The common case: every action is the caller's own (or nobody's): nothing to route.
        let foreign = actions.contains { action in
            if case .tableDrained = action { return true }
            return CoordinatorShell.owner(of: action).map { $0 != owner } ?? false
        }
        guard foreign else { return actions }
        var kept: [Coordinator.Action] = []
        var delivered: [OperationID: [Coordinator.Action]] = [:]
        for action in actions {
            if case .tableDrained(let tableId) = action {
                if let waiters = state.drainWaiters.removeValue(forKey: tableId) {
                    drainWakeups += waiters
                } else {
                    state.drained.insert(tableId)
                }
                continue
            }
            guard let target = CoordinatorShell.owner(of: action), target != owner else {
                kept.append(action)
                continue
            }
            delivered[target, default: []].append(action)
        }
        for (target, actions) in delivered {
            switch state.mailboxes[target] {
            case .parked(let continuation)?:
                // The reply closes the mailbox; otherwise it stays open, empty, for what follows.
                state.mailboxes[target] = CoordinatorShell.containsReply(actions, for: target) ? nil : .pending([])
                wakeups.append((continuation, actions))
            case .pending(let earlier)?:
                state.mailboxes[target] = .pending(earlier + actions)
            case nil:
                state.mailboxes[target] = .pending(actions)  // the driver has not parked yet
            }
        }
        return kept
    }

    static func containsReply(_ actions: [Coordinator.Action], for id: OperationID) -> Bool {
        actions.contains { if case .reply(id, _) = $0 { true } else { false } }
    }

    static func owner(of action: Coordinator.Action) -> OperationID? {
        switch action {
        case .readReplica(let id, _, _), .decide(let id, _), .readAndDecide(let id, _), .writeReplica(let id, _, _, _, _), .reply(let id, _):
            return id
        case .persistClockCeiling, .tableDrained, .storeHint: return nil
        }
    }

    /// Carries out `id`'s actions until its reply. Actions of other operations that appear on
    /// the way belong to their own drivers (delivered through mailboxes); ceilings are persisted
    /// by whichever driver sees the request.
    nonisolated(nonsending) func drive(_ id: OperationID, _ initial: [Coordinator.Action], context: inout WriteContext) async -> Coordinator.Outcome {
        var pending = initial
        while true {
            var reply: Coordinator.Outcome?
            var next: [Coordinator.Action] = []
            // Requests to other nodes go out first, so they travel while this node syncs its own.
            if !view.isSingleNode { pending = pending.filter { !isLocal($0) } + pending.filter(isLocal) }
            for action in pending {
                if case .reply(let op, let outcome) = action {
                    precondition(op == id, "reply for \(op) reached the driver of \(id)")
                    reply = outcome
                } else {
                    let following = await carryOut(action, for: id, context: &context)
                    if next.isEmpty { next = following } else { next += following }  // no copy in the usual case
                }
            }
            if let reply {
                // Nothing of ours can follow a reply (its mailbox closed with it); ceilings asked
                // for on the way still get persisted.
                if !next.isEmpty { await carryOutUnowned(next) }
                return reply
            }
            if next.isEmpty {
                next = await park(id)
            }
            pending = next
        }
    }

    /// Waits for actions another driver produced for `id`.
    nonisolated(nonsending) func park(_ id: OperationID) async -> [Coordinator.Action] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[Coordinator.Action], Never>) in
            let ready = state.withLock { state -> [Coordinator.Action]? in
                switch state.mailboxes[id] {
                case .pending(let actions)? where !actions.isEmpty:
                    state.mailboxes[id] = CoordinatorShell.containsReply(actions, for: id) ? nil : .pending([])
                    return actions
                case .pending?, nil:
                    state.mailboxes[id] = .parked(continuation)
                    return nil
                case .parked?:
                    preconditionFailure("\(id) parks twice")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    nonisolated(nonsending) func carryOut(_ action: Coordinator.Action, for id: OperationID, context: inout WriteContext) async -> [Coordinator.Action] {
        switch action {
        case .readReplica(let op, let replica, let key):
            precondition(op == id, "read \(op)@\(replica) reached the driver of \(id)")
            guard replica == nodeId else {
                sendRead(op, key: key, to: replica)
                return []
            }
            let result = await readBlocking(key)
            if case .value(let value) = result { context.localCurrent = value }
            return feed(.replicaRead(id, replica: replica, result), as: id)
        case .decide(let op, let current):
            precondition(op == id, "decision of \(op) reached the driver of \(id)")
            return feed(.decided(id, decide(current, context: &context)), as: id)
        case .readAndDecide(let op, let key):
            precondition(op == id, "read and decision of \(op) reached the driver of \(id)")
            let result = await readBlocking(key)
            guard case .value(let current) = result else {
                return feed(.replicaRead(id, replica: nodeId, result), as: id)
            }
            context.localCurrent = current
            return feed(.decidedOnRead(id, current: current, decide(current, context: &context)), as: id)
        case .writeReplica(let op, let replica, let key, let value, let hintFor):
            precondition(op == id, "write \(op)@\(replica) reached the driver of \(id)")
            guard replica == nodeId else {
                sendWrite(op, key: key, value: value, hintFor: hintFor, to: replica)
                return []
            }
            let failure: Coordinator.ReplicaFailure?
            if let hintFor {
                failure = await storeHint(for: hintFor, key: key, value: value)
            } else {
                failure = await writeLocal(key: key, value: value, previous: context.localCurrent)
            }
            return feed(.replicaWrote(id, replica: replica, failure: failure, hintFor: hintFor), as: id)
        case .persistClockCeiling(let ceiling):
            let succeeded = await persistCeiling(ceiling)
            return feed(.clockCeilingPersisted(ceiling, succeeded: succeeded), as: id)
        case .storeHint(let key, let value, let target):
            _ = await storeHint(for: target, key: key, value: value)  // refused when full: read repair finds the replica
            return []
        case .reply, .tableDrained:
            preconditionFailure("\(action) is not carried out by a driver")
        }
    }

    /// Carries out actions that belong to no operation (ceilings, hints for the silent replicas
    /// of acknowledged writes), feeding their results back.
    nonisolated(nonsending) func carryOutUnowned(_ actions: [Coordinator.Action]) async {
        var pending = actions
        while !pending.isEmpty {
            var next: [Coordinator.Action] = []
            for action in pending {
                switch action {
                case .persistClockCeiling(let ceiling):
                    let succeeded = await persistCeiling(ceiling)
                    next += feed(.clockCeilingPersisted(ceiling, succeeded: succeeded), as: nil)
                case .storeHint(let key, let value, let target):
                    _ = await storeHint(for: target, key: key, value: value)
                case .readReplica, .decide, .readAndDecide, .writeReplica, .reply, .tableDrained:
                    continue
                }
            }
            pending = next
        }
    }

    func decide(_ current: StoredValue?, context: inout WriteContext) -> Coordinator.Decision {
        do {
            switch try context.decide(current?.item) {
            case .write(let item): return .write(item)
            case .keep: return .keep
            }
        } catch {
            context.decideError = error
            return .abort
        }
    }

    // MARK: - The local replica

    func readCached(_ key: [UInt8]) -> Coordinator.ReplicaRead {
        if let held = recentWrites.lookup(key) { return .value(held) }
        do {
            switch try storage.getIfCached(key) {
            case .notCached: return .failed(.wouldBlock)
            case .value(let bytes): return .value(try bytes.map(CoordinatorShell.decode))
            }
        } catch {
            return .failed(CoordinatorShell.replicaFailure(error))
        }
    }

    nonisolated(nonsending) func readBlocking(_ key: [UInt8]) async -> Coordinator.ReplicaRead {
        let cached = readCached(key)
        guard case .failed(.wouldBlock) = cached else { return cached }
        do {
            let storage = self.storage
            let bytes = try await pool.run { try storage.get(key) }
            return .value(try bytes.map(CoordinatorShell.decode))
        } catch {
            return .failed(CoordinatorShell.replicaFailure(error))
        }
    }

    nonisolated(nonsending) func writeLocal(key: [UInt8], value: StoredValue, previous: StoredValue?) async -> Coordinator.ReplicaFailure? {
        var batch = WriteBatch()
        batch.put(key, value.encoded())
        TableStatistics.record(in: &batch, key: key, old: previous?.item, new: value.item)
        recentWrites.begin(key)
        do {
            try await storage.write(batch)
            recentWrites.end(key, value: value, durable: true)
            return nil
        } catch {
            recentWrites.end(key, value: value, durable: false)
            return CoordinatorShell.replicaFailure(error)
        }
    }

    nonisolated(nonsending) func persistCeiling(_ ceiling: UInt64) async -> Bool {
        var batch = WriteBatch()
        batch.put(CoordinatorShell.clockCeilingKey, CoordinatorShell.encodeCeiling(ceiling))
        do {
            try await storage.write(batch)
            return true
        } catch {
            return false
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> StoredValue {
        do {
            return try StoredValue.decode(bytes)
        } catch {
            throw StorageError.io("corrupt stored value at offset \(error.offset)")
        }
    }

    static func replicaFailure(_ error: any Error) -> Coordinator.ReplicaFailure {
        if let error = error as? StorageError, error.isOverloaded { return .overloaded }
        return .unavailable("\(error)")
    }

    /// The error a client gets for a failed operation.
    func throwFailure(_ outcome: Coordinator.Outcome) throws {
        guard case .failed(let failure) = outcome else { return }
        switch failure {
        case .tableDeleted:
            throw DynamoDBError.resourceNotFound()
        case .lockQueueFull:
            throw DynamoDBError.throttling("Too many concurrent writes to the same item; retry with backoff")
        case .lockTimeout:
            throw DynamoDBError.throttling("A concurrent write to the same item held it too long; retry with backoff")
        case .quorumNotReached(.overloaded):
            throw StorageError.overloaded
        case .quorumNotReached(.wouldBlock):
            preconditionFailure("a blocking read reported wouldBlock")
        case .quorumNotReached(.tableDeleted):
            throw DynamoDBError.resourceNotFound()
        case .quorumNotReached(.unavailable(let message)) where !view.isSingleNode:
            // Retryable (500): the SDKs retry it with backoff, as they do DynamoDB's own.
            throw DynamoDBError.internalServerError("Not enough replicas answered (\(message)); retry the request")
        case .quorumNotReached(.unavailable(let message)):
            throw StorageError.io(message)
        case .clockUnavailable:
            throw StorageError.io("the clock ceiling could not be made durable")
        case .aborted:
            throw DynamoDBError.internalServerError()
        }
    }
}

// MARK: - Range reads and statistics

extension CoordinatorShell {
    /// One page of a range read: live items in key order (or reverse), and where to continue.
    public struct RangePage: Sendable {
        public var items: [(storageKey: [UInt8], item: Item)]
        /// True when the range holds no further entry after the last one examined.
        public var exhausted: Bool
        /// The DynamoDB-accounted size of `items`, which Query and Scan are charged on.
        public var bytes: Int
        /// The last storage key examined, live or tombstone: where the next page starts.
        public var lastExaminedKey: [UInt8]?
    }

    /// Tombstones one page may walk over before it stops and returns a continuation key, so a
    /// range full of deletes costs bounded work per request (DynamoDB's 1 MB rule does the same
    /// for the data a page reads).
    public static let tombstonesPerPageMax = 4096

    /// Reads live items with `start <= key < end` on the blocking pool, stopping after `maxItems`
    /// items, once the items reach `maxBytes` (DynamoDB's 1 MB page: the item that crosses it is
    /// included), or after `tombstonesPerPageMax` tombstones.
    public func readRange(start: [UInt8], end: [UInt8], reverse: Bool, maxItems: Int, maxBytes: Int) async throws -> RangePage {
        let storage = self.storage
        return try await pool.run {
            try CoordinatorShell.readRange(storage, start: start, end: end, reverse: reverse, maxItems: maxItems, maxBytes: maxBytes, tombstonesMax: CoordinatorShell.tombstonesPerPageMax)
        }
    }

    static func readRange(
        _ storage: any StorageEngine, start: [UInt8], end: [UInt8], reverse: Bool, maxItems: Int, maxBytes: Int, tombstonesMax: Int
    ) throws -> RangePage {
        var page = RangePage(items: [], exhausted: false, bytes: 0, lastExaminedKey: nil)
        var tombstones = 0
        var low = start
        var high = end
        let chunk = max(1, min(maxItems, 256))
        while true {
            let entries = try storage.scan(start: low, end: high, reverse: reverse, limit: chunk)
            for entry in entries {
                if reverse { high = entry.key } else { low = entry.key + [0] }
                page.lastExaminedKey = entry.key
                if let item = try decode(entry.value).item {
                    page.items.append((entry.key, item))
                    page.bytes += ItemSize.of(item)
                } else {
                    tombstones += 1
                }
                if page.items.count >= maxItems || page.bytes >= maxBytes || tombstones >= tombstonesMax {
                    page.exhausted = try storage.scan(start: low, end: high, reverse: reverse, limit: 1).isEmpty
                    return page
                }
            }
            if entries.count < chunk {
                page.exhausted = true
                return page
            }
        }
    }

    /// A table's maintained ItemCount and TableSizeBytes: one point read, never a scan.
    public func statistics(_ table: TableDefinition) async throws -> (itemCount: Int, sizeBytes: Int) {
        let key = TableStatistics.key(tableId: table.tableId)
        if case .value(let bytes) = try storage.getIfCached(key) {
            return TableStatistics.read(bytes)
        }
        let storage = self.storage
        return TableStatistics.read(try await pool.run { try storage.get(key) })
    }
}
