import Synchronization
import TernCluster
import TernCore
import TernStorage

/// The catalog's messages to and from other members: delivery, answers to this node's
/// `decided`, snapshots.
extension Catalog {
    /// Sends `message` to a member: to this node itself, back into the log; to the sender of the
    /// message being handled, as its answer (the first one); otherwise through the messenger,
    /// feeding the answer back. A member that cannot be reached now is reported at once.
    func deliver(_ message: CatalogPeerMessage, to member: NodeID, reply: Reply?) {
        if member == node {
            if case .log(let message) = message { submit(.event(.receive(from: node, message), reply: nil)) }
            return
        }
        if let reply, reply.peer == member, reply.resolve(message) { return }
        guard let messenger else { return }
        guard messenger.isReachable(member) else {
            submit(.event(.unreachable(member), reply: nil))
            return
        }
        messenger.send(message, to: member, deadlineMillis: settings.messageDeadlineMillis) { result in
            if case .success = result, case .log(.paxos(let slot, .decided)) = message {
                self.recordApplied(slot, by: member)
            }
            switch result {
            case .success(.log(let answer)): self.submit(.event(.receive(from: member, answer), reply: nil))
            case .success(.snapshot(let snapshot)): self.submit(.install(snapshot, reply: nil))
            case .success(.empty): break
            case .failure(.deadlineExceeded), .failure(.remote): break
            case .failure(.overloaded), .failure(.circuitOpen), .failure(.unavailable), .failure(.requestTooLarge), .failure(.shutdown):
                self.submit(.event(.unreachable(member), reply: nil))
            }
        }
    }

    /// A member answered this node's `decided` message for `slot`: it has handled it, which
    /// applies the slot durably unless the member misses earlier ones.
    func recordApplied(_ slot: UInt64, by member: NodeID) {
        state.withLock { state in
            state.appliedBy[slot, default: []].insert(member)
            // Bounded: only the latest slots are waited for.
            if state.appliedBy.count > 64, let oldest = state.appliedBy.keys.min() { state.appliedBy[oldest] = nil }
        }
    }

    /// After this node's change is committed in `slot`, waits (at most `appliedWaitMillis`) until
    /// every reachable member has applied it, so a client that goes on at another node finds the
    /// table there (a member that misses it still learns it by catch-up).
    /// When another node's proposer decided the entry (it adopted this node's accepted value),
    /// this node sent no `decided` itself: after a short wait it tells the members that have not
    /// answered (a repeated `decided` of a chosen value is harmless), and waits for them.
    func waitUntilAppliedByReachableMembers(_ slot: UInt64, _ entry: CatalogEntry) async {
        guard let messenger, members.count > 1 else { return }
        let start = monotonicMillis()
        var told = false
        while monotonicMillis() < start + settings.appliedWaitMillis {
            let acknowledged = state.withLock { $0.appliedBy[slot] ?? [] }
            let missing = members.filter { $0 != node && !acknowledged.contains($0) && messenger.isReachable($0) }
            if missing.isEmpty { break }
            if !told, monotonicMillis() >= start + 20 {
                told = true
                for member in missing { deliver(.log(.paxos(slot: slot, .decided(value: entry.encoded()))), to: member, reply: nil) }
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        _ = state.withLock { $0.appliedBy.removeValue(forKey: slot) }
    }

    /// Installs a peer's snapshot newer than the applied catalog: one batch replaces every
    /// definition, the id counter and the version (dropping the tables the snapshot no longer
    /// has, with their items); then the log hears `snapshotInstalled`.
    func install(_ snapshot: CatalogSnapshot) async {
        let current = driver.withLock { $0.applied }
        guard snapshot.version > current.version, snapshot.nextTableId >= current.nextTableId else { return }
        var incoming = AppliedCatalog(version: snapshot.version, tables: [:], nextTableId: snapshot.nextTableId)
        for table in snapshot.tables { incoming.tables[table.name] = table }
        var batch = WriteBatch()
        var gone: [TableDefinition] = []
        for table in current.tables.values where incoming.tables[table.name]?.tableId != table.tableId {
            gone.append(table)
            batch.delete(Catalog.key(for: table.name))
            batch.deleteRange(KeyEncoding.tablePrefix(table.tableId), KeyEncoding.tableEnd(table.tableId))
            batch.delete(TableStatistics.key(tableId: table.tableId))
        }
        for table in incoming.tables.values { batch.put(Catalog.key(for: table.name), table.encodedJSON()) }
        batch.put(Catalog.nextIdKey, Array(String(incoming.nextTableId).utf8))
        batch.put(Catalog.versionKey, Catalog.slotKey([], incoming.version))
        // Entries before the snapshot are not contiguous with it: none is kept.
        batch.deleteRange(Catalog.decidedPrefix, KeyEncoding.prefixEnd(Catalog.decidedPrefix))
        do {
            try await storage.write(batch)
        } catch {
            return
        }
        driver.withLock { $0.applied = incoming }
        state.withLock { $0.applied = incoming }
        for table in gone { startDeletion(table, proposeAtOnce: true) }
        for table in incoming.tables.values where table.status == .deleting {
            startDeletion(table, proposeAtOnce: members.count == 1)
        }
        let now = monotonicMillis()
        let actions = driver.withLock { $0.log.handle(.snapshotInstalled(version: incoming.version), now: now) }
        await carryOut(actions, reply: nil)
    }
}
