import TernCluster
import TernCore

/// The simulation as the shell of each node's state machines: events in, actions carried out on
/// the simulated disk and network (what `CoordinatorShell` and the transport do on a real node).
extension Simulation {
    // MARK: Feeding the state machines

    func feed(_ node: Int, _ event: Coordinator.Event) {
        let actions = nodes[node].coordinator.handle(event, now: wallNow(node))
        for action in actions { perform(node, action) }
    }

    func feedHints(_ node: Int, _ event: HintQueue.Event) {
        let actions = nodes[node].hintQueue.handle(event, now: wallNow(node))
        for action in actions { performHint(node, action) }
    }

    func perform(_ node: Int, _ action: Coordinator.Action) {
        let me = nodes[node].id
        switch action {
        case .readReplica(let id, let replica, let key):
            if replica == me {
                disk(node, .readForCoordinator(id, key: key))
            } else {
                request(from: node, to: index(of: replica), .read(key: key), .coordinatorRead(id))
            }
        case .decide(let id, let current):
            feed(node, .decided(id, decision(node, id, current: current)))
        case .readAndDecide(let id, let key):
            disk(node, .readAndDecide(id, key: key))
        case .writeReplica(let id, let replica, let key, let value, let hintFor):
            if replica != me {
                request(from: node, to: index(of: replica), .write(key: key, value: value, hintFor: hintFor), .coordinatorWrite(id))
            } else if let target = hintFor {
                storeHint(node, .coordinator(id), target: target, key: key, value: value)
            } else {
                disk(node, .writeData(id, key: key, value: value))
            }
        case .persistClockCeiling(let ceiling):
            disk(node, .persistCeiling(ceiling))
        case .reply(let id, let outcome):
            replied(node, id, outcome)
        case .tableDrained:
            break
        case .storeHint(let key, let value, let target):
            storeHint(node, .nobody, target: target, key: key, value: value)
        }
    }

    /// The API's part of a write: conditions and update expressions, here a plain put, a delete
    /// or a put-if-absent.
    func decision(_ node: Int, _ id: OperationID, current: StoredValue?) -> Coordinator.Decision {
        guard case .client(let client)? = nodes[node].owners[id] else { preconditionFailure("decide for \(id), which is no client write") }
        switch clients[client].kind {
        case .write(let item):
            return .write(item)
        case .putIfAbsent(let item):
            return current?.item == nil ? .write(item) : .abort
        case .read:
            preconditionFailure("decide for read \(client)")
        }
    }

    func replied(_ node: Int, _ id: OperationID, _ outcome: Coordinator.Outcome) {
        guard let owner = nodes[node].owners.removeValue(forKey: id) else {
            preconditionFailure("reply for \(id) on \(nodes[node].id), which nobody waits for")
        }
        switch owner {
        case .client(let client):
            clientReplied(client, outcome)
        case .remoteApply(let peer, let rpc):
            switch outcome {
            case .written, .unchanged: respond(from: node, to: peer, rpc, .ok)
            case .failed(let failure): respond(from: node, to: peer, rpc, .failed(Simulation.replicaFailure(failure)))
            case .read: preconditionFailure("an apply answered as a read")
            }
        case .localRepair:
            nodes[node].repairsInFlight -= 1
        }
    }

    static func replicaFailure(_ failure: Coordinator.Failure) -> Coordinator.ReplicaFailure {
        switch failure {
        case .quorumNotReached(let replicaFailure): return replicaFailure
        case .lockQueueFull, .lockTimeout: return .overloaded
        case .tableDeleted, .clockUnavailable, .aborted: return .unavailable("\(failure)")
        }
    }

    func performHint(_ node: Int, _ action: HintQueue.Action) {
        switch action {
        case .deliver(let id, let target):
            if sabotage == .neverDeliverHints { return }
            guard let hint = nodes[node].hints[id] else { preconditionFailure("delivery of hint \(id), which \(nodes[node].id) does not hold") }
            precondition(hint.target == target, "hint \(id) is for \(hint.target), not \(target)")
            counters.hintDeliveries += 1
            request(from: node, to: index(of: target), .write(key: hint.key, value: hint.value, hintFor: nil), .hintDelivery(id))
        case .delete(let id, _, let reason):
            precondition(nodes[node].hints.removeValue(forKey: id) != nil, "deleting hint \(id), which \(nodes[node].id) does not hold")
            switch reason {
            case .delivered: counters.hintsDelivered += 1
            case .expired: counters.hintsExpired += 1
            }
        }
    }

    // MARK: Disk

    /// Schedules local storage work. Writes complete in the order they were submitted, as the
    /// real group commit makes them durable (one queue, one WAL); reads complete on their own.
    func disk(_ node: Int, _ work: DiskWork) {
        let delay = UInt64(random.next(below: Int(configuration.diskDelayMaxMillis) + 1))
        var done = now + delay
        if work.isWrite {
            done = max(done, nodes[node].lastWriteDoneAt)
            nodes[node].lastWriteDoneAt = done
        }
        agenda.schedule(.diskDone(node: node, incarnation: nodes[node].incarnation, work), at: done)
    }

    func diskDone(_ node: Int, _ work: DiskWork) {
        if faultsOn, work.isWrite, random.next(below: 1_000) < configuration.diskFailurePerMille {
            return diskFailed(node, work)
        }
        switch work {
        case .readForCoordinator(let id, let key):
            feed(node, .replicaRead(id, replica: nodes[node].id, .value(nodes[node].store[key])))
        case .readAndDecide(let id, let key):
            let current = nodes[node].store[key]
            feed(node, .decidedOnRead(id, current: current, decision(node, id, current: current)))
        case .readForRound(let client, let key):
            roundAnswered(node, client, replica: nodes[node].id, .value(nodes[node].store[key]))
        case .writeData(let id, let key, let value):
            // Durable now, and acknowledged only now: a crash before this loses the write unacknowledged.
            nodes[node].store[key] = value
            feed(node, .replicaWrote(id, replica: nodes[node].id, failure: nil))
        case .writeHint(let acknowledgement, let id, let hint):
            nodes[node].hints[id] = hint
            counters.hintsStored += 1
            feedHints(node, .stored(HintQueue.StoredHint(id: id, target: hint.target, bytes: hint.bytes, createdMillis: hint.createdMillis)))
            acknowledgeHint(node, acknowledgement, failure: nil)
        case .persistCeiling(let ceiling):
            nodes[node].durableCeiling = max(nodes[node].durableCeiling, ceiling)
            feed(node, .clockCeilingPersisted(ceiling, succeeded: true))
        }
    }

    /// A local write that failed (an I/O error): nothing is stored, the waiter hears of it.
    func diskFailed(_ node: Int, _ work: DiskWork) {
        counters.diskFailures += 1
        let failure = Coordinator.ReplicaFailure.unavailable("simulated I/O error")
        switch work {
        case .readForCoordinator, .readAndDecide, .readForRound:
            preconditionFailure("reads do not fail on the simulated disk")
        case .writeData(let id, _, _):
            feed(node, .replicaWrote(id, replica: nodes[node].id, failure: failure))
        case .writeHint(let acknowledgement, _, _):
            acknowledgeHint(node, acknowledgement, failure: failure)
        case .persistCeiling(let ceiling):
            feed(node, .clockCeilingPersisted(ceiling, succeeded: false))
        }
    }

    /// The shell's part of hinted handoff on the fallback: ask the queue whether the hint fits,
    /// refuse it if not (the coordinator then tries its next fallback), else store it durably.
    func storeHint(_ node: Int, _ acknowledgement: HintAcknowledgement, target: NodeID, key: [UInt8], value: StoredValue) {
        let bytes = key.count + value.encoded().count
        guard nodes[node].hintQueue.admits(target: target, bytes: bytes) else {
            counters.hintsRefused += 1
            acknowledgeHint(node, acknowledgement, failure: .overloaded)
            return
        }
        let id = nodes[node].nextHintID
        nodes[node].nextHintID += 1
        let hint = SimulatedHint(target: target, key: key, value: value, createdMillis: wallNow(node).wallMillis, bytes: bytes)
        disk(node, .writeHint(acknowledgement, id: id, hint))
    }

    func acknowledgeHint(_ node: Int, _ acknowledgement: HintAcknowledgement, failure: Coordinator.ReplicaFailure?) {
        switch acknowledgement {
        case .coordinator(let id):
            feed(node, .replicaWrote(id, replica: nodes[node].id, failure: failure))
        case .remote(let peer, let rpc):
            respond(from: node, to: peer, rpc, failure.map { .failed($0) } ?? .ok)
        case .nobody:
            break
        }
    }
}
