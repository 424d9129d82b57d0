import TernCluster
import TernCore

/// The shape of one simulated run: cluster, quorums, workload and fault rates, all drawn from the
/// seed (so one seed names one whole run), except the number of steps.
public struct SimulationConfiguration: Sendable, Equatable, CustomStringConvertible {
    public var seed: UInt64
    /// Client operations issued in the faulty phase.
    public var steps: Int
    public var nodeCount: Int
    public var replicationFactor: Int
    public var writeQuorum: Int
    public var readQuorum: Int
    /// Distinct keys written and read: few, so that writes of one key race.
    public var keyCount: Int
    /// Per mille of client operations that are reads (the rest are writes, some of them deletes).
    public var readsPerMille: Int
    public var deletesPerMille: Int
    /// Per mille of messages dropped, duplicated, or delayed far beyond the usual (reordering them).
    public var dropPerMille: Int
    public var duplicatePerMille: Int
    public var slowPerMille: Int
    /// Per step, per mille: a node crashes; a partition starts.
    public var crashPerMille: Int
    public var partitionPerMille: Int
    /// A local read or write completes after up to this long; one node's writes complete in the
    /// order they were submitted (group commit is one FIFO queue), reads in any order.
    public var diskDelayMaxMillis: UInt64
    /// Per mille of local disk writes (data, hints, clock ceilings) that fail with an I/O error.
    public var diskFailurePerMille: Int
    /// Nodes down at once, at most.
    public var downMax: Int
    /// Each node's wall clock is off by up to this (HLC timestamps, last-writer-wins).
    public var clockSkewMaxMillis: UInt64
    /// The hint bytes per target: small in some runs, so that refusals and the next fallback are exercised.
    public var hintBytesPerTargetMax: Int

    /// The transport's deadline on every request; an unanswered request fails after it. Usually
    /// 300 ms; in a quarter of the seeds 1.5 s, beyond the coordinator's replica timeout and the
    /// hint queue's delivery timeout, so that their own deadlines are what ends a wait.
    public var requestTimeoutMillis: UInt64

    // Fixed timings of the simulated shell (virtual milliseconds).
    public var messageDelayMaxMillis: UInt64 = 5
    public var slowDelayMaxMillis: UInt64 = 400
    public var tickMillis: UInt64 = 20
    /// Consecutive request timeouts before a node counts a peer unreachable (then it probes it).
    public var unreachableAfterTimeouts = 2
    /// Read repairs in flight per node; more are dropped (the real queue is bounded too).
    public var repairsInFlightMax = 64
    /// How long the fault-free phase may take to drain hints and settle.
    public var healMillisMax: UInt64 = 120_000

    /// The run `seed` names.
    public init(seed: UInt64, steps: Int) {
        var random = SplitMix64(seed: seed ^ 0x7E57_5EED_0000_0000)
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + random.next(below: range.count) }
        self.seed = seed
        self.steps = steps
        nodeCount = draw(3...5)
        replicationFactor = 3
        // W = 2 / R = 2 most often (the defaults); every other quorum now and then.
        writeQuorum = draw(0...3) == 0 ? draw(1...3) : 2
        readQuorum = draw(0...3) == 0 ? draw(1...3) : 2
        keyCount = draw(3...10)
        readsPerMille = draw(100...300)
        deletesPerMille = draw(0...150)
        dropPerMille = draw(0...80)
        duplicatePerMille = draw(0...40)
        slowPerMille = draw(0...40)
        crashPerMille = draw(0...25)
        partitionPerMille = draw(0...20)
        downMax = draw(1...(nodeCount - 1))
        diskFailurePerMille = draw(0...2) == 0 ? draw(1...30) : 0
        diskDelayMaxMillis = [1, 3, 30][draw(0...2)]
        requestTimeoutMillis = draw(0...3) == 0 ? 1_500 : 300
        clockSkewMaxMillis = UInt64(draw(0...200))
        hintBytesPerTargetMax = draw(0...2) == 0 ? draw(200...2_000) : 64 << 20
    }

    /// The coordinator's settings in the simulation: the node defaults with shorter waits, so that
    /// a run covers many timeouts in little virtual time.
    var coordinatorSettings: Coordinator.Settings {
        Coordinator.Settings(
            replicationFactor: replicationFactor, writeQuorum: writeQuorum, readQuorum: readQuorum,
            lockWaitersPerKeyMax: 16, lockWaitersMax: 256, lockWaitMillis: 1_000,
            clockCeilingWindowMillis: 10_000, replicaTimeoutMillis: 1_000)
    }

    var hintSettings: HintQueue.Settings {
        HintQueue.Settings(
            bytesPerTargetMax: hintBytesPerTargetMax, deliveriesInFlightPerTargetMax: 8,
            deliveryTimeoutMillis: 1_000, retryBackoffMillis: 50, retryBackoffMaxMillis: 1_000)
    }

    /// The longest a client write may wait for its reply: the lock wait, then the reads before
    /// the write and the acknowledgements each bounded by the replica timeout, plus slack for the
    /// clock ceiling's disk write and the tick that notices a deadline.
    var writeReplyMillisMax: UInt64 {
        coordinatorSettings.lockWaitMillis + 2 * coordinatorSettings.replicaTimeoutMillis + 2 * tickMillis + 4 * diskDelayMaxMillis
    }

    /// The longest a client read may wait: replicas are asked one more after each failure, each
    /// bounded by the request timeout.
    var readReplyMillisMax: UInt64 {
        UInt64(replicationFactor) * (requestTimeoutMillis + diskDelayMaxMillis) + tickMillis
    }

    public var description: String {
        "nodes=\(nodeCount) N=\(replicationFactor) W=\(writeQuorum) R=\(readQuorum) keys=\(keyCount) "
            + "drop=\(dropPerMille)‰ dup=\(duplicatePerMille)‰ slow=\(slowPerMille)‰ crash=\(crashPerMille)‰/step "
            + "partition=\(partitionPerMille)‰/step diskFail=\(diskFailurePerMille)‰ disk≤\(diskDelayMaxMillis)ms deadline=\(requestTimeoutMillis)ms downMax=\(downMax) skew≤\(clockSkewMaxMillis)ms hintBytes=\(hintBytesPerTargetMax)"
    }
}
