import TernCore

/// Where the replicas of a key are and how many must answer. Immutable: shared without a lock.
///
/// A cluster of one today: every key's preference list is this node. The next issue derives it
/// from the partition map.
public struct Placement: Sendable, Equatable {
    public let node: NodeID
    public let settings: Coordinator.Settings

    public init(node: NodeID, settings: Coordinator.Settings) {
        self.node = node
        self.settings = settings
    }

    /// The replicas of `key`, in preference order.
    public func replicas(for key: [UInt8]) -> [NodeID] {
        [node]
    }
}

/// One read of one key as a state machine of its own (STYLE.md: instance, shell, action): ask
/// the replicas in `replicas`, feed their answers to `handle`, and the outcome comes once R have
/// answered (Dynamo §4.5: ask every replica of the preference list, answer after the first R) or
/// once too many failed. Reads hold no shared state, so they never wait for a write's lock.
public struct ReadRound: Sendable {
    public let key: [UInt8]
    /// The replicas to ask.
    public let replicas: [NodeID]
    let quorum: Int
    var answers: [StoredValue?] = []
    var failures = 0
    var lastFailure: Coordinator.ReplicaFailure?
    var finished = false

    public init(key: [UInt8], placement: Placement) {
        self.key = key
        self.replicas = Array(placement.replicas(for: key).prefix(placement.settings.replicationFactor))
        self.quorum = min(placement.settings.readQuorum, replicas.count)
    }

    /// Records one replica's answer; returns the read's outcome when it is decided (once).
    public mutating func handle(_ replica: NodeID, _ result: Coordinator.ReplicaRead) -> Coordinator.Outcome? {
        precondition(replicas.contains(replica), "answer from \(replica), which was not asked for \(key)")
        guard !finished else { return nil }  // a late answer after the outcome
        switch result {
        case .value(let value): answers.append(value)
        case .failed(let failure):
            failures += 1
            lastFailure = failure
        }
        if answers.count >= quorum {
            finished = true
            return .read(ReadRound.newest(answers))
        }
        if failures > replicas.count - quorum {
            finished = true
            return .failed(.quorumNotReached(lastFailure ?? .unavailable("no replica answered")))
        }
        return nil
    }

    /// The version a read returns when replicas disagree: a causally newer version wins; between
    /// concurrent versions, last writer wins by HLC timestamp (DESIGN.md §5).
    static func newest(_ answers: [StoredValue?]) -> StoredValue? {
        answers.compactMap { $0 }.reduce(nil) { best, answer in best.map { StoredValue.reconcile($0, answer) } ?? answer }
    }
}
