import Synchronization
import TernCluster
import TernCore
import TernStorage

/// Thrown by `CoordinatorShell.update` on a node that does not serialise writes of the key: the
/// API sends the request to `node`, the first reachable replica of the key's preference list.
public struct ForwardRequired: Error, Sendable, Equatable {
    public var node: NodeID
}

extension CoordinatorShell {
    /// How long a replica request may take before it counts as failed.
    static let replicaDeadlineMillis: UInt32 = 2_000
    /// Read repairs in flight at most (see `repairsInFlight`).
    static let repairsInFlightMax = 256

    func isLocal(_ action: Coordinator.Action) -> Bool {
        switch action {
        case .readReplica(_, let replica, _), .writeReplica(_, let replica, _, _, _): replica == nodeId
        case .decide, .readAndDecide, .persistClockCeiling, .reply, .tableDrained, .storeHint: true
        }
    }

    // MARK: - Requests to other replicas

    /// Reads `key` on `replica`; the answer comes back as an event, which wakes the driver.
    func sendRead(_ id: OperationID, key: [UInt8], to replica: NodeID) {
        messenger!.send(.read(key: key), to: replica, deadlineMillis: Self.replicaDeadlineMillis) { result in
            self.feedFromCallback(.replicaRead(id, replica: replica, CoordinatorShell.replicaRead(result)))
        }
    }

    /// Writes `value` on `replica` (or a hint there); the answer comes back as an event.
    func sendWrite(_ id: OperationID, key: [UInt8], value: StoredValue, hintFor: NodeID?, to replica: NodeID) {
        let tableId = KeyEncoding.tableId(ofKey: key) ?? 0
        let message = ReplicaMessage.write(key: key, tableId: tableId, value: value, hintFor: hintFor)
        messenger!.send(message, to: replica, deadlineMillis: Self.replicaDeadlineMillis) { result in
            self.feedFromCallback(.replicaWrote(id, replica: replica, failure: CoordinatorShell.writeFailure(result), hintFor: hintFor))
        }
    }

    /// Feeds an event from a transport callback: the operation's actions go to its mailbox; a
    /// clock ceiling the event asks for is persisted by a task of its own.
    func feedFromCallback(_ event: Coordinator.Event) {
        let unowned = feed(event, as: nil)
        guard !unowned.isEmpty else { return }
        Task { await self.carryOutUnowned(unowned) }
    }

    static func replicaRead(_ result: Result<ReplicaMessage, PeerError>) -> Coordinator.ReplicaRead {
        switch result {
        case .success(.readReply(.failed(.wouldBlock))): .failed(.unavailable("a peer answered wouldBlock to a blocking read"))
        case .success(.readReply(let read)): read
        case .success(let other): .failed(.unavailable("unexpected answer to a read: kind \(other.kind)"))
        case .failure(let error): .failed(replicaFailure(error))
        }
    }

    static func writeFailure(_ result: Result<ReplicaMessage, PeerError>) -> Coordinator.ReplicaFailure? {
        switch result {
        case .success(.writeReply(.wouldBlock)): .unavailable("a peer answered wouldBlock to a write")
        case .success(.writeReply(let failure)): failure
        case .success(let other): .unavailable("unexpected answer to a write: kind \(other.kind)")
        case .failure(let error): replicaFailure(error)
        }
    }

    static func replicaFailure(_ error: PeerError) -> Coordinator.ReplicaFailure {
        error.isOverloaded ? .overloaded : .unavailable("\(error)")
    }

    // MARK: - Reads that need other replicas

    /// Asks the remote replicas of `round` (the local one, if any, has answered already) and
    /// returns once the read has its outcome; late answers still drive read repair.
    func readRemote(_ round: ReadRound) async -> Coordinator.Outcome {
        let read = RemoteRead(round: round)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Coordinator.Outcome, Never>) in
            read.start(continuation)
            for replica in round.replicas where replica != nodeId {
                askForRead(read, replica)
            }
        }
    }

    func askForRead(_ read: RemoteRead, _ replica: NodeID) {
        messenger!.send(.read(key: read.key), to: replica, deadlineMillis: Self.replicaDeadlineMillis) { result in
            let (next, repairs) = read.answer(replica, CoordinatorShell.replicaRead(result))
            if let next { self.askForRead(read, next) }
            for (stale, value) in repairs { self.repair(read.key, value, on: stale) }
        }
    }

    /// Read repair (Dynamo §4.5): sends the version a read returned to a replica that answered
    /// with an older one. Best effort and bounded.
    func repair(_ key: [UInt8], _ value: StoredValue, on replica: NodeID) {
        let (exchanged, _) = repairsInFlight.wrappingAdd(1, ordering: .relaxed)
        guard exchanged < Self.repairsInFlightMax else {
            repairsInFlight.wrappingSubtract(1, ordering: .relaxed)
            return
        }
        if replica == nodeId {
            Task {
                _ = await self.apply(key: key, tableId: KeyEncoding.tableId(ofKey: key) ?? 0, value: value)
                self.repairsInFlight.wrappingSubtract(1, ordering: .relaxed)
            }
            return
        }
        let message = ReplicaMessage.write(key: key, tableId: KeyEncoding.tableId(ofKey: key) ?? 0, value: value, hintFor: nil)
        messenger!.send(message, to: replica, deadlineMillis: Self.replicaDeadlineMillis) { _ in
            self.repairsInFlight.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    // MARK: - This node as a replica of other coordinators' writes

    /// Reconciles `value` into this node's replica of `key` under the key's lock: stored unless
    /// what the replica holds already wins (Dynamo §4.4). Nil when durable.
    public func apply(key: [UInt8], tableId: UInt32, value: StoredValue) async -> Coordinator.ReplicaFailure? {
        let (id, actions) = start { .apply($0, key: key, tableId: tableId, value: value) }
        var context = WriteContext(decide: { _ in .keep })
        switch await drive(id, actions, context: &context) {
        case .written, .unchanged: return nil
        case .failed(.quorumNotReached(let failure)): return failure
        case .failed(.lockQueueFull), .failed(.lockTimeout): return .overloaded
        case .failed(.tableDeleted): return .tableDeleted
        case .failed(let failure): return .unavailable("\(failure)")
        case .read: preconditionFailure("an apply answered like a read")
        }
    }

    /// Answers another node's replica request.
    public func serve(_ message: ReplicaMessage) async -> ReplicaMessage? {
        switch message {
        case .read(let key):
            return .readReply(await readBlocking(key))
        case .write(let key, let tableId, let value, let hintFor):
            if let hintFor {
                return .writeReply(await storeHint(for: hintFor, key: key, value: value))
            }
            return .writeReply(await apply(key: key, tableId: tableId, value: value))
        case .readRange(let request):
            return .readRangeReply(await readLocalRange(request))
        case .readReply, .writeReply, .forward, .forwardReply, .readRangeReply:
            return nil
        }
    }
}

/// One read waiting for remote replicas: the `ReadRound`, the caller's continuation until the
/// outcome, and which stale replicas were repaired already.
final class RemoteRead: Sendable {
    struct State {
        var round: ReadRound
        var continuation: CheckedContinuation<Coordinator.Outcome, Never>?
        var repaired: Set<NodeID> = []
        var decided = false
    }

    let key: [UInt8]
    let state: Mutex<State>

    init(round: ReadRound) {
        key = round.key
        state = Mutex(State(round: round))
    }

    func start(_ continuation: CheckedContinuation<Coordinator.Outcome, Never>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Records an answer; returns the next replica to ask (a failed one's spare) and the repairs
    /// now due. Resumes the caller when the outcome is decided.
    func answer(_ replica: NodeID, _ result: Coordinator.ReplicaRead) -> (next: NodeID?, repairs: [(NodeID, StoredValue)]) {
        var resume: (CheckedContinuation<Coordinator.Outcome, Never>, Coordinator.Outcome)?
        let answer = state.withLock { state -> (NodeID?, [(NodeID, StoredValue)]) in
            let outcome = state.round.handle(replica, result)
            if let outcome, let continuation = state.continuation {
                state.continuation = nil
                state.decided = true
                resume = (continuation, outcome)
            }
            let repairs = state.round.repairs.filter { !state.repaired.contains($0.replica) }
            for repair in repairs { state.repaired.insert(repair.replica) }
            return (state.round.pendingAsk, repairs.map { ($0.replica, $0.value) })
        }
        if let (continuation, outcome) = resume { continuation.resume(returning: outcome) }
        return answer
    }
}

/// The hints this node keeps for other nodes (Dynamo §4.6): a separate key space in the
/// system table, `hints/<target>/<hint id, 8 bytes big-endian>` → the creation time (8 bytes,
/// wall milliseconds) and the replica write to deliver. Durable before the write is acknowledged,
/// like any replica write. `HintQueue` (pure) decides admission (bytes per target), delivery
/// (oldest first, bounded in flight, backoff after failures) and expiry (the hint window).
final class HintStore: Sendable {
    let storage: any StorageEngine
    let queue: Mutex<HintQueue>
    let sequence: Atomic<UInt64>

    static let prefix = KeyEncoding.tablePrefix(0) + Array("hints/".utf8)

    init(storage: any StorageEngine, settings: HintQueue.Settings, now: Now) throws {
        self.storage = storage
        // Read every hint back: the queue's accounting, and ids that continue above the highest.
        var recovered: [HintQueue.StoredHint] = []
        var start = HintStore.prefix
        let end = HintStore.prefix + [0xff]
        while true {
            let page = try storage.scan(start: start, end: end, reverse: false, limit: 1_024)
            for entry in page {
                guard let (target, id) = HintStore.parse(entry.key), entry.value.count >= 8 else { continue }
                var reader = ByteReader(Array(entry.value.prefix(8)))
                let created = (try? reader.uint64BigEndian()) ?? 0
                recovered.append(HintQueue.StoredHint(id: id, target: target, bytes: entry.value.count, createdMillis: created))
            }
            guard let last = page.last, page.count == 1_024 else { break }
            start = last.key + [0]
        }
        var queue = HintQueue(settings: settings)
        _ = queue.handle(.recovered(recovered), now: now)  // every target counts unreachable until told otherwise
        self.queue = Mutex(queue)
        sequence = Atomic(recovered.map(\.id).max() ?? 0)
    }

    static func key(for target: NodeID, id: HintID) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes = prefix + Array(target.utf8) + [UInt8(ascii: "/")]
        writer.uint64BigEndian(id)
        return writer.bytes
    }

    /// The target and id of a hint key.
    static func parse(_ key: [UInt8]) -> (NodeID, HintID)? {
        guard key.count >= prefix.count + 10, key[key.count - 9] == UInt8(ascii: "/") else { return nil }
        var reader = ByteReader(Array(key.suffix(8)))
        guard let id = try? reader.uint64BigEndian() else { return nil }
        return (String(decoding: key[prefix.count..<(key.count - 9)], as: UTF8.self), id)
    }

    /// Stores a hint for `target` if the queue admits it; nil when durable, and the queue's
    /// actions (a delivery may start at once) for the shell to carry out.
    func store(for target: NodeID, key: [UInt8], value: StoredValue, now: Now) async -> (Coordinator.ReplicaFailure?, [HintQueue.Action]) {
        let message = ReplicaMessage.write(key: key, tableId: KeyEncoding.tableId(ofKey: key) ?? 0, value: value, hintFor: nil)
        var record = ByteWriter()
        record.uint64BigEndian(now.wallMillis)
        record.bytes += message.encoded()
        let bytes = record.bytes.count
        guard queue.withLock({ $0.admits(target: target, bytes: bytes) }) else {
            return (.overloaded, [])  // the coordinator tries its next fallback
        }
        let id = sequence.add(1, ordering: .relaxed).newValue
        var batch = WriteBatch()
        batch.put(HintStore.key(for: target, id: id), record.bytes)
        do {
            try await storage.write(batch)
        } catch {
            return (CoordinatorShell.replicaFailure(error), [])
        }
        let stored = HintQueue.StoredHint(id: id, target: target, bytes: bytes, createdMillis: now.wallMillis)
        return (nil, queue.withLock { $0.handle(.stored(stored), now: now) })
    }

    /// The replica write hint `id` carries, if it is still stored.
    func message(_ id: HintID, target: NodeID) throws -> ReplicaMessage? {
        guard let bytes = try storage.get(HintStore.key(for: target, id: id)), bytes.count > 8 else { return nil }
        return try? ReplicaMessage.decode(kind: 3, Array(bytes.dropFirst(8)))
    }

    func delete(_ id: HintID, target: NodeID) async throws {
        var batch = WriteBatch()
        batch.delete(HintStore.key(for: target, id: id))
        try await storage.write(batch)
    }

    func handle(_ event: HintQueue.Event, now: Now) -> [HintQueue.Action] {
        queue.withLock { $0.handle(event, now: now) }
    }

    /// Hints held per target.
    var counts: [NodeID: Int] {
        queue.withLock { queue in Dictionary(uniqueKeysWithValues: queue.countsByTarget.map { ($0.target, $0.counts.hints) }) }
    }
}

// MARK: - Hint delivery

extension CoordinatorShell {
    /// Tells the hint queue which peers are reachable and that time passed, then carries out the
    /// deliveries and deletions it asks for, waiting for them. Returns the hints delivered. The
    /// node calls this every second.
    @discardableResult
    public func deliverHints() async -> Int {
        guard let messenger else { return 0 }
        let now = clock()
        var actions: [HintQueue.Action] = []
        for peer in view.peers {
            actions += hints.handle(.reachability(peer, reachable: messenger.isReachable(peer)), now: now)
        }
        actions += hints.handle(.tick, now: now)
        return await carryOutHintActions(actions)
    }

    /// Hints and their bytes held per target (metrics).
    public func hintTotals() -> [NodeID: (hints: Int, bytes: Int)] {
        hints.queue.withLock { queue in
            Dictionary(uniqueKeysWithValues: queue.countsByTarget.map { ($0.target, ($0.counts.hints, $0.counts.bytes)) })
        }
    }

    /// Hints held per target.
    public func hintCounts() -> [NodeID: Int] {
        hints.counts.filter { $0.value > 0 }
    }

    /// Stores a hint this node keeps for `target` (a `writeReplica` with `hintFor`).
    func storeHint(for target: NodeID, key: [UInt8], value: StoredValue) async -> Coordinator.ReplicaFailure? {
        let (failure, actions) = await hints.store(for: target, key: key, value: value, now: clock())
        if !actions.isEmpty { Task { await self.carryOutHintActions(actions) } }
        return failure
    }

    /// Runs the queue's actions until none follow; the deliveries of one round go out together.
    /// Bounded: the queue keeps at most `deliveriesInFlightPerTargetMax` per target in flight.
    @discardableResult
    func carryOutHintActions(_ initial: [HintQueue.Action]) async -> Int {
        var pending = initial
        var delivered = 0
        while !pending.isEmpty {
            let round = pending
            pending = await withTaskGroup(of: [HintQueue.Action].self) { group in
                for action in round {
                    group.addTask { await self.carryOutHintAction(action) }
                }
                var next: [HintQueue.Action] = []
                for await actions in group { next += actions }
                return next
            }
            delivered += round.count { if case .delete(_, _, .delivered) = $0 { true } else { false } }
        }
        return delivered
    }

    func carryOutHintAction(_ action: HintQueue.Action) async -> [HintQueue.Action] {
        switch action {
        case .deliver(let id, let target):
            guard let message = try? hints.message(id, target: target) else {
                return hints.handle(.deliveryFailed(id), now: clock())
            }
            let result = await request(message, to: target)
            guard case .success(.writeReply(nil)) = result else {
                return hints.handle(.deliveryFailed(id), now: clock())
            }
            return hints.handle(.delivered(id), now: clock())
        case .delete(let id, let target, _):
            try? await hints.delete(id, target: target)  // a lost delete only means a second delivery
            return []
        }
    }

    func request(_ message: ReplicaMessage, to node: NodeID) async -> Result<ReplicaMessage, PeerError> {
        await withCheckedContinuation { continuation in
            messenger!.send(message, to: node, deadlineMillis: Self.replicaDeadlineMillis) { continuation.resume(returning: $0) }
        }
    }
}
