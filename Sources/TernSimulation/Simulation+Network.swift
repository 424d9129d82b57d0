import TernCluster
import TernCore

/// The simulated network: messages with seeded loss, duplication and delay, partitions, request
/// deadlines, and each node's failure detector.
extension Simulation {
    // MARK: Network

    func send(_ message: Message) {
        guard nodes[message.from].up else { return }
        counters.messages += 1
        if faultsOn, random.next(below: 1_000) < configuration.dropPerMille {
            counters.messagesDropped += 1
            return
        }
        agenda.schedule(.message(message), at: now + messageDelay())
        if faultsOn, random.next(below: 1_000) < configuration.duplicatePerMille {
            counters.messagesDuplicated += 1
            agenda.schedule(.message(message), at: now + messageDelay())
        }
    }

    func messageDelay() -> UInt64 {
        var delay = UInt64(1 + random.next(below: Int(configuration.messageDelayMaxMillis)))
        if faultsOn, random.next(below: 1_000) < configuration.slowPerMille {
            counters.messagesSlowed += 1
            delay += UInt64(random.next(below: Int(configuration.slowDelayMaxMillis)))
        }
        return delay
    }

    func isCut(from: Int, to: Int) -> Bool {
        guard let partition, partition.sides[from] != partition.sides[to] else { return false }
        return !partition.oneWay || partition.sides[from] == 0
    }

    func request(from node: Int, to peer: Int, _ request: Request, _ pending: PendingRequest) {
        let rpc = nextRPC
        nextRPC += 1
        nodes[node].requests[rpc] = (peer, pending)
        send(Message(from: node, to: peer, toIncarnation: nodes[peer].incarnation, body: .request(rpc, request)))
        if sabotage == .noRequestDeadlines { return }
        agenda.schedule(.requestTimeout(node: node, incarnation: nodes[node].incarnation, rpc: rpc), at: now + configuration.requestTimeoutMillis)
    }

    func respond(from node: Int, to peer: Int, _ rpc: UInt64, _ response: Response) {
        send(Message(from: node, to: peer, toIncarnation: nodes[peer].incarnation, body: .response(rpc, response)))
    }

    func deliver(_ message: Message) {
        let node = message.to
        guard nodes[node].up, nodes[node].incarnation == message.toIncarnation, !isCut(from: message.from, to: node) else {
            counters.messagesLost += 1
            return
        }
        switch message.body {
        case .request(let rpc, let request):
            served(node, from: message.from, rpc, request)
        case .response(let rpc, let response):
            // A duplicate, or an answer after the deadline: the request is settled already.
            guard let (peer, pending) = nodes[node].requests.removeValue(forKey: rpc) else { return }
            peerAnswered(node, peer)
            resolve(node, pending, peer: peer, response)
        }
    }

    /// A node serves a peer's request, as the real node's replica endpoint will.
    func served(_ node: Int, from peer: Int, _ rpc: UInt64, _ request: Request) {
        switch request {
        case .read(let key):
            respond(from: node, to: peer, rpc, .value(nodes[node].store[key]))
        case .write(let key, let value, let hintFor?):
            storeHint(node, .remote(node: peer, rpc: rpc), target: hintFor, key: key, value: value)
        case .write(let key, let value, nil):
            if sabotage == .acknowledgeWithoutStoring { return respond(from: node, to: peer, rpc, .ok) }
            let id = newOperation()
            nodes[node].owners[id] = .remoteApply(node: peer, rpc: rpc)
            feed(node, .apply(id, key: key, tableId: Simulation.tableId, value: value))
        case .ping:
            respond(from: node, to: peer, rpc, .ok)
        }
    }

    func requestTimedOut(_ node: Int, rpc: UInt64) {
        guard let (peer, pending) = nodes[node].requests.removeValue(forKey: rpc) else { return }  // answered
        nodes[node].timeouts[peer] += 1
        if nodes[node].timeouts[peer] >= configuration.unreachableAfterTimeouts, !nodes[node].unreachable[peer] {
            nodes[node].unreachable[peer] = true
            counters.suspicions += 1
            feed(node, .reachability(nodes[peer].id, reachable: false))
            feedHints(node, .reachability(nodes[peer].id, reachable: false))
        }
        resolve(node, pending, peer: peer, .failed(.unavailable("request timed out")))
    }

    /// The failure detector: any answer means the peer is reachable.
    func peerAnswered(_ node: Int, _ peer: Int) {
        nodes[node].timeouts[peer] = 0
        guard nodes[node].unreachable[peer] else { return }
        nodes[node].unreachable[peer] = false
        feed(node, .reachability(nodes[peer].id, reachable: true))
        feedHints(node, .reachability(nodes[peer].id, reachable: true))
    }

    func resolve(_ node: Int, _ pending: PendingRequest, peer: Int, _ response: Response) {
        let replica = nodes[peer].id
        switch pending {
        case .coordinatorRead(let id):
            switch response {
            case .value(let value): feed(node, .replicaRead(id, replica: replica, .value(value)))
            case .failed(let failure): feed(node, .replicaRead(id, replica: replica, .failed(failure)))
            case .ok: preconditionFailure("a read answered ok")
            }
        case .coordinatorWrite(let id):
            feed(node, .replicaWrote(id, replica: replica, failure: Simulation.failure(of: response)))
        case .read(let client):
            switch response {
            case .value(let value): roundAnswered(node, client, replica: replica, .value(value))
            case .failed(let failure): roundAnswered(node, client, replica: replica, .failed(failure))
            case .ok: preconditionFailure("a read answered ok")
            }
        case .hintDelivery(let id):
            feedHints(node, Simulation.failure(of: response) == nil ? .delivered(id) : .deliveryFailed(id))
        case .repair:
            nodes[node].repairsInFlight -= 1
        case .ping:
            nodes[node].pingInFlight[peer] = false
        }
    }

    static func failure(of response: Response) -> Coordinator.ReplicaFailure? {
        switch response {
        case .ok, .value: return nil
        case .failed(let failure): return failure
        }
    }

    func tick(_ node: Int) {
        feed(node, .tick)
        guard nodes[node].up else { return }
        feedHints(node, .tick)
        // Probe the peers counted unreachable, one probe at a time each: an answer brings them back.
        for peer in nodes.indices where nodes[node].unreachable[peer] && !nodes[node].pingInFlight[peer] {
            nodes[node].pingInFlight[peer] = true
            request(from: node, to: peer, .ping, .ping)
        }
    }
}
