import TernCluster
import TernCore

/// Client operations (writes, conditional writes, reads with read repair) and the faults that
/// hit the nodes (crashes, restarts, partitions, the heal).
extension Simulation {
    // MARK: Clients

    func issue(_ client: Int) {
        let live = nodes.indices.filter { nodes[$0].up }
        guard !live.isEmpty else {
            clients[client].result = .abandoned
            counters.abandoned += 1
            return
        }
        let node = live[random.next(below: live.count)]
        start(client, on: node)
    }

    func start(_ client: Int, on node: Int) {
        clients[client].node = node
        clients[client].incarnation = nodes[node].incarnation
        clients[client].issuedAt = now
        let key = clients[client].key
        switch clients[client].kind {
        case .write, .putIfAbsent:
            let id = newOperation()
            nodes[node].owners[id] = .client(client)
            feed(node, .update(id, key: keys[key], tableId: Simulation.tableId, plan: plans[key]))
        case .read:
            var plan = plans[key]
            if clients[client].final { plan.readQuorum = plan.replicationFactor }
            let unreachable = nodes[node].unreachable
            let round = ReadRound(key: keys[key], plan: plan, local: nodes[node].id) { !unreachable[self.index(of: $0)] }
            if let outcome = round.outcomeWithoutAsking {
                counters.readsFailedWithoutAsking += 1
                return clientReplied(client, outcome)
            }
            nodes[node].reads[client] = ReadInProgress(round: round, client: client, outstanding: 0)
            for replica in round.replicas { ask(node, client, replica) }
        }
    }

    func ask(_ node: Int, _ client: Int, _ replica: NodeID) {
        nodes[node].reads[client]!.outstanding += 1
        let key = keys[clients[client].key]
        if replica == nodes[node].id {
            disk(node, .readForRound(client: client, key: key))
        } else {
            request(from: node, to: index(of: replica), .read(key: key), .read(client))
        }
    }

    func roundAnswered(_ node: Int, _ client: Int, replica: NodeID, _ result: Coordinator.ReplicaRead) {
        guard var read = nodes[node].reads[client] else { return }
        read.outstanding -= 1
        let outcome = read.round.handle(replica, result)
        nodes[node].reads[client] = read
        if let next = read.round.pendingAsk { ask(node, client, next) }
        if let outcome { clientReplied(client, outcome) }
        guard let done = nodes[node].reads[client], done.outstanding == 0 else { return }
        nodes[node].reads[client] = nil
        repair(node, key: clients[client].key, done.round.repairs)
    }

    /// Read repair (Dynamo §4.5): the reconciled version goes, as an apply, to every replica that
    /// answered with an older one; bounded in flight per node, the rest dropped.
    func repair(_ node: Int, key: Int, _ repairs: [(replica: NodeID, value: StoredValue)]) {
        if sabotage == .skipReadRepair { return }
        for (replica, value) in repairs {
            guard nodes[node].repairsInFlight < configuration.repairsInFlightMax else {
                counters.repairsDropped += 1
                continue
            }
            counters.repairs += 1
            nodes[node].repairsInFlight += 1
            if replica == nodes[node].id {
                let id = newOperation()
                nodes[node].owners[id] = .localRepair
                feed(node, .apply(id, key: keys[key], tableId: Simulation.tableId, value: value))
            } else {
                request(from: node, to: index(of: replica), .write(key: keys[key], value: value, hintFor: nil), .repair)
            }
        }
    }

    func clientReplied(_ client: Int, _ outcome: Coordinator.Outcome) {
        guard clients[client].result == nil else { preconditionFailure("client operation \(client) answered twice") }
        clients[client].result = .outcome(outcome)
        clients[client].repliedAt = now
        log?("\(now) ms: client \(client) \(clients[client].kind) k\(clients[client].key) on \(SimulatedNode.name(clients[client].node)) → \(outcome)")
        switch outcome {
        case .written, .unchanged: counters.writesAcknowledged += 1
        case .read: counters.readsAnswered += 1
        case .failed(let failure):
            if case .read = clients[client].kind {
                counters.readsFailed += 1
            } else {
                counters.writesFailed += 1
                let reason = "\(failure)".prefix { $0 != "(" }
                counters.writeFailureReasons[String(reason), default: 0] += 1
            }
        }
    }

    // MARK: Faults

    func crashRandomNode() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard faultsOn, nodes.count - live.count < configuration.downMax, !live.isEmpty else { return }
        let node = live[random.next(below: live.count)]
        counters.crashes += 1
        log?("\(now) ms: \(nodes[node].id) crashes")
        nodes[node].crash()
        for client in clients.indices where clients[client].node == node && clients[client].result == nil {
            clients[client].result = .abandoned
            counters.abandoned += 1
        }
        agenda.schedule(.restart(node: node), at: now + UInt64(100 + random.next(below: 2_000)))
    }

    func restart(_ node: Int) {
        guard !nodes[node].up else { return }
        // The wall clock may come back stepped (NTP after a reboot): the clock ceiling must hold.
        nodes[node].skewMillis = UInt64(random.next(below: Int(configuration.clockSkewMaxMillis) + 1))
        nodes[node].restart(configuration: configuration)
        feedHints(node, .recovered(nodes[node].recoveredHints))
    }

    func startPartition() {
        guard faultsOn, partition == nil else { return }
        counters.partitions += 1
        var sides = nodes.indices.map { _ in random.next(below: 2) }
        if Set(sides).count == 1 { sides[random.next(below: sides.count)] ^= 1 }
        partition = (sides, random.next(below: 4) == 0)
        partitionGeneration += 1
        log?("\(now) ms: partition \(sides) \(partition!.oneWay ? "one way" : "both ways")")
        agenda.schedule(.partitionEnd(generation: partitionGeneration), at: now + UInt64(100 + random.next(below: 2_000)))
    }

    /// The fault-free phase: every node up, no partition, no message faults from now on.
    func heal() {
        faultsOn = false
        partition = nil
        for node in nodes.indices { restart(node) }
    }
}
