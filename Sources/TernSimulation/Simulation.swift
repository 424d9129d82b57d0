import TernCluster
import TernCore

/// A deterministic cluster simulation (DESIGN.md §8, layer 5; STYLE.md: TigerBeetle's VOPR,
/// FoundationDB's simulation): K nodes running the real state machines — `Coordinator`,
/// `HintQueue`, `ReadRound` — on one thread, in virtual time, with every random choice drawn from
/// one seeded generator. The simulation is the shell: it carries their actions out as disk work
/// and messages over a faulty network and feeds the results back as events.
///
/// A run has three phases:
/// 1. **Faults**: `steps` client operations (writes, deletes, reads of a few keys, each sent to a
///    random live node, which coordinates it) while messages are dropped, duplicated, delayed
///    and reordered, the network partitions (sometimes one way) and nodes crash and restart.
/// 2. **Heal**: every node up, no partition, no message fault; the run waits (bounded) for every
///    operation to reply and every hint to be delivered.
/// 3. **Check**: every key is read with R = N (with read repair); then the checkers run.
///
/// See docs/architecture.md, "Simulator", for the model and the checkers' exact definitions.
public final class Simulation {
    // MARK: Scheduled happenings

    enum Happening {
        case message(Message)
        case diskDone(node: Int, incarnation: Int, DiskWork)
        case requestTimeout(node: Int, incarnation: Int, rpc: UInt64)
        case tick(node: Int)
        case client(Int)
        case crash
        case restart(node: Int)
        case partitionStart
        case partitionEnd(generation: Int)
    }

    /// Local storage work; done when it completes, lost if the node crashes first (unsynced).
    enum DiskWork {
        case readForCoordinator(OperationID, key: [UInt8])
        case readForRound(client: Int, key: [UInt8])
        case writeData(OperationID, key: [UInt8], value: StoredValue)
        case writeHint(HintAcknowledgement, id: HintID, SimulatedHint)
        case persistCeiling(UInt64)

        var isWrite: Bool {
            switch self {
            case .readForCoordinator, .readForRound: return false
            case .writeData, .writeHint, .persistCeiling: return true
            }
        }
    }

    /// Whom a hint write answers once it is durable (or refused).
    enum HintAcknowledgement {
        case coordinator(OperationID)
        case remote(node: Int, rpc: UInt64)
    }

    struct Message {
        var from: Int
        var to: Int
        /// The incarnation of `to` when sent: a connection to a process that crashed is gone.
        var toIncarnation: Int
        var body: Body
    }

    enum Body {
        case request(UInt64, Request)
        case response(UInt64, Response)
    }

    enum Request {
        case read(key: [UInt8])
        /// `hintFor` nil: apply the version (a replica write, a hint delivery, a read repair).
        case write(key: [UInt8], value: StoredValue, hintFor: NodeID?)
        case ping
    }

    enum Response {
        case value(StoredValue?)
        case ok
        case failed(Coordinator.ReplicaFailure)
    }

    // MARK: Client operations

    enum ClientKind: CustomStringConvertible {
        /// A write (nil: a delete).
        case write(Item?)
        /// A conditional write, `attribute_not_exists(pk)`: the API aborts it when a live item is there.
        case putIfAbsent(Item)
        case read

        var description: String {
            switch self {
            case .write(let item?): return "write \(item.entries.map { "\($0.name)=\($0.value)" }.joined(separator: ","))"
            case .write(nil): return "delete"
            case .putIfAbsent(let item): return "put-if-absent \(item.entries.map { "\($0.name)=\($0.value)" }.joined(separator: ","))"
            case .read: return "read"
            }
        }
    }

    enum ClientResult {
        case outcome(Coordinator.Outcome)
        /// The node coordinating it crashed (the client saw its connection reset), or no node was up.
        case abandoned
    }

    struct ClientOperation {
        var kind: ClientKind
        var key: Int
        var node: Int = -1
        var incarnation = 0
        var issuedAt: UInt64 = 0
        /// A read of the check phase (R = N).
        var final = false
        var result: ClientResult?
        var repliedAt: UInt64 = 0
    }

    // MARK: State

    public let configuration: SimulationConfiguration
    static let tableId: UInt32 = 1
    /// Wall-clock milliseconds at virtual time 0 (any plausible date; the HLC needs one).
    static let wallBaseMillis: UInt64 = 1_800_000_000_000

    var random: SplitMix64
    var now: UInt64 = 0
    var agenda = EventQueue<Happening>()
    var nodes: [SimulatedNode] = []
    var nodeIndexes: [NodeID: Int] = [:]
    var keys: [[UInt8]] = []
    var plans: [ReplicaPlan] = []
    var clients: [ClientOperation] = []
    var nextOperation: UInt64 = 1
    var nextRPC: UInt64 = 1
    var faultsOn = true
    /// The sides of the current partition (nil: none); one-way partitions drop only side 0 → 1.
    var partition: (sides: [Int], oneWay: Bool)?
    var partitionGeneration = 0
    var counters = SimulationReport.Counters()
    var digest = TraceDigest()
    /// A deliberate bug in the simulated shell, so that tests can show each checker fails when
    /// what it guards is broken (a checker that cannot fail proves nothing).
    enum Sabotage {
        /// Replicas acknowledge other coordinators' writes (and hint deliveries) without storing them.
        case acknowledgeWithoutStoring
        /// Reads send no read repair.
        case skipReadRepair
        /// Hint holders never deliver.
        case neverDeliverHints
        /// Requests have no deadline: an unanswered one waits forever.
        case noRequestDeadlines
    }

    var sabotage: Sabotage?
    /// Receives one line per client operation's outcome and per fault (`tern sim --verbose`).
    public var log: ((String) -> Void)?

    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
        self.random = SplitMix64(seed: configuration.seed)
        let members = (0..<configuration.nodeCount).map { PartitionMap.Member(SimulatedNode.name($0)) }
        let map = try! PartitionMap.initial(members: members, partitionCount: 64)
        for index in 0..<configuration.nodeCount {
            let skew = UInt64(random.next(below: Int(configuration.clockSkewMaxMillis) + 1))
            nodes.append(SimulatedNode(index: index, nodeCount: configuration.nodeCount, skewMillis: skew, configuration: configuration))
            nodeIndexes[SimulatedNode.name(index)] = index
        }
        for k in 0..<configuration.keyCount {
            let key = KeyEncoding.itemKey(tableId: Simulation.tableId, partitionKey: .s("k\(k)"), sortKey: nil)
            let list = map.preferenceList(forPartition: map.ring.partition(ofStorageKey: key)!, replicationFactor: configuration.replicationFactor)
            keys.append(key)
            plans.append(
                ReplicaPlan(
                    preference: list.replicas, fallbacks: list.fallbacks,
                    writeQuorum: configuration.writeQuorum, readQuorum: configuration.readQuorum))
        }
    }

    /// Runs the seed's whole scenario and checks it.
    public static func run(seed: UInt64, steps: Int, log: ((String) -> Void)? = nil) -> SimulationReport {
        let simulation = Simulation(configuration: SimulationConfiguration(seed: seed, steps: steps))
        simulation.log = log
        return simulation.run()
    }

    public func run() -> SimulationReport {
        for index in nodes.indices {
            agenda.schedule(.tick(node: index), at: UInt64(1 + random.next(below: Int(configuration.tickMillis))))
        }
        let faultsEnd = scheduleWorkload()
        runUntil(faultsEnd)
        // Heal at once, while operations are in flight, nodes down and hints held, so that the
        // fault-free phase has something to settle.
        heal()
        let healDeadline = now + configuration.healMillisMax
        let settled = runUntil(healDeadline) { self.isSettled }
        let checkStart = now
        let finals = issueFinalReads()
        let read = runUntil(now + 10 * configuration.readReplyMillisMax) { self.isSettled }
        var violations = checkReplies()
        if !settled {
            violations.append("liveness: the cluster did not settle within \(configuration.healMillisMax) ms after the faults healed: \(unsettledDescription)")
        }
        if !read {
            violations.append("liveness: the check reads did not finish within \(10 * configuration.readReplyMillisMax) ms: \(unsettledDescription)")
        }
        violations += checkHintsDrained()
        violations += checkAcknowledgedWritesSurvive(finals)
        violations += checkConvergence(finals)
        for node in nodes {
            for key in node.store.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                digest.mix(key)
                digest.mix(node.store[key]!.encoded())
            }
        }
        return SimulationReport(
            configuration: configuration, counters: counters, healMillis: checkStart - faultsEnd,
            virtualMillis: now, violations: violations, traceDigest: digest.value)
    }

    /// Client operations at random intervals, each step perhaps with a crash or a partition.
    /// Returns when the last one is issued.
    func scheduleWorkload() -> UInt64 {
        var time: UInt64 = 50
        for _ in 0..<configuration.steps {
            time += UInt64(1 + random.next(below: 15))
            let key = random.next(below: configuration.keyCount)
            let roll = random.next(below: 1_000)
            let kind: ClientKind
            if roll < configuration.readsPerMille {
                kind = .read
            } else if roll < configuration.readsPerMille + configuration.deletesPerMille {
                kind = .write(nil)
            } else if roll < configuration.readsPerMille + configuration.deletesPerMille + 100 {
                kind = .putIfAbsent(Item([("pk", .s("k\(key)")), ("v", .s("c\(clients.count)"))]))
            } else {
                kind = .write(Item([("pk", .s("k\(key)")), ("v", .s("w\(clients.count)"))]))
            }
            agenda.schedule(.client(clients.count), at: time)
            clients.append(ClientOperation(kind: kind, key: key))
            if random.next(below: 1_000) < configuration.crashPerMille {
                agenda.schedule(.crash, at: time)
            }
            if random.next(below: 1_000) < configuration.partitionPerMille {
                agenda.schedule(.partitionStart, at: time)
            }
        }
        return time
    }

    // MARK: The loop

    /// Handles happenings in time order up to `deadline`, or until `done` holds (checked every
    /// 50 virtual ms). Returns whether `done` held.
    @discardableResult
    func runUntil(_ deadline: UInt64, done: (() -> Bool)? = nil) -> Bool {
        var nextCheck = now
        while let time = agenda.nextTime, time <= deadline {
            if let done, time >= nextCheck {
                if done() { return true }
                nextCheck = time + 50
            }
            let (at, happening) = agenda.pop()!
            now = at
            handle(happening)
        }
        now = max(now, deadline)
        return done?() ?? true
    }

    func handle(_ happening: Happening) {
        switch happening {
        case .message(let message):
            digest.mix(now, 1, UInt64(message.to))
            deliver(message)
        case .diskDone(let node, let incarnation, let work):
            guard nodes[node].up, nodes[node].incarnation == incarnation else { return }  // lost in a crash
            digest.mix(now, 2, UInt64(node))
            diskDone(node, work)
        case .requestTimeout(let node, let incarnation, let rpc):
            guard nodes[node].up, nodes[node].incarnation == incarnation else { return }
            requestTimedOut(node, rpc: rpc)
        case .tick(let node):
            agenda.schedule(.tick(node: node), at: now + configuration.tickMillis)
            if nodes[node].up { tick(node) }
        case .client(let index):
            digest.mix(now, 3, UInt64(index))
            issue(index)
        case .crash:
            crashRandomNode()
        case .restart(let node):
            restart(node)
        case .partitionStart:
            startPartition()
        case .partitionEnd(let generation):
            if generation == partitionGeneration { partition = nil }
        }
    }

    func wallNow(_ node: Int) -> Now {
        Now(wallMillis: Simulation.wallBaseMillis + now + nodes[node].skewMillis, monotonicMillis: now)
    }

    func index(of node: NodeID) -> Int { nodeIndexes[node]! }

    func newOperation() -> OperationID {
        defer { nextOperation += 1 }
        return OperationID(nextOperation)
    }

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
            // The API's part: conditions and update expressions, here a plain put, a delete or
            // a put-if-absent.
            guard case .client(let client)? = nodes[node].owners[id] else { preconditionFailure("decide for \(id), which is no client write") }
            switch clients[client].kind {
            case .write(let item):
                feed(node, .decided(id, .write(item)))
            case .putIfAbsent(let item):
                feed(node, .decided(id, current?.item == nil ? .write(item) : .abort))
            case .read:
                preconditionFailure("decide for read \(client)")
            }
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
        case .readForCoordinator, .readForRound:
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
        }
    }

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

    // MARK: Checks

    /// Nothing in flight anywhere: every client operation answered, no operation, request, read
    /// or hint left on any node.
    var isSettled: Bool {
        clients.allSatisfy { $0.result != nil }
            && nodes.allSatisfy { node in
                node.owners.isEmpty && node.reads.isEmpty && node.hints.isEmpty && node.hintQueue.hintCount == 0
                    && node.coordinator.operationCount == 0 && node.repairsInFlight == 0 && !node.unreachable.contains(true)
            }
    }

    var unsettledDescription: String {
        let waiting = clients.indices.filter { clients[$0].result == nil }
        let perNode = nodes.map { node in
            "\(node.id): ops=\(node.coordinator.operationCount) reads=\(node.reads.count) hints=\(node.hints.count) "
                + "queued=\(node.hintQueue.countsByTarget.map { "\($0.target):\($0.counts.hints)" }) repairs=\(node.repairsInFlight)"
        }
        return "client operations unanswered: \(waiting.prefix(10)); " + perNode.joined(separator: "; ")
    }

    func issueFinalReads() -> [Int] {
        (0..<configuration.keyCount).map { key in
            let client = clients.count
            clients.append(ClientOperation(kind: .read, key: key, final: true))
            start(client, on: random.next(below: nodes.count))
            return client
        }
    }

    /// No operation hangs: every client operation has a reply (or its coordinator crashed), in
    /// bounded virtual time.
    func checkReplies() -> [String] {
        var violations: [String] = []
        for (index, client) in clients.enumerated() {
            let bound: UInt64
            if case .read = client.kind { bound = configuration.readReplyMillisMax } else { bound = configuration.writeReplyMillisMax }
            switch client.result {
            case nil:
                violations.append("liveness: client operation \(index) (\(client.kind) of key k\(client.key) on \(SimulatedNode.name(client.node)) at \(client.issuedAt) ms) never got a reply")
            case .outcome where client.repliedAt - client.issuedAt > bound:
                violations.append("liveness: client operation \(index) (\(client.kind) of key k\(client.key)) replied after \(client.repliedAt - client.issuedAt) ms, beyond \(bound) ms")
            case .outcome, .abandoned:
                break
            }
        }
        return violations
    }

    func checkHintsDrained() -> [String] {
        nodes.compactMap { node in
            node.hints.isEmpty && node.hintQueue.hintCount == 0
                ? nil : "liveness: \(node.id) still holds \(node.hints.count) hints (queue: \(node.hintQueue.countsByTarget.map { "\($0.target):\($0.counts.hints)" })) after the faults healed"
        }
    }

    func finalValue(_ client: Int) -> StoredValue?? {
        guard case .outcome(.read(let value))? = clients[client].result else { return nil }
        return .some(value)
    }

    /// Safety: the version a read with R = N returns after the heal descends from (or equals)
    /// the version of every acknowledged write of its key.
    func checkAcknowledgedWritesSurvive(_ finals: [Int]) -> [String] {
        var violations: [String] = []
        for (key, final) in finals.enumerated() {
            guard case .some(let value) = finalValue(final) else {
                violations.append("liveness: the check read of k\(key) did not succeed: \(String(describing: clients[final].result))")
                continue
            }
            for (index, client) in clients.enumerated() where client.key == key {
                guard case .outcome(.written(_, let new))? = client.result else { continue }
                if let value, value.clock.descends(new.clock) { continue }
                violations.append(
                    "safety: acknowledged write \(index) of k\(key) (clock \(new.clock), item \(String(describing: new.item))) is lost: "
                        + "the replicas hold \(value.map { "clock \($0.clock), item \(String(describing: $0.item))" } ?? "nothing")")
            }
        }
        return violations
    }

    /// Convergence: after the check reads' repairs, every replica of a key holds the version the read returned.
    func checkConvergence(_ finals: [Int]) -> [String] {
        var violations: [String] = []
        for (key, final) in finals.enumerated() {
            guard case .some(let value) = finalValue(final) else { continue }
            for node in nodes where !plans[key].preference.contains(node.id) && node.store[keys[key]] != nil {
                violations.append("convergence: \(node.id), not a replica of k\(key), holds data for it (hints belong in the hint store)")
            }
            for replica in plans[key].preference {
                let held = nodes[index(of: replica)].store[keys[key]]
                if held != value {
                    violations.append("convergence: \(replica) holds \(held.map { "clock \($0.clock)" } ?? "nothing") for k\(key), the others \(value.map { "clock \($0.clock)" } ?? "nothing")")
                }
            }
        }
        return violations
    }
}

/// FNV-1a over what the run did, so two runs of one seed can be compared by one number.
struct TraceDigest {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func mix(_ bytes: [UInt8]) {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }

    mutating func mix(_ words: UInt64...) {
        for word in words {
            value ^= word
            value &*= 0x100_0000_01b3
        }
    }
}
