import TernCore

/// Identifies one hint on the node that holds it. The shell allocates ids in increasing order
/// (the hint keyspace orders hints by it, `hints/<target>/<hint id BE>`), so a smaller id is an
/// older hint; ids are never reused.
public typealias HintID = UInt64

/// What a node does with the hints it keeps for other nodes (Dynamo §4.6, hinted handoff), as a
/// pure state machine (STYLE.md: instance, shell, action).
///
/// A write whose replica is down is stored on a fallback node "with a hint in its metadata that
/// suggests which node was the intended recipient"; the fallback keeps such hints in a separate
/// local store and, once it can reach the intended node again, delivers them and deletes them.
/// This instance is that logic and nothing else: the shell keeps the hints durably (system table
/// 0, keys `hints/<target>/<hint id BE>`), tells the queue about them, and carries out its
/// actions — send a hint to its target as an `apply`, delete a hint.
///
/// Rules:
/// - **Admission** (`admits(target:bytes:)`): a new hint is refused when the hints already held
///   for its target plus the new one would exceed `bytesPerTargetMax`; the shell then answers
///   the `writeReplica` with a failure and the coordinator tries its next fallback. One dead
///   node can so never fill a live node's disk.
/// - **Delivery**: while the target is reachable and not backing off, the oldest hints not in
///   flight are sent, at most `deliveriesInFlightPerTargetMax` at a time per target.
/// - **Success** deletes the hint. **Failure** (or no answer within `deliveryTimeoutMillis`)
///   puts it back and makes the target back off, `retryBackoffMillis` doubled per consecutive
///   failure up to `retryBackoffMaxMillis`; reachability regained ends the backoff.
/// - **Expiry**: a hint older than `hintWindowMillis` (by the wall clock it was created at) is
///   deleted undelivered, as Cassandra stops hinting a node down longer than max_hint_window:
///   beyond it, anti-entropy repairs the replica. Tombstones outlive the window (DESIGN.md §3),
///   so an expired hint never resurrects a delete.
/// - **Recovery**: at start-up the shell feeds every stored hint back (`.recovered`, in any
///   order); deliveries in flight before a crash were not acknowledged, so they are sent again
///   (an apply of a version already held changes nothing).
public struct HintQueue: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Hints older than this are deleted undelivered (Cassandra's max_hint_window: 3 h).
        public var hintWindowMillis: UInt64
        /// Bytes of hints kept for one target; a hint that would pass it is refused.
        public var bytesPerTargetMax: Int
        /// Deliveries sent to one target and not yet answered.
        public var deliveriesInFlightPerTargetMax: Int
        /// A delivery not answered within this long counts as failed (the transport's own
        /// deadline normally answers first; this bounds it whatever the shell does).
        public var deliveryTimeoutMillis: UInt64
        /// The pause after a failed delivery before a target is tried again, doubled per
        /// consecutive failure…
        public var retryBackoffMillis: UInt64
        /// …up to this.
        public var retryBackoffMaxMillis: UInt64

        public init(
            hintWindowMillis: UInt64 = 3 * 3_600_000, bytesPerTargetMax: Int = 64 << 20,
            deliveriesInFlightPerTargetMax: Int = 8, deliveryTimeoutMillis: UInt64 = 10_000,
            retryBackoffMillis: UInt64 = 1_000, retryBackoffMaxMillis: UInt64 = 60_000
        ) {
            self.hintWindowMillis = hintWindowMillis
            self.bytesPerTargetMax = bytesPerTargetMax
            self.deliveriesInFlightPerTargetMax = deliveriesInFlightPerTargetMax
            self.deliveryTimeoutMillis = deliveryTimeoutMillis
            self.retryBackoffMillis = retryBackoffMillis
            self.retryBackoffMaxMillis = retryBackoffMaxMillis
        }

        /// Every bound at least 1, the backoff cap at least the first pause, and a window shorter
        /// than the tombstone grace period (`tombstoneGraceMillis`), so that no hint carries a
        /// version whose tombstone was purged.
        public func validate(tombstoneGraceMillis: UInt64? = nil) throws(ConfigurationError) {
            guard hintWindowMillis >= 1 else { throw ConfigurationError("hint window must be at least 1 ms") }
            guard bytesPerTargetMax >= 1 else { throw ConfigurationError("hint bytes per target must be at least 1") }
            guard deliveriesInFlightPerTargetMax >= 1 else {
                throw ConfigurationError("hint deliveries in flight per target must be at least 1")
            }
            guard deliveryTimeoutMillis >= 1 else { throw ConfigurationError("hint delivery timeout must be at least 1 ms") }
            guard retryBackoffMillis >= 1, retryBackoffMaxMillis >= retryBackoffMillis else {
                throw ConfigurationError("hint retry backoff must be at least 1 ms and its maximum at least the backoff")
            }
            if let grace = tombstoneGraceMillis, grace <= hintWindowMillis {
                throw ConfigurationError("the tombstone grace period (\(grace) ms) must be longer than the hint window (\(hintWindowMillis) ms)")
            }
        }
    }

    /// A hint as the shell describes it: the queue needs its target, size and age, never its bytes.
    public struct StoredHint: Sendable, Equatable {
        public var id: HintID
        public var target: NodeID
        public var bytes: Int
        /// Wall-clock milliseconds when the hint was stored (kept with it, so age survives restarts).
        public var createdMillis: UInt64

        public init(id: HintID, target: NodeID, bytes: Int, createdMillis: UInt64) {
            self.id = id
            self.target = target
            self.bytes = bytes
            self.createdMillis = createdMillis
        }
    }

    public enum Event: Sendable, Equatable {
        /// A hint is durable in the hint keyspace (after `admits` said yes).
        case stored(StoredHint)
        /// The hints read back from the hint keyspace at start-up, in any order.
        case recovered([StoredHint])
        /// Whether the shell can reach `target` now (its breaker closed, its connection up).
        case reachability(NodeID, reachable: Bool)
        /// The target applied hint `id` durably (or already held a version at least as new).
        case delivered(HintID)
        /// The delivery of hint `id` failed (unreachable, refused, timed out).
        case deliveryFailed(HintID)
        /// Time passed: expire old hints and unanswered deliveries, end backoffs.
        case tick
    }

    public enum DeletionReason: Sendable, Equatable {
        /// The target has the version.
        case delivered
        /// The hint outlived the hint window.
        case expired
    }

    public enum Action: Sendable, Equatable {
        /// Read hint `id` from the hint keyspace and send it to `target` as an `apply`; report
        /// `delivered` or `deliveryFailed`.
        case deliver(HintID, target: NodeID)
        /// Delete hint `id` from the hint keyspace.
        case delete(HintID, target: NodeID, DeletionReason)
    }

    /// How much a node holds for one target (status and metrics).
    public struct TargetCounts: Sendable, Equatable {
        public var hints: Int
        public var bytes: Int
        public var inFlight: Int

        public init(hints: Int = 0, bytes: Int = 0, inFlight: Int = 0) {
            self.hints = hints
            self.bytes = bytes
            self.inFlight = inFlight
        }
    }

    // MARK: - State

    struct Entry: Sendable {
        var bytes: Int
        var createdMillis: UInt64
    }

    /// The hints of one target, ordered by id: `waiting` (ids not in flight) is kept ascending
    /// and deliveries take from its front.
    struct Target: Sendable {
        var entries: [HintID: Entry] = [:]
        /// Ids not in flight, ascending: the oldest go first.
        var waiting = SortedIDs()
        var bytes = 0
        /// Deliveries sent and not answered, with the time each counts as failed; at most
        /// `deliveriesInFlightPerTargetMax`, so a tick checks deadlines without walking every hint.
        var inFlight: [HintID: UInt64] = [:]
        var consecutiveFailures = 0
        var retryAtMillis: UInt64?
    }

    public let settings: Settings
    var targets: [NodeID: Target] = [:]
    /// Targets the shell reported unreachable (kept apart from `targets`, which holds only
    /// targets with hints); bounded by the cluster's members.
    var unreachable: Set<NodeID> = []
    /// Which target each held hint is for; every id here is in its target's `entries`.
    var targetOfHint: [HintID: NodeID] = [:]

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    // MARK: - Queries

    /// Whether a new hint of `bytes` for `target` fits under `bytesPerTargetMax`. The shell asks
    /// before it stores a hint and refuses the `writeReplica` when it does not.
    public func admits(target: NodeID, bytes: Int) -> Bool {
        let held = targets[target]?.bytes ?? 0
        return held + bytes <= settings.bytesPerTargetMax
    }

    /// Hints, bytes and deliveries in flight for `target`.
    public func counts(for target: NodeID) -> TargetCounts {
        guard let queue = targets[target] else { return TargetCounts() }
        return TargetCounts(hints: queue.entries.count, bytes: queue.bytes, inFlight: queue.inFlight.count)
    }

    /// Every target with hints held, in node-id byte order, with its counts.
    public var countsByTarget: [(target: NodeID, counts: TargetCounts)] {
        targets.keys.sorted(by: NodeName.precedes).compactMap { target in
            let counts = counts(for: target)
            return counts.hints == 0 ? nil : (target, counts)
        }
    }

    /// Hints held for every target.
    public var hintCount: Int { targetOfHint.count }

    // MARK: - Events

    public mutating func handle(_ event: Event, now: Now) -> [Action] {
        switch event {
        case .stored(let hint):
            add(hint)
            return deliver(to: hint.target, now: now)
        case .recovered(let hints):
            for hint in hints.sorted(by: { $0.id < $1.id }) { add(hint) }
            return sortedTargets().flatMap { deliver(to: $0, now: now) }
        case .reachability(let target, let reachable):
            return reachabilityChanged(target, reachable: reachable, now: now)
        case .delivered(let id):
            return delivered(id, now: now)
        case .deliveryFailed(let id):
            return deliveryFailed(id, now: now)
        case .tick:
            return tick(now: now)
        }
    }

    mutating func add(_ hint: StoredHint) {
        guard targetOfHint[hint.id] == nil else { return }  // recovered twice, or stored twice
        precondition(hint.bytes >= 0, "hint \(hint.id) has negative size \(hint.bytes)")
        var queue = targets[hint.target] ?? Target()
        queue.entries[hint.id] = Entry(bytes: hint.bytes, createdMillis: hint.createdMillis)
        queue.insertWaiting(hint.id)
        queue.bytes += hint.bytes
        targets[hint.target] = queue
        targetOfHint[hint.id] = hint.target
    }

    mutating func reachabilityChanged(_ target: NodeID, reachable: Bool, now: Now) -> [Action] {
        if reachable { unreachable.remove(target) } else { unreachable.insert(target) }
        guard var queue = targets[target] else { return [] }
        if reachable {
            // The failure detector saw it answer: try again now rather than after the backoff.
            queue.consecutiveFailures = 0
            queue.retryAtMillis = nil
        }
        targets[target] = queue
        return deliver(to: target, now: now)
    }

    mutating func delivered(_ id: HintID, now: Now) -> [Action] {
        // A late answer for a hint that expired or was delivered meanwhile: nothing to do.
        guard let target = targetOfHint.removeValue(forKey: id), var queue = targets[target],
            let entry = queue.entries.removeValue(forKey: id)
        else { return [] }
        queue.bytes -= entry.bytes
        if queue.inFlight.removeValue(forKey: id) == nil {
            queue.waiting.remove(id)  // answered after its delivery had timed out: it arrived anyway
        }
        queue.consecutiveFailures = 0
        targets[target] = queue
        return [.delete(id, target: target, .delivered)] + deliver(to: target, now: now)
    }

    mutating func deliveryFailed(_ id: HintID, now: Now) -> [Action] {
        guard let target = targetOfHint[id], var queue = targets[target],
            queue.inFlight[id] != nil
        else { return [] }  // not in flight: a duplicate or late report
        queue.returnToWaiting(id)
        queue.backOff(now: now, settings: settings)
        targets[target] = queue
        return []
    }

    mutating func tick(now: Now) -> [Action] {
        var actions: [Action] = []
        for target in sortedTargets() {
            actions += expire(target, now: now)
            actions += deliver(to: target, now: now)
        }
        return actions
    }

    /// Deletes the hints past the window (oldest first, stopping at the first younger one: ids
    /// follow creation) and fails deliveries past their deadline.
    mutating func expire(_ target: NodeID, now: Now) -> [Action] {
        guard var queue = targets[target] else { return [] }
        var actions: [Action] = []
        var timedOut = false
        for (id, deadline) in queue.inFlight where deadline <= now.monotonicMillis {
            queue.returnToWaiting(id)
            timedOut = true
        }
        if timedOut { queue.backOff(now: now, settings: settings) }
        while let oldest = queue.waiting.first, let entry = queue.entries[oldest],
            entry.createdMillis &+ settings.hintWindowMillis <= now.wallMillis
        {
            _ = queue.waiting.popFirst()
            queue.entries[oldest] = nil
            queue.bytes -= entry.bytes
            targetOfHint[oldest] = nil
            actions.append(.delete(oldest, target: target, .expired))
        }
        targets[target] = queue
        return actions
    }

    /// Sends the oldest waiting hints of `target` while it is reachable, not backing off and
    /// below its in-flight bound; drops the target's entry once it holds nothing.
    mutating func deliver(to target: NodeID, now: Now) -> [Action] {
        guard var queue = targets[target] else { return [] }
        if queue.entries.isEmpty {
            targets[target] = nil
            return []
        }
        if let retryAt = queue.retryAtMillis {
            guard retryAt <= now.monotonicMillis else { return [] }
            queue.retryAtMillis = nil
        }
        var actions: [Action] = []
        while !unreachable.contains(target), queue.inFlight.count < settings.deliveriesInFlightPerTargetMax,
            let id = queue.waiting.popFirst()
        {
            queue.inFlight[id] = now.monotonicMillis + settings.deliveryTimeoutMillis
            actions.append(.deliver(id, target: target))
        }
        targets[target] = queue
        return actions
    }

    func sortedTargets() -> [NodeID] {
        targets.keys.sorted(by: NodeName.precedes)
    }
}

/// Hint ids in ascending order, taken from the front: an array with a head index, so taking the
/// oldest is O(1) amortised even with hundreds of thousands of hints held for one target.
struct SortedIDs: Sendable {
    private var ids: [HintID] = []
    private var head = 0

    var count: Int { ids.count - head }
    var isEmpty: Bool { head == ids.count }
    var first: HintID? { isEmpty ? nil : ids[head] }

    mutating func popFirst() -> HintID? {
        guard !isEmpty else { return nil }
        let id = ids[head]
        head += 1
        // Reclaim the taken prefix once it is half the storage: amortised O(1) per pop.
        if head >= 1_024, head * 2 >= ids.count {
            ids.removeFirst(head)
            head = 0
        }
        return id
    }

    /// Inserts `id` in order; a new hint has the largest id, so this is usually an append.
    mutating func insert(_ id: HintID) {
        if let last = ids.last, last > id, !isEmpty {
            ids.insert(id, at: lowerBound(id))
        } else {
            ids.append(id)
        }
    }

    mutating func remove(_ id: HintID) {
        let index = lowerBound(id)
        if index < ids.count, ids[index] == id { ids.remove(at: index) }
    }

    /// The first position at or after `head` whose id is not below `id`.
    private func lowerBound(_ id: HintID) -> Int {
        var low = head
        var high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

extension HintQueue.Target {
    mutating func insertWaiting(_ id: HintID) { waiting.insert(id) }

    /// A delivery in flight ends without success: the hint waits to be sent again.
    mutating func returnToWaiting(_ id: HintID) {
        inFlight[id] = nil
        insertWaiting(id)
    }

    /// No delivery to this target before the backoff passes: the base pause doubled per
    /// consecutive failure, capped; failures while already backing off do not double it again.
    mutating func backOff(now: Now, settings: HintQueue.Settings) {
        // The other deliveries of a batch fail for the same reason: one outage, one doubling.
        if let retryAt = retryAtMillis, retryAt > now.monotonicMillis { return }
        consecutiveFailures += 1
        let doublings = UInt64(min(consecutiveFailures - 1, 32))
        let (scaled, overflow) = settings.retryBackoffMillis.multipliedReportingOverflow(by: 1 << doublings)
        let pause = overflow ? settings.retryBackoffMaxMillis : min(scaled, settings.retryBackoffMaxMillis)
        retryAtMillis = now.monotonicMillis + pause
    }
}
