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
        /// A write's read of this node's replica, then the client's decision (`readAndDecide`).
        case readAndDecide(OperationID, key: [UInt8])
        case readForRound(client: Int, key: [UInt8])
        case writeData(OperationID, key: [UInt8], value: StoredValue)
        case writeHint(HintAcknowledgement, id: HintID, SimulatedHint)
        case persistCeiling(UInt64)

        var isWrite: Bool {
            switch self {
            case .readForCoordinator, .readAndDecide, .readForRound: return false
            case .writeData, .writeHint, .persistCeiling: return true
            }
        }
    }

    /// Whom a hint write answers once it is durable (or refused).
    enum HintAcknowledgement {
        case coordinator(OperationID)
        case remote(node: Int, rpc: UInt64)
        /// A hint for a silent replica of an acknowledged write (`Coordinator.Action.storeHint`).
        case nobody
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
}
