import TernCluster
import TernCore

/// The checkers run after the heal: replies, hint drain, acknowledged writes, convergence.
extension Simulation {
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
