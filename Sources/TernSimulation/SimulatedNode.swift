import TernCluster
import TernCore

/// One hint as the simulated node keeps it in its hint store (the real node's `hints/<target>/<id>`
/// keys of system table 0).
struct SimulatedHint {
    var target: NodeID
    var key: [UInt8]
    var value: StoredValue
    var createdMillis: UInt64
    var bytes: Int
}

/// Who waits for a coordinator operation's reply on a node.
enum OperationOwner {
    /// A client operation (index into the simulation's client operations).
    case client(Int)
    /// Another node's `writeReplica` that this node applies: answer request `rpc` of `node`.
    case remoteApply(node: Int, rpc: UInt64)
    /// A read repair this node applies to its own replica.
    case localRepair
}

/// What a node waits for from a request it sent; resolved by the answer or by its timeout.
enum PendingRequest {
    case coordinatorRead(OperationID)
    case coordinatorWrite(OperationID)
    case read(Int)
    case hintDelivery(HintID)
    case repair
    case ping
}

/// A read of a client (or of the final check) in progress on its coordinating node.
struct ReadInProgress {
    var round: ReadRound
    var client: Int
    /// Asked replicas that have not answered yet; repairs go out once none is left.
    var outstanding: Int
}

/// One node of the simulated cluster: the state machines a real node runs (`Coordinator`,
/// `HintQueue`, `ReadRound`s), what survives a crash (durable data, hints, the clock ceiling),
/// and the shell's volatile state (requests in flight, its failure detector).
struct SimulatedNode {
    let id: NodeID
    let index: Int
    var up = true
    /// Bumped on every crash: completions and answers meant for an earlier run are dropped.
    var incarnation = 0
    var skewMillis: UInt64

    // Durable: what a crash keeps.
    var store: [[UInt8]: StoredValue] = [:]
    var hints: [HintID: SimulatedHint] = [:]
    var durableCeiling: UInt64 = 0
    var nextHintID: HintID = 1

    // Volatile: rebuilt on restart.
    var coordinator: Coordinator
    var hintQueue: HintQueue
    var owners: [OperationID: OperationOwner] = [:]
    var requests: [UInt64: (peer: Int, pending: PendingRequest)] = [:]
    var reads: [Int: ReadInProgress] = [:]
    var repairsInFlight = 0
    /// When the last submitted disk write completes: writes complete in submission order.
    var lastWriteDoneAt: UInt64 = 0
    /// The failure detector: consecutive request timeouts per peer, and whom it counts unreachable.
    var timeouts: [Int]
    var unreachable: [Bool]
    var pingInFlight: [Bool]

    init(index: Int, nodeCount: Int, skewMillis: UInt64, configuration: SimulationConfiguration) {
        self.index = index
        self.id = SimulatedNode.name(index)
        self.skewMillis = skewMillis
        coordinator = Coordinator(node: id, settings: configuration.coordinatorSettings, recoveredClockCeiling: 0)
        hintQueue = HintQueue(settings: configuration.hintSettings)
        timeouts = Array(repeating: 0, count: nodeCount)
        unreachable = Array(repeating: false, count: nodeCount)
        pingInFlight = Array(repeating: false, count: nodeCount)
    }

    static func name(_ index: Int) -> NodeID { "n\(index + 1)" }

    /// A crash: volatile state is gone; unsynced writes were never applied to `store`.
    mutating func crash() {
        up = false
        incarnation += 1
        owners = [:]
        requests = [:]
        reads = [:]
        repairsInFlight = 0
        lastWriteDoneAt = 0  // the writes queued are gone with the process
    }

    /// A restart: fresh state machines over what was durable.
    mutating func restart(configuration: SimulationConfiguration) {
        up = true
        coordinator = Coordinator(node: id, settings: configuration.coordinatorSettings, recoveredClockCeiling: durableCeiling)
        hintQueue = HintQueue(settings: configuration.hintSettings)
        for peer in timeouts.indices {
            timeouts[peer] = 0
            unreachable[peer] = false
            pingInFlight[peer] = false
        }
    }

    /// The hints to feed back to a fresh `HintQueue`, in id order.
    var recoveredHints: [HintQueue.StoredHint] {
        hints.keys.sorted().map { id in
            let hint = hints[id]!
            return HintQueue.StoredHint(id: id, target: hint.target, bytes: hint.bytes, createdMillis: hint.createdMillis)
        }
    }
}
