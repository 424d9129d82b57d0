import TernCore

/// Where the replicas of a key are on a cluster of one. Immutable: shared without a lock.
public struct Placement: Sendable, Equatable {
    public let node: NodeID
    public let settings: Coordinator.Settings

    public init(node: NodeID, settings: Coordinator.Settings) {
        self.node = node
        self.settings = settings
    }

    /// The plan of every key: this node alone.
    public var plan: ReplicaPlan { .single(node) }
}

/// One read of one key as a state machine of its own (STYLE.md: instance, shell, action): ask R
/// reachable replicas of the key's preference list (this node first when it is one), feed their
/// answers to `handle`, and the outcome comes once R have answered (Dynamo §4.5), or once too
/// many failed; a failed replica is replaced by the next reachable one of the list. Reads hold no
/// shared state, so they never wait for a write's lock.
///
/// Read repair (Dynamo §4.5): once the outcome is known, `repairs` names the replicas that
/// answered with an older version than the one returned, and the version to send them.
public struct ReadRound: Sendable {
    public let key: [UInt8]
    /// The replicas asked so far.
    public private(set) var replicas: [NodeID]
    /// Replicas that may still be asked when one fails, in preference order.
    var spares: [NodeID]
    let quorum: Int
    var answers: [(replica: NodeID, value: StoredValue?)] = []
    var failures = 0
    var lastFailure: Coordinator.ReplicaFailure?
    var result: StoredValue??

    /// A read on a cluster of one.
    public init(key: [UInt8], placement: Placement) {
        self.init(key: key, plan: placement.plan, local: placement.node)
    }

    /// A read of `key` by `local` under `plan`; `reachable` says which nodes the shell can reach now.
    public init(key: [UInt8], plan: ReplicaPlan, local: NodeID, reachable: (NodeID) -> Bool = { _ in true }) {
        self.key = key
        let candidates = plan.preference.filter { $0 == local || reachable($0) }
        let ordered = candidates.filter { $0 == local } + candidates.filter { $0 != local }
        self.quorum = plan.readQuorum
        self.replicas = Array(ordered.prefix(quorum))
        self.spares = Array(ordered.dropFirst(quorum))
        if replicas.count < quorum {
            // Fewer than R replicas are reachable: no answer can make R, and with none to ask
            // no answer would ever come to decide the round (writes fail at once the same way).
            let unreachable = plan.replicationFactor - candidates.count
            self.result = .some(nil)
            self.outcomeWithoutAsking = .failed(.quorumNotReached(.unavailable("\(unreachable) of \(plan.replicationFactor) replicas unreachable")))
        }
    }

    /// Set when the round failed before asking anyone (fewer than R replicas reachable): the
    /// shell replies with it at once and asks no replica.
    public private(set) var outcomeWithoutAsking: Coordinator.Outcome?

    /// The next replica to ask after a failure, if the round still lacks answers; the shell asks it.
    public private(set) var pendingAsk: NodeID?

    /// Records one replica's answer; returns the read's outcome when it is decided (once).
    public mutating func handle(_ replica: NodeID, _ result: Coordinator.ReplicaRead) -> Coordinator.Outcome? {
        pendingAsk = nil
        guard replicas.contains(replica), !answers.contains(where: { $0.replica == replica }) else {
            return nil  // a duplicate or stray answer
        }
        guard self.result == nil else {
            if case .value(let value) = result { answers.append((replica, value)) }  // late: still useful for repair
            return nil
        }
        switch result {
        case .value(let value): answers.append((replica, value))
        case .failed(let failure):
            failures += 1
            lastFailure = failure
            if !spares.isEmpty {
                let next = spares.removeFirst()
                replicas.append(next)
                pendingAsk = next
                return nil
            }
        }
        if answers.count >= quorum {
            let newest = ReadRound.newest(answers.map(\.value))
            self.result = .some(newest)
            return .read(newest)
        }
        if answers.count + (replicas.count - answers.count - failures) < quorum {
            self.result = .some(nil)
            return .failed(.quorumNotReached(lastFailure ?? .unavailable("no replica answered")))
        }
        return nil
    }

    /// The replicas that answered with a version older than (or concurrent with) the one the read
    /// returned, and the version to send them: background writes the shell bounds (read repair).
    public var repairs: [(replica: NodeID, value: StoredValue)] {
        guard case .some(.some(let newest)) = result else { return [] }
        return answers.compactMap { answer in
            answer.value == newest ? nil : (answer.replica, newest)
        }
    }

    /// The version a read returns when replicas disagree: a causally newer version wins; between
    /// concurrent versions, last writer wins by HLC timestamp (DESIGN.md §5).
    static func newest(_ answers: [StoredValue?]) -> StoredValue? {
        answers.compactMap { $0 }.reduce(nil) { best, answer in best.map { StoredValue.reconcile($0, answer) } ?? answer }
    }
}
