import Synchronization
import TernCluster
import TernCore
import TernStorage

/// The shell of the `CatalogLog` (STYLE.md: instance, shell, action): one driver task at a time
/// feeds it events and carries out its actions in the order given, so acceptor states reach the
/// disk in the order they were asked for and applied entries in slot order. Storage writes of
/// consecutive actions share one batch, written before the next message leaves: an acceptor's
/// state is durable before its reply is sent, an applied entry before anything that follows it.
extension Catalog {
    /// What waits for the driver: events of the log, and snapshots to install.
    enum Input: Sendable {
        case event(CatalogLog.Event, reply: Reply?)
        case install(CatalogSnapshot, reply: Reply?)
        case actions([CatalogLog.Action])
    }

    /// The log and the state only the driver changes.
    struct Driver: Sendable {
        var log: CatalogLog
        /// The applied catalog as the log has applied it (ahead of `State.applied` only while a
        /// batch is being written).
        var applied: AppliedCatalog
        var inputs: [Input] = []
        var running = false
        var proposals: [OperationID: CheckedContinuation<CatalogLog.Outcome, Never>] = [:]
        var nextProposal: UInt64 = 0
        /// When the ticker wakes next (monotonic milliseconds).
        var tickAtMillis: UInt64 = .max
    }

    /// The answer to one incoming message: the first message the log sends back to its sender
    /// while handling it, or `.empty`. Resolved once.
    final class Reply: Sendable {
        let peer: NodeID
        let continuation: Mutex<CheckedContinuation<CatalogPeerMessage, Never>?>

        init(peer: NodeID, _ continuation: CheckedContinuation<CatalogPeerMessage, Never>) {
            self.peer = peer
            self.continuation = Mutex(continuation)
        }

        @discardableResult
        func resolve(_ message: CatalogPeerMessage) -> Bool {
            guard let continuation = continuation.withLock({ $0.take() }) else { return false }
            continuation.resume(returning: message)
            return true
        }
    }

    // MARK: - Start-up

    /// Starts catching up (a cluster of one is caught up at once) and the ticker.
    func start() {
        let now = monotonicMillis()
        let actions = driver.withLock { $0.log.handle(.start, now: now) }
        if actions.contains(where: { if case .caughtUp = $0 { true } else { false } }) {
            state.withLock { $0.caughtUp = true }
        }
        submit(.actions(actions.filter { if case .caughtUp = $0 { false } else { true } }))
        ticker.withLock { $0 = Catalog.startTicker(self) }
    }

    /// Feeds `tick` by the log's next deadline (at least once a second), and resumes stalled
    /// deletions. Holds the catalog weakly, so a catalog nobody uses any more stops ticking.
    static func startTicker(_ catalog: Catalog) -> Task<Void, Never> {
        Task { [weak catalog] in
            while !Task.isCancelled {
                guard let delay = catalog?.tickDelayMillis() else { return }
                try? await Task.sleep(for: .milliseconds(delay))
                guard let catalog else { return }
                catalog.submit(.event(.tick, reply: nil))
                catalog.resumeDeletions()
            }
        }
    }

    func tickDelayMillis() -> UInt64 {
        let now = monotonicMillis()
        return driver.withLock { driver in
            let deadline = driver.log.nextDeadlineMillis
            let delay = min(max(deadline > now ? deadline - now : 1, 1), 1_000)
            driver.tickAtMillis = now + delay
            return delay
        }
    }

    /// Restarts the ticker when the log's next deadline moved before its wake-up (a proposal
    /// started, or backs off for a few milliseconds), so timeouts and retries are not late.
    func rescheduleTickerIfEarlier() {
        let earlier = driver.withLock { driver -> Bool in
            let next = driver.log.nextDeadlineMillis
            guard next < driver.tickAtMillis else { return false }
            driver.tickAtMillis = next
            return true
        }
        guard earlier, !state.withLock({ $0.stopped }) else { return }
        ticker.withLock { ticker in
            ticker?.cancel()
            ticker = Catalog.startTicker(self)
        }
    }

    // MARK: - Entry points

    /// Answers another member's catalog message (the node's peer handler calls this for frame
    /// kind `CatalogPeerMessage.frameKind`): the log's reply to the sender, or `.empty`. Other
    /// messages the log sends in turn go through the messenger.
    public func serve(_ message: CatalogPeerMessage, from peer: NodeID) async -> CatalogPeerMessage {
        guard peer != node, members.contains(peer) else { return .empty }
        return await withCheckedContinuation { (continuation: CheckedContinuation<CatalogPeerMessage, Never>) in
            let reply = Reply(peer: peer, continuation)
            switch message {
            case .log(let message): submit(.event(.receive(from: peer, message), reply: reply))
            case .snapshot(let snapshot): submit(.install(snapshot, reply: reply))
            case .empty: reply.resolve(.empty)
            }
        }
    }

    /// Proposes `change` for the slot after `basedOn` and waits for its outcome. The proposal
    /// number is a fresh HLC timestamp, unique among this node's proposals across restarts.
    func propose(_ change: CatalogChange, basedOn: UInt64) async throws(DynamoDBError) -> (CatalogLog.Outcome, CatalogEntry) {
        guard let number = await coordinator.issueTimestamp(after: 0) else {
            throw DynamoDBError.internalServerError("The node's clock could not be made durable; retry")
        }
        let entry = CatalogEntry(origin: node, proposal: number, change: change.encoded())
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<CatalogLog.Outcome, Never>) in
            let id = driver.withLock { driver in
                driver.nextProposal += 1
                let id = OperationID(driver.nextProposal)
                driver.proposals[id] = continuation
                return id
            }
            if !submit(.event(.propose(id, entry, basedOn: basedOn), reply: nil)) {
                driver.withLock { $0.proposals.removeValue(forKey: id) }?.resume(returning: .refused(.queueFull))
            }
        }
        return (outcome, entry)
    }

    /// Queues an input for the driver, starting one if none runs. False when the queue is full
    /// (the input is dropped; a message's sender hears `.empty`).
    @discardableResult
    func submit(_ input: Input) -> Bool {
        let startDriver = driver.withLock { driver -> Bool? in
            guard driver.inputs.count < settings.inputsMax else { return nil }
            driver.inputs.append(input)
            if driver.running { return false }
            driver.running = true
            return true
        }
        guard let startDriver else {
            switch input {
            case .event(_, let reply?), .install(_, let reply?): reply.resolve(.empty)
            case .event, .install, .actions: break
            }
            return false
        }
        if startDriver { Task { await self.drive() } }
        return true
    }

    func drive() async {
        while let input = driver.withLock({ driver -> Input? in
            guard !driver.inputs.isEmpty else {
                driver.running = false
                return nil
            }
            return driver.inputs.removeFirst()
        }) {
            guard !isStopped else {
                stopped(input)
                continue
            }
            switch input {
            case .event(let event, let reply):
                let now = monotonicMillis()
                let actions = driver.withLock { $0.log.handle(event, now: now) }
                await carryOut(actions, reply: reply)
                reply?.resolve(.empty)
            case .install(let snapshot, let reply):
                await install(snapshot)
                reply?.resolve(.empty)
            case .actions(let actions):
                await carryOut(actions, reply: nil)
            }
            rescheduleTickerIfEarlier()
        }
    }

    /// Whether the driver drops every input: after `shutdown`, or once an applied entry could not
    /// be made durable.
    var isStopped: Bool { state.withLock { $0.stopped || $0.broken != nil } }

    /// Drops an input of a stopped catalog: a message's sender hears `.empty`, and every proposal
    /// waiting for an outcome fails (retryably), so no caller waits forever.
    func stopped(_ input: Input) {
        switch input {
        case .event(_, let reply?), .install(_, let reply?): reply.resolve(.empty)
        case .event, .install, .actions: break
        }
        let waiting = driver.withLock { driver in
            defer { driver.proposals = [:] }
            return Array(driver.proposals.values)
        }
        for continuation in waiting { continuation.resume(returning: .failed(.deadlineExceeded)) }
    }

    /// Stops the catalog before the storage closes: no more ticks, messages or deletions; waits
    /// for the deletions in progress.
    public func shutdown() async {
        state.withLock { $0.stopped = true }
        ticker.withLock { $0?.cancel() }
        submit(.actions([]))
        await waitForDeletions()
    }

    // MARK: - Carrying out actions

    /// Writes of consecutive actions, and what becomes visible once they are durable.
    struct PendingWrites {
        var batch = WriteBatch()
        var isEmpty = true
        var applied: AppliedCatalog?
        var effects: [(AppliedCatalog.Effect, origin: NodeID)] = []
    }

    func carryOut(_ actions: [CatalogLog.Action], reply: Reply?) async {
        var pending = PendingWrites()
        for action in actions {
            switch action {
            case .send(let to, let message):
                await flush(&pending)
                deliver(.log(message), to: to, reply: reply)
            case .persistAcceptorThenSend(let slot, let acceptor, let to, let message):
                pending.batch.put(Catalog.slotKey(Catalog.acceptorPrefix, slot), acceptor.encoded())
                pending.isEmpty = false
                // Nothing is sent when the state could not be made durable: silence is safe.
                if await flush(&pending) { deliver(.log(message), to: to, reply: reply) }
            case .stampBallot(let after):
                if let stamp = await coordinator.issueTimestamp(after: after) {
                    submit(.event(.ballotStamped(stamp), reply: nil))
                }
            case .apply(let slot, let entry):
                stage(slot, entry, into: &pending)
            case .forgetAcceptorStates(let through):
                guard through < UInt64.max else { break }
                pending.batch.deleteRange(Catalog.slotKey(Catalog.acceptorPrefix, 0), Catalog.slotKey(Catalog.acceptorPrefix, through + 1))
                pending.isEmpty = false
            case .sendSnapshot(let to):
                await flush(&pending)
                deliver(.snapshot(snapshot()), to: to, reply: reply)
            case .caughtUp:
                await flush(&pending)
                state.withLock { $0.caughtUp = true }
            case .finished(let id, let outcome):
                await flush(&pending)
                driver.withLock { $0.proposals.removeValue(forKey: id) }?.resume(returning: outcome)
            }
        }
        await flush(&pending)
    }

    /// Adds an applied entry's writes to the batch: the definition, the id counter, the version
    /// and the entry itself (for catch-up answers after a restart), dropping the entry that falls
    /// out of the retained window.
    func stage(_ slot: UInt64, _ entry: CatalogEntry, into pending: inout PendingWrites) {
        let change = CatalogChange(decoding: entry.change)
        let (applied, effect) = driver.withLock { driver -> (AppliedCatalog, AppliedCatalog.Effect) in
            precondition(driver.applied.version + 1 == slot, "slot \(slot) applied after \(driver.applied.version)")
            let effect = driver.applied.apply(change)
            return (driver.applied, effect)
        }
        switch effect {
        case .none:
            break
        case .stored(let table), .deleting(let table):
            pending.batch.put(Catalog.key(for: table.name), table.encodedJSON())
        case .removed(let table):
            pending.batch.delete(Catalog.key(for: table.name))
            pending.batch.deleteRange(KeyEncoding.tablePrefix(table.tableId), KeyEncoding.tableEnd(table.tableId))
            pending.batch.delete(TableStatistics.key(tableId: table.tableId))
        }
        pending.batch.put(Catalog.nextIdKey, Array(String(applied.nextTableId).utf8))
        pending.batch.put(Catalog.versionKey, Catalog.slotKey([], slot))
        pending.batch.put(Catalog.slotKey(Catalog.decidedPrefix, slot), entry.encoded())
        let retained = UInt64(settings.log.decidedRetainedMax)
        if slot > retained { pending.batch.delete(Catalog.slotKey(Catalog.decidedPrefix, slot - retained)) }
        pending.isEmpty = false
        pending.applied = applied
        pending.effects.append((effect, origin: entry.origin))
    }

    /// Writes the pending batch; once it is durable, makes the applied catalog visible and starts
    /// the deletions it calls for. False if the write failed.
    @discardableResult
    func flush(_ pending: inout PendingWrites) async -> Bool {
        guard !pending.isEmpty else { return true }
        let written = pending
        pending = PendingWrites()
        do {
            try await storage.write(written.batch)
        } catch {
            // An applied entry that is not durable cannot be made visible, and the log has moved
            // past it: this catalog stops changing (the node must restart; it then catches up).
            if written.applied != nil { state.withLock { $0.broken = "the catalog could not be written: \(error)" } }
            return false
        }
        guard let applied = written.applied else { return true }
        state.withLock { $0.applied = applied }
        for (effect, origin) in written.effects {
            switch effect {
            case .deleting(let table): startDeletion(table, proposeAtOnce: origin == node || members.count == 1)
            case .removed(let table): startDeletion(table, proposeAtOnce: true)
            case .none, .stored: break
            }
        }
        return true
    }

    func snapshot() -> CatalogSnapshot {
        let applied = driver.withLock { $0.applied }
        let tables = applied.tables.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return CatalogSnapshot(version: applied.version, nextTableId: applied.nextTableId, tables: tables)
    }
}
