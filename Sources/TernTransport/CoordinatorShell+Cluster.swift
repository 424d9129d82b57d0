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
        case .decide, .persistClockCeiling, .reply, .tableDrained: true
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
                return .writeReply(await hints.store(for: hintFor, key: key, value: value))
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
/// system table, `hints/<target>/<sequence, 8 bytes big-endian>` → the replica write to deliver.
/// Durable before the write is acknowledged, like any replica write.
final class HintStore: Sendable {
    let storage: any StorageEngine
    let sequence: Atomic<UInt64>

    static let prefix = KeyEncoding.tablePrefix(0) + Array("hints/".utf8)

    init(storage: any StorageEngine) throws {
        self.storage = storage
        // Sequences continue above the highest stored one, so a restart never reuses a key.
        var highest: UInt64 = 0
        var start = HintStore.prefix
        let end = HintStore.prefix + [0xff]
        while true {
            let page = try storage.scan(start: start, end: end, reverse: false, limit: 1_024)
            for entry in page {
                if let sequence = HintStore.sequence(ofKey: entry.key) { highest = max(highest, sequence) }
            }
            guard let last = page.last, page.count == 1_024 else { break }
            start = last.key + [0]
        }
        sequence = Atomic(highest)
    }

    static func key(for target: NodeID, sequence: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes = prefix + Array(target.utf8) + [UInt8(ascii: "/")]
        writer.uint64BigEndian(sequence)
        return writer.bytes
    }

    static func sequence(ofKey key: [UInt8]) -> UInt64? {
        guard key.count >= prefix.count + 10 else { return nil }
        var reader = ByteReader(Array(key.suffix(8)))
        return try? reader.uint64BigEndian()
    }

    /// Stores a hint for `target`; nil when durable.
    func store(for target: NodeID, key: [UInt8], value: StoredValue) async -> Coordinator.ReplicaFailure? {
        let number = sequence.add(1, ordering: .relaxed).newValue
        let message = ReplicaMessage.write(key: key, tableId: KeyEncoding.tableId(ofKey: key) ?? 0, value: value, hintFor: nil)
        var batch = WriteBatch()
        batch.put(HintStore.key(for: target, sequence: number), message.encoded())
        do {
            try await storage.write(batch)
            return nil
        } catch {
            return CoordinatorShell.replicaFailure(error)
        }
    }

    /// Hints held for `target`, oldest first, at most `limit`.
    func pending(for target: NodeID, limit: Int) throws -> [(key: [UInt8], message: ReplicaMessage)] {
        let start = HintStore.prefix + Array(target.utf8) + [UInt8(ascii: "/")]
        return try storage.scan(start: start, end: start + [0xff], reverse: false, limit: limit).compactMap { entry in
            guard let message = try? ReplicaMessage.decode(kind: 3, entry.value) else { return nil }
            return (entry.key, message)
        }
    }

    /// Hints held per target (status and metrics); a scan of the hint key space, bounded by `limit` keys.
    func counts(limit: Int = 100_000) throws -> [NodeID: Int] {
        var counts: [NodeID: Int] = [:]
        var start = HintStore.prefix
        var seen = 0
        while seen < limit {
            let page = try storage.scan(start: start, end: HintStore.prefix + [0xff], reverse: false, limit: 1_024)
            for entry in page {
                let target = entry.key[HintStore.prefix.count..<(entry.key.count - 9)]
                counts[String(decoding: target, as: UTF8.self), default: 0] += 1
            }
            seen += page.count
            guard let last = page.last, page.count == 1_024 else { break }
            start = last.key + [0]
        }
        return counts
    }

    func delete(_ key: [UInt8]) async throws {
        var batch = WriteBatch()
        batch.delete(key)
        try await storage.write(batch)
    }
}

// MARK: - Hint delivery

extension CoordinatorShell {
    /// Hints sent per target in one delivery round (bounded work per round).
    static let hintsPerRoundMax = 256

    /// Delivers the hints this node holds for every reachable peer, oldest first, deleting each
    /// once its target has made it durable; stops at a target's first failure. Returns the number
    /// delivered. The node calls this periodically.
    @discardableResult
    public func deliverHints() async -> Int {
        guard let messenger else { return 0 }
        var delivered = 0
        for target in view.peers where messenger.isReachable(target) {
            guard let pending = try? hints.pending(for: target, limit: Self.hintsPerRoundMax) else { continue }
            for (key, message) in pending {
                let result = await request(message, to: target)
                guard case .success(.writeReply(nil)) = result else { break }
                do { try await hints.delete(key) } catch { break }
                delivered += 1
            }
        }
        return delivered
    }

    /// Hints held per target.
    public func hintCounts() -> [NodeID: Int] {
        (try? hints.counts()) ?? [:]
    }

    func request(_ message: ReplicaMessage, to node: NodeID) async -> Result<ReplicaMessage, PeerError> {
        await withCheckedContinuation { continuation in
            messenger!.send(message, to: node, deadlineMillis: Self.replicaDeadlineMillis) { continuation.resume(returning: $0) }
        }
    }
}
