/// What one simulated run did and whether its checkers held.
public struct SimulationReport: Sendable {
    public struct Counters: Sendable, Equatable {
        public var writesAcknowledged = 0
        public var writesFailed = 0
        /// Failed client writes by reason (lockTimeout, quorumNotReached…).
        public var writeFailureReasons: [String: Int] = [:]
        public var readsAnswered = 0
        public var readsFailed = 0
        /// Reads that failed at once: fewer than R replicas reachable from their coordinator.
        public var readsFailedWithoutAsking = 0
        /// Client operations whose coordinator crashed before replying (or found no node up).
        public var abandoned = 0
        public var messages = 0
        public var messagesDropped = 0
        public var messagesDuplicated = 0
        public var messagesSlowed = 0
        /// Messages that reached a crashed node, a restarted one, or the far side of a partition.
        public var messagesLost = 0
        public var crashes = 0
        public var diskFailures = 0
        public var partitions = 0
        /// Times a node started counting a peer unreachable.
        public var suspicions = 0
        public var hintsStored = 0
        public var hintsRefused = 0
        public var hintDeliveries = 0
        public var hintsDelivered = 0
        public var hintsExpired = 0
        public var repairs = 0
        public var repairsDropped = 0

        public init() {}

        /// Adds another run's counts to these (totals over many seeds).
        public mutating func add(_ other: Counters) {
            writesAcknowledged += other.writesAcknowledged
            writesFailed += other.writesFailed
            for (reason, count) in other.writeFailureReasons { writeFailureReasons[reason, default: 0] += count }
            readsAnswered += other.readsAnswered
            readsFailed += other.readsFailed
            readsFailedWithoutAsking += other.readsFailedWithoutAsking
            abandoned += other.abandoned
            messages += other.messages
            messagesDropped += other.messagesDropped
            messagesDuplicated += other.messagesDuplicated
            messagesSlowed += other.messagesSlowed
            messagesLost += other.messagesLost
            crashes += other.crashes
            diskFailures += other.diskFailures
            partitions += other.partitions
            suspicions += other.suspicions
            hintsStored += other.hintsStored
            hintsRefused += other.hintsRefused
            hintDeliveries += other.hintDeliveries
            hintsDelivered += other.hintsDelivered
            hintsExpired += other.hintsExpired
            repairs += other.repairs
            repairsDropped += other.repairsDropped
        }
    }

    public let configuration: SimulationConfiguration
    public let counters: Counters
    /// Virtual time the fault-free phase took to settle.
    public let healMillis: UInt64
    public let virtualMillis: UInt64
    /// Every checker failure, one line each; empty when the run passed.
    public let violations: [String]
    /// A digest of what happened: two runs of one seed print the same one.
    public let traceDigest: UInt64

    public var passed: Bool { violations.isEmpty }

    /// The command that runs this seed again, exactly.
    public var reproduceCommand: String {
        "tern sim --seed \(configuration.seed) --steps \(configuration.steps)"
    }

    public var summary: String {
        let c = counters
        var lines = [
            "seed \(configuration.seed): \(passed ? "passed" : "FAILED") — \(configuration)",
            "  ops: writes acked \(c.writesAcknowledged), failed \(c.writesFailed)\(c.writeFailureReasons.isEmpty ? "" : " (" + c.writeFailureReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"); reads answered \(c.readsAnswered), failed \(c.readsFailed); abandoned (coordinator crashed) \(c.abandoned)",
            "  faults: crashes \(c.crashes), disk write failures \(c.diskFailures), partitions \(c.partitions), messages \(c.messages): dropped \(c.messagesDropped), duplicated \(c.messagesDuplicated), slowed \(c.messagesSlowed), lost to crashes/partitions \(c.messagesLost); suspicions \(c.suspicions)",
            "  hints: stored \(c.hintsStored), refused \(c.hintsRefused), deliveries \(c.hintDeliveries), delivered \(c.hintsDelivered), expired \(c.hintsExpired); read repairs \(c.repairs) (dropped \(c.repairsDropped))",
            "  virtual time \(virtualMillis) ms (heal settled in \(healMillis) ms); trace \(String(traceDigest, radix: 16))",
            "  checkers: \(passed ? "no acknowledged write lost, replicas converged, hints drained, every operation replied in time" : "\(violations.count) violation(s)")",
        ]
        for violation in violations.prefix(20) { lines.append("  ✗ \(violation)") }
        if !passed { lines.append("  reproduce: \(reproduceCommand)") }
        return lines.joined(separator: "\n")
    }
}
