import Synchronization
import TernCluster
import TernCore
import TernStorage

// Range reads in a cluster (DESIGN.md §3): a storage key is table id · token · key, so one
// partition of one table is one contiguous key range. A Query's range lies in one partition and
// is read from that partition's replicas; a Scan's range is walked partition by partition in token
// order, each part from its own replicas, and the page limits hold for the whole page.

extension CoordinatorShell {
    /// Reads live items of `table` with `start <= key < end` through the cluster: each partition
    /// the range touches is read from R of its replicas (`readQuorum`, the request's header, else 1
    /// for an eventually consistent read, else the table's tag `tern:r`, else the node's default;
    /// N from the tag `tern:n`), this node's replica first when it is one, a failed replica replaced
    /// by the next reachable one. Answers of several replicas are merged and reconciled, and stale
    /// replicas repaired in the background. Limits as in `readRange(start:end:reverse:maxItems:maxBytes:)`,
    /// for the whole page; `lastExaminedKey` may lie in any partition, so the next page resumes
    /// there. On a cluster of one this is exactly that local read.
    public func readRange(
        _ table: TableDefinition, start: [UInt8], end: [UInt8], reverse: Bool, maxItems: Int, maxBytes: Int,
        consistent: Bool, readQuorum: Int? = nil
    ) async throws -> RangePage {
        if view.isSingleNode {
            return try await readRange(start: start, end: end, reverse: reverse, maxItems: maxItems, maxBytes: maxBytes)
        }
        let replication = table.replication
        let quorum = readQuorum ?? (consistent ? replication.readQuorum ?? view.readQuorum : 1)
        let replicationFactor = replication.replicationFactor
        var page = RangePage(items: [], exhausted: false, bytes: 0, lastExaminedKey: nil)
        var tombstones = 0
        var low = start
        var high = end
        while low.lexicographicallyPrecedes(high), let slice = nextSlice(low: low, high: high, reverse: reverse, replicationFactor: replicationFactor, readQuorum: quorum) {
            let request = RangeRead(
                start: slice.start, end: slice.end, reverse: reverse, maxItems: maxItems - page.items.count,
                maxBytes: maxBytes - page.bytes, tombstonesMax: Self.tombstonesPerPageMax - tombstones
            )
            let merged = try await read(RangeRound(request: request, candidates: slice.candidates, quorum: slice.quorum))
            for entry in merged.entries {
                page.lastExaminedKey = entry.key
                if let item = entry.value.item {
                    page.items.append((entry.key, item))
                    page.bytes += ItemSize.of(item)
                } else {
                    tombstones += 1
                }
            }
            if reverse { high = slice.start } else { low = slice.end }
            let full = page.items.count >= maxItems || page.bytes >= maxBytes || tombstones >= Self.tombstonesPerPageMax
            if !merged.exhausted || full {
                // A page that fills up exactly at a partition's end cannot tell whether later
                // partitions hold more: it returns its position, and the next page may be empty.
                page.exhausted = merged.exhausted && !low.lexicographicallyPrecedes(high)
                return page
            }
        }
        page.exhausted = true
        return page
    }

    /// A run of consecutive partitions whose reachable replicas are the same nodes, clipped to
    /// the range: one `RangeRound` reads it. On a cluster where every node holds every partition
    /// (N equal to the cluster's size) a whole table is one slice, so a Scan is one read per page.
    struct RangeSlice {
        var start: [UInt8]
        var end: [UInt8]
        var candidates: [NodeID]
        var quorum: Int
    }

    /// The slice at the front of `low..<high` in the read's direction (its low end when forward,
    /// its high end in reverse); nil when no key of the table lies in the range.
    func nextSlice(low: [UInt8], high: [UInt8], reverse: Bool, replicationFactor: Int?, readQuorum: Int) -> RangeSlice? {
        guard let tableId = KeyEncoding.tableId(ofKey: low) else {
            preconditionFailure("a range read starts inside a table, not at \(low)")
        }
        let ring = view.map.ring
        guard let first = reverse ? lastPartition(below: high, tableId: tableId) : ring.partition(ofToken: Self.paddedToken(low)) else {
            return nil
        }
        let preference = rangePreference(first, replicationFactor)
        let candidates = RangeRound.candidates(preference: preference, local: nodeId, reachable: isReachable)
        let nodes = candidates.sorted()
        var last = first
        if reverse {
            while last > 0, low.lexicographicallyPrecedes(Self.partitionStart(tableId, last, ring)), rangeCandidates(last - 1, replicationFactor).sorted() == nodes {
                last -= 1
            }
        } else {
            while last + 1 < ring.partitionCount, Self.partitionEnd(tableId, last, ring).lexicographicallyPrecedes(high), rangeCandidates(last + 1, replicationFactor).sorted() == nodes {
                last += 1
            }
        }
        let quorum = min(max(readQuorum, 1), preference.count)
        if reverse {
            let start = Self.partitionStart(tableId, last, ring)
            return RangeSlice(start: low.lexicographicallyPrecedes(start) ? start : low, end: high, candidates: candidates, quorum: quorum)
        }
        let end = Self.partitionEnd(tableId, last, ring)
        return RangeSlice(start: low, end: end.lexicographicallyPrecedes(high) ? end : high, candidates: candidates, quorum: quorum)
    }

    /// The replicas of `partition` a range read may ask now.
    func rangeCandidates(_ partition: Int, _ replicationFactor: Int?) -> [NodeID] {
        RangeRound.candidates(preference: rangePreference(partition, replicationFactor), local: nodeId, reachable: isReachable)
    }

    /// The replicas of `partition` for a table with `replicationFactor` (nil: the node's N).
    func rangePreference(_ partition: Int, _ replicationFactor: Int?) -> [NodeID] {
        guard let replicationFactor, min(replicationFactor, view.map.members.count) != view.replicationFactor else {
            return view.lists[partition].replicas
        }
        // A table with its own N (tag tern:n): its lists are walked per slice (O(members) each).
        return view.map.preferenceList(forPartition: partition, replicationFactor: replicationFactor).replicas
    }

    /// The partition of the greatest key of `tableId` below `end`; nil when there is none.
    func lastPartition(below end: [UInt8], tableId: UInt32) -> Int? {
        let ring = view.map.ring
        guard KeyEncoding.tableId(ofKey: end) == tableId else { return ring.partitionCount - 1 }
        let partition = ring.partition(ofToken: Self.paddedToken(end))
        if Self.partitionStart(tableId, partition, ring).lexicographicallyPrecedes(end) { return partition }
        return partition > 0 ? partition - 1 : nil
    }

    /// The token of `key`, or of `key` padded with zero bytes when it is too short to hold one
    /// (a bare table prefix): no item key lies between a key and its padding.
    static func paddedToken(_ key: [UInt8]) -> UInt64 {
        let width = KeyEncoding.tableIdBytes + KeyEncoding.tokenBytes
        if let token = KeyEncoding.token(ofKey: key) { return token }
        return KeyEncoding.token(ofKey: key + [UInt8](repeating: 0, count: width - key.count)) ?? 0
    }

    /// The first storage key of `partition` in table `tableId`: no item key of it is smaller.
    static func partitionStart(_ tableId: UInt32, _ partition: Int, _ ring: Ring) -> [UInt8] {
        var key = KeyEncoding.tablePrefix(tableId)
        let token = ring.tokenRange(of: partition).lowerBound
        for shift in stride(from: 56, through: 0, by: -8) { key.append(UInt8(truncatingIfNeeded: token >> UInt64(shift))) }
        return key
    }

    /// The first storage key after every key of `partition` in table `tableId`.
    static func partitionEnd(_ tableId: UInt32, _ partition: Int, _ ring: Ring) -> [UInt8] {
        partition + 1 < ring.partitionCount ? partitionStart(tableId, partition + 1, ring) : KeyEncoding.tableEnd(tableId)
    }

    // MARK: - One slice from its replicas

    /// Runs `round`: remote replicas are asked first, so they read while this node reads its own.
    func read(_ round: RangeRound) async throws -> ReplicaPage {
        if case .failed(let failure)? = round.outcomeBeforeAsking {
            try throwFailure(.failed(.quorumNotReached(failure)))
        }
        let read = RemoteRangeRead(round: round)
        for replica in round.replicas where replica != nodeId {
            askForRange(read, replica)
        }
        if round.replicas.contains(nodeId), let next = read.answer(nodeId, await readLocalRange(round.request)) {
            askForRange(read, next)
        }
        let (outcome, repairs) = await read.outcome()
        for repair in repairs { self.repair(repair.key, repair.value, on: repair.replica) }
        switch outcome {
        case .page(let page):
            return page
        case .failed(let failure):
            try throwFailure(.failed(.quorumNotReached(failure)))
            preconditionFailure("unreachable")
        }
    }

    func askForRange(_ read: RemoteRangeRead, _ replica: NodeID) {
        precondition(replica != nodeId, "this node's replica is read first, never as a spare")
        messenger!.send(.readRange(read.request), to: replica, deadlineMillis: Self.replicaDeadlineMillis) { result in
            if let next = read.answer(replica, CoordinatorShell.rangeResult(result)) { self.askForRange(read, next) }
        }
    }

    static func rangeResult(_ result: Result<ReplicaMessage, PeerError>) -> RangeReadResult {
        switch result {
        case .success(.readRangeReply(let answer)): answer
        case .success(let other): .failed(.unavailable("unexpected answer to a range read: kind \(other.kind)"))
        case .failure(let error): .failed(replicaFailure(error))
        }
    }

    // MARK: - This node as a replica of range reads

    /// This node's entries of `request`'s range, tombstones included (its own reads and other
    /// coordinators' `readRange` requests).
    func readLocalRange(_ request: RangeRead) async -> RangeReadResult {
        let storage = self.storage
        do {
            return .page(try await pool.run { try CoordinatorShell.replicaPage(storage, request) })
        } catch {
            return .failed(CoordinatorShell.replicaFailure(error))
        }
    }

    /// Walks the range in chunks; every entry examined goes into the page, so the page's encoded
    /// size bounds the work as well as the reply.
    static func replicaPage(_ storage: any StorageEngine, _ request: RangeRead) throws -> ReplicaPage {
        var page = ReplicaPage(entries: [], exhausted: false)
        var items = 0
        var bytes = 0
        var tombstones = 0
        var encodedBytes = 0
        var low = request.start
        var high = request.end
        let chunk = max(1, min(request.maxItems, 256))
        while true {
            let entries = try storage.scan(start: low, end: high, reverse: request.reverse, limit: chunk)
            for entry in entries {
                if request.reverse { high = entry.key } else { low = entry.key + [0] }
                let value = try decode(entry.value)
                page.entries.append(ReplicaPage.Entry(key: entry.key, value: value))
                // The entry as the reply carries it: two length prefixes, and room for a
                // version re-encoded in the current format.
                encodedBytes += entry.key.count + entry.value.count + 16
                if let item = value.item {
                    items += 1
                    bytes += ItemSize.of(item)
                } else {
                    tombstones += 1
                }
                if items >= request.maxItems || bytes >= request.maxBytes || tombstones >= request.tombstonesMax || encodedBytes >= RangeRead.replyBytesMax {
                    page.exhausted = try storage.scan(start: low, end: high, reverse: request.reverse, limit: 1).isEmpty
                    return page
                }
            }
            if entries.count < chunk {
                page.exhausted = true
                return page
            }
        }
    }
}

/// One range read in flight: the `RangeRound`, and the caller's continuation until its outcome.
/// Answers arrive from transport callbacks and from the caller's own local read.
final class RemoteRangeRead: Sendable {
    struct State {
        var round: RangeRound
        var outcome: RangeRound.Outcome?
        var continuation: CheckedContinuation<(RangeRound.Outcome, [RangeRound.Repair]), Never>?
    }

    let request: RangeRead
    let state: Mutex<State>

    init(round: RangeRound) {
        request = round.request
        state = Mutex(State(round: round))
    }

    /// Records an answer; returns the next replica to ask (a failed one's spare). Resumes the
    /// caller when the outcome is decided.
    func answer(_ replica: NodeID, _ result: RangeReadResult) -> NodeID? {
        var resume: (CheckedContinuation<(RangeRound.Outcome, [RangeRound.Repair]), Never>, RangeRound.Outcome, [RangeRound.Repair])?
        let next = state.withLock { state -> NodeID? in
            if let outcome = state.round.handle(replica, result) {
                state.outcome = outcome
                if let continuation = state.continuation {
                    state.continuation = nil
                    resume = (continuation, outcome, state.round.repairs)
                }
            }
            return state.round.pendingAsk
        }
        if let (continuation, outcome, repairs) = resume { continuation.resume(returning: (outcome, repairs)) }
        return next
    }

    /// Waits for the outcome (at once when it is decided already) and the repairs it found.
    func outcome() async -> (RangeRound.Outcome, [RangeRound.Repair]) {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> (RangeRound.Outcome, [RangeRound.Repair])? in
                if let outcome = state.outcome { return (outcome, state.round.repairs) }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
