import TernCore

/// One range read of one slice of the ring (consecutive partitions that share their replicas) as
/// a state machine of its own (STYLE.md: instance, shell, action), the range counterpart of
/// `ReadRound`: the shell asks the first R of `candidates` (this node first when it is one) for
/// a `ReplicaPage`, feeds the answers to `handle`, asks `pendingAsk` when a replica failed, and
/// gets the merged page once R replicas answered.
///
/// Merging (Dynamo §4.5, applied to a range): replicas stop at different keys, so the merged page
/// ends at the least advanced replica's position — up to there every replica asked has shown all
/// it holds, so no key one of them holds is skipped. Each key's versions are reconciled
/// (`StoredValue.reconcile`), so a stale replica's item or a missed delete never wins, and the
/// replicas that answered with an older version (or none) are named in `repairs`.
public struct RangeRound: Sendable {
    public let request: RangeRead
    /// The replicas asked so far.
    public private(set) var replicas: [NodeID]
    /// Replicas that may still be asked when one fails, in the order to ask them.
    var spares: [NodeID]
    let quorum: Int
    var pages: [(replica: NodeID, page: ReplicaPage)] = []
    var failed: [NodeID] = []
    var lastFailure: Coordinator.ReplicaFailure?
    var decided = false

    /// The next replica to ask after a failure; the shell asks it.
    public private(set) var pendingAsk: NodeID?
    /// Once the page is merged: replicas whose answer lacked a key's reconciled version.
    public private(set) var repairs: [Repair] = []

    public struct Repair: Sendable, Equatable {
        public var replica: NodeID
        public var key: [UInt8]
        public var value: StoredValue
    }

    public enum Outcome: Sendable, Equatable {
        /// The reconciled entries (tombstones too: the caller counts them against its page), in
        /// the read's direction; `exhausted` when no replica asked holds anything beyond them.
        case page(ReplicaPage)
        case failed(Coordinator.ReplicaFailure)
    }

    /// A read of `request` from the first `quorum` of `candidates`, the others standing by.
    public init(request: RangeRead, candidates: [NodeID], quorum: Int) {
        precondition(quorum >= 1, "R=\(quorum) must be at least 1")
        self.request = request
        self.quorum = quorum
        self.replicas = Array(candidates.prefix(quorum))
        self.spares = Array(candidates.dropFirst(quorum))
    }

    /// The replicas a range read may ask: this node first when it is one of `preference`, then the
    /// others it can reach now, in preference order (fallbacks hold hints, not ranges).
    public static func candidates(preference: [NodeID], local: NodeID, reachable: (NodeID) -> Bool) -> [NodeID] {
        let others = preference.filter { $0 != local && reachable($0) }
        return preference.contains(local) ? [local] + others : others
    }

    /// The outcome before anything is asked: a failure when fewer than R replicas are reachable,
    /// so the read fails at once instead of waiting for answers that cannot make a quorum.
    public var outcomeBeforeAsking: Outcome? {
        replicas.count < quorum ? .failed(.unavailable("\(replicas.count) of \(quorum) replicas reachable")) : nil
    }

    /// Records one replica's answer; returns the read's outcome when it is decided (once).
    public mutating func handle(_ replica: NodeID, _ result: RangeReadResult) -> Outcome? {
        pendingAsk = nil
        guard !decided, replicas.contains(replica), !failed.contains(replica), !pages.contains(where: { $0.replica == replica }) else {
            return nil  // late, duplicate or stray
        }
        switch result {
        case .page(let page) where page.isWellFormed(for: request):
            pages.append((replica, page))
        case .page:
            return fail(replica, .unavailable("\(replica) answered with a malformed range page"))
        case .failed(.wouldBlock):
            // A blocking range read never reports wouldBlock; from a peer it is just a failure.
            return fail(replica, .unavailable("\(replica) could not read the range"))
        case .failed(let failure):
            return fail(replica, failure)
        }
        guard pages.count >= quorum else { return nil }
        decided = true
        let merged = RangeRound.merge(pages, request: request)
        repairs = merged.repairs
        return .page(merged.page)
    }

    mutating func fail(_ replica: NodeID, _ failure: Coordinator.ReplicaFailure) -> Outcome? {
        failed.append(replica)
        lastFailure = failure
        if !spares.isEmpty {
            let next = spares.removeFirst()
            replicas.append(next)
            pendingAsk = next
            return nil
        }
        guard pages.count + (replicas.count - pages.count - failed.count) < quorum else { return nil }
        decided = true
        return .failed(failure)
    }

    /// Merges replica pages of one range: keys up to the least advanced unfinished page's last
    /// key, each key's versions reconciled, cut again at the request's limits (the entry that
    /// reaches a limit is included, as a replica does).
    static func merge(
        _ pages: [(replica: NodeID, page: ReplicaPage)], request: RangeRead
    ) -> (page: ReplicaPage, repairs: [Repair]) {
        var bound: [UInt8]?
        for (_, page) in pages where !page.exhausted {
            guard let last = page.lastKey else { preconditionFailure("an unfinished page without entries passed the check") }
            if bound.map({ request.precedes(last, $0) }) ?? true { bound = last }
        }
        var cursors = [Int](repeating: 0, count: pages.count)
        var merged: [ReplicaPage.Entry] = []
        var repairs: [Repair] = []
        var items = 0
        var bytes = 0
        var tombstones = 0
        var cut = false
        while let key = nextKey(pages, cursors, request) {
            if let bound, request.precedes(bound, key) { break }
            var held = [StoredValue?](repeating: nil, count: pages.count)
            var newest: StoredValue?
            for index in pages.indices where cursors[index] < pages[index].page.entries.count {
                let entry = pages[index].page.entries[cursors[index]]
                guard entry.key == key else { continue }
                held[index] = entry.value
                newest = newest.map { StoredValue.reconcile($0, entry.value) } ?? entry.value
                cursors[index] += 1
            }
            guard let newest else { preconditionFailure("a merged key without a version") }
            merged.append(ReplicaPage.Entry(key: key, value: newest))
            for index in pages.indices where held[index] != newest {
                repairs.append(Repair(replica: pages[index].replica, key: key, value: newest))
            }
            if let item = newest.item {
                items += 1
                bytes += ItemSize.of(item)
            } else {
                tombstones += 1
            }
            if items >= request.maxItems || bytes >= request.maxBytes || tombstones >= request.tombstonesMax {
                cut = true
                break
            }
        }
        // Exhausted only when every replica asked is, and the cut (if any) left nothing behind.
        let rest = pages.indices.contains { cursors[$0] < pages[$0].page.entries.count }
        let exhausted = bound == nil && !(cut && rest)
        return (ReplicaPage(entries: merged, exhausted: exhausted), repairs)
    }

    /// The first key, in the read's direction, that some page has not yet given.
    static func nextKey(_ pages: [(replica: NodeID, page: ReplicaPage)], _ cursors: [Int], _ request: RangeRead) -> [UInt8]? {
        var next: [UInt8]?
        for index in pages.indices where cursors[index] < pages[index].page.entries.count {
            let key = pages[index].page.entries[cursors[index]].key
            if next.map({ request.precedes(key, $0) }) ?? true { next = key }
        }
        return next
    }
}
