import TernCore
import XCTest

@testable import TernCluster

/// A few `CatalogLog` instances and the shells around them, in one test process: a network that
/// delivers, drops, duplicates and reorders messages by a seed, disks that keep what the shell
/// persisted across crashes, an HLC per node, virtual time, and a catalog client per node that
/// validates a CreateTable against its applied catalog, proposes it, and re-validates when the
/// slot went to another change. Invariant checks run on every step.
struct CatalogCluster {
    enum Envelope: Equatable {
        case catalog(CatalogMessage)
        /// A whole applied catalog (a shell's answer to `sendSnapshot`).
        case snapshot([CatalogEntry])
    }

    struct Packet {
        var from: NodeID
        var to: NodeID
        var envelope: Envelope
    }

    /// What survives a crash.
    struct Disk {
        var acceptors: [UInt64: PaxosAcceptor.State] = [:]
        var applied: [CatalogEntry] = []
        /// The HLC's durable ceiling stands in for `CeilingClock`: stamps never go back.
        var hlc: UInt64 = 0
    }

    struct Node {
        var log: CatalogLog
        var disk = Disk()
        var up = true
        var caughtUp = false
        /// Table names of the applied catalog, with their table id (the slot that created them).
        var tables: [String: UInt64] {
            var tables: [String: UInt64] = [:]
            for (index, entry) in disk.applied.enumerated() {
                tables[String(decoding: entry.change, as: UTF8.self)] = UInt64(index + 1)
            }
            return tables
        }
    }

    enum ClientResult: Equatable {
        case created(tableId: UInt64)
        case resourceInUse
        case retryable
    }

    struct Request {
        var node: NodeID
        var name: String
        var attempts = 0
        var proposal: CatalogEntry?
    }

    let members: [NodeID]
    let settings: CatalogLog.Settings
    var nodes: [NodeID: Node] = [:]
    var inFlight: [Packet] = []
    var random: SplitMix64
    var now: UInt64 = 0
    var dropPercent = 0
    var duplicatePercent = 0
    /// Nodes cut off from everyone (their messages in both directions are lost).
    var isolated: Set<NodeID> = []
    /// Messages in flight are bounded; beyond this the network drops new ones.
    var inFlightMax = 10_000
    /// The first entry any node applied at each slot: every other node must apply the same.
    var chosen: [UInt64: CatalogEntry] = [:]
    var requests: [OperationID: Request] = [:]
    var results: [OperationID: ClientResult] = [:]
    var nextOperation: UInt64 = 1
    var violations: [String] = []
    var revalidations: [OperationID] = []
    /// Proposals that lost their slot to another change (the harness checks races happen).
    var supersededCount = 0
    /// Percent of durable acceptor replies after which the node crashes at once.
    var crashAfterReplyPercent = 0
    var crashAfterEvent: NodeID?

    init(nodes count: Int, settings: CatalogLog.Settings = .init(), seed: UInt64) {
        members = (1...count).map { "n\($0)" }
        self.settings = settings
        random = SplitMix64(seed: seed)
        for member in members {
            nodes[member] = Node(log: CatalogLog(node: member, members: members, settings: settings, seed: random.next()))
        }
        for member in members { run(member, .start) }
    }

    func chance(_ percent: Int, _ r: inout SplitMix64) -> Bool { percent > 0 && r.next(below: 100) < percent }

    // MARK: - Shell

    /// Hands an event to a node's log and carries out the actions, in order, as a shell must.
    /// Clients told to re-validate act after the actions of the event are carried out, as a
    /// real client's retry runs after the shell applied every entry it was given.
    mutating func run(_ member: NodeID, _ event: CatalogLog.Event) {
        guard nodes[member]!.up else { return }
        var events = [event]
        while !events.isEmpty {
            let actions = nodes[member]!.log.handle(events.removeFirst(), now: now)
            for action in actions {
                if let follow = perform(member, action) { events.append(follow) }
            }
        }
        if crashAfterEvent == member {
            crashAfterEvent = nil
            crash(member)
        }
        while !revalidations.isEmpty {
            validateAndPropose(revalidations.removeFirst())
        }
    }

    /// A crash leaves a majority up, so the liveness phase can finish what was started.
    func canCrash(_ member: NodeID) -> Bool {
        let down = members.filter { !nodes[$0]!.up }.count
        return nodes[member]!.up && down + 1 < members.count / 2 + 1
    }

    mutating func perform(_ member: NodeID, _ action: CatalogLog.Action) -> CatalogLog.Event? {
        switch action {
        case .send(let to, let message):
            send(from: member, to: to, .catalog(message))
        case .persistAcceptorThenSend(let slot, let state, let to, let message):
            nodes[member]!.disk.acceptors[slot] = state
            send(from: member, to: to, .catalog(message))
            // kill -9 right after a promise or an acceptance left: the moment durability is for.
            if chance(crashAfterReplyPercent, &random), canCrash(member) { crashAfterEvent = member }
        case .stampBallot(let after):
            var disk = nodes[member]!.disk
            disk.hlc = max(disk.hlc + 1, now << 16, after + 1)
            nodes[member]!.disk = disk
            return .ballotStamped(disk.hlc)
        case .apply(let slot, let entry):
            apply(member, slot: slot, entry)
        case .forgetAcceptorStates(let through):
            nodes[member]!.disk.acceptors = nodes[member]!.disk.acceptors.filter { $0.key > through }
        case .sendSnapshot(let to):
            send(from: member, to: to, .snapshot(nodes[member]!.disk.applied))
        case .caughtUp:
            nodes[member]!.caughtUp = true
        case .finished(let id, let outcome):
            finished(id, outcome)
        }
        return nil
    }

    mutating func apply(_ member: NodeID, slot: UInt64, _ entry: CatalogEntry) {
        let applied = nodes[member]!.disk.applied.count
        if slot != UInt64(applied) + 1 { violations.append("\(member) applied slot \(slot) after \(applied)") }
        if let first = chosen[slot], first != entry {
            violations.append("slot \(slot): \(member) applied \(entry), another node \(first)")
        }
        chosen[slot] = chosen[slot] ?? entry
        nodes[member]!.disk.applied.append(entry)
    }

    /// Every catalog message crosses the wire encoding, as between real nodes.
    mutating func send(from: NodeID, to: NodeID, _ envelope: Envelope) {
        guard inFlight.count < inFlightMax else { return }
        guard case .catalog(let message) = envelope else {
            return inFlight.append(Packet(from: from, to: to, envelope: envelope))
        }
        guard let received = CatalogMessage(decoding: message.encoded()), received == message else {
            return violations.append("\(message) does not survive its wire encoding")
        }
        inFlight.append(Packet(from: from, to: to, envelope: .catalog(received)))
    }

    /// Delivers one message chosen at random (reordering), maybe dropping or duplicating it.
    mutating func deliverOne() {
        guard !inFlight.isEmpty else { return }
        let index = random.next(below: inFlight.count)
        let packet = inFlight[index]
        if chance(duplicatePercent, &random) {
            // The copy stays in flight and arrives later, in some other order.
        } else {
            inFlight.swapAt(index, inFlight.count - 1)
            inFlight.removeLast()
        }
        let cut = packet.from != packet.to && (isolated.contains(packet.from) || isolated.contains(packet.to))
        guard !cut, !chance(dropPercent, &random), nodes[packet.to]!.up else { return }
        switch packet.envelope {
        case .catalog(let message):
            run(packet.to, .receive(from: packet.from, message))
        case .snapshot(let entries):
            installSnapshot(packet.to, entries)
        }
    }

    /// Delivers, in order, every packet `filter` accepts (and those their delivery sends) until
    /// none is left; the packets it refuses are lost. Time stands still.
    mutating func deliverAll(steps: Int = 10_000, _ filter: (Packet) -> Bool) {
        for _ in 0..<steps {
            guard !inFlight.isEmpty else { return }
            let packet = inFlight.removeFirst()
            let cut = packet.from != packet.to && (isolated.contains(packet.from) || isolated.contains(packet.to))
            guard filter(packet), !cut, nodes[packet.to]!.up else { continue }
            switch packet.envelope {
            case .catalog(let message): run(packet.to, .receive(from: packet.from, message))
            case .snapshot(let entries): installSnapshot(packet.to, entries)
            }
        }
    }

    mutating func installSnapshot(_ member: NodeID, _ entries: [CatalogEntry]) {
        guard entries.count > nodes[member]!.disk.applied.count else { return }
        for (index, entry) in entries.enumerated() where chosen[UInt64(index + 1)] != entry {
            violations.append("snapshot from a peer disagrees at slot \(index + 1)")
        }
        nodes[member]!.disk.applied = entries
        run(member, .snapshotInstalled(version: UInt64(entries.count)))
    }

    mutating func advance(_ millis: UInt64) {
        now += millis
        for member in members { run(member, .tick) }
    }

    // MARK: - Crashes

    mutating func crash(_ member: NodeID) {
        nodes[member]!.up = false
        nodes[member]!.caughtUp = false
        for (id, request) in requests where request.node == member {
            requests[id] = nil
            results[id] = .retryable  // the client's connection died with the node
        }
    }

    /// A new process on the same disk: restored from what was persisted, nothing else.
    mutating func restart(_ member: NodeID) {
        let disk = nodes[member]!.disk
        let restored = CatalogLog.Restored(appliedThrough: UInt64(disk.applied.count), recentDecided: disk.applied, acceptors: disk.acceptors)
        nodes[member] = Node(log: CatalogLog(node: member, members: members, settings: settings, restored: restored, seed: random.next()), disk: disk)
        run(member, .start)
    }

    // MARK: - The catalog client

    /// CreateTable `name` at `member`: validated against that node's applied catalog.
    @discardableResult
    mutating func createTable(_ name: String, at member: NodeID) -> OperationID {
        let id = OperationID(nextOperation)
        nextOperation += 1
        requests[id] = Request(node: member, name: name)
        validateAndPropose(id)
        return id
    }

    mutating func validateAndPropose(_ id: OperationID) {
        guard var request = requests[id] else { return }
        let node = nodes[request.node]!
        guard node.tables[request.name] == nil else { return finish(id, .resourceInUse) }
        request.attempts += 1
        guard request.attempts <= 20 else { return finish(id, .retryable) }
        // A fresh proposal number per attempt, as a node would take from its HLC.
        var disk = node.disk
        disk.hlc = max(disk.hlc + 1, now << 16)
        nodes[request.node]!.disk = disk
        let entry = CatalogEntry(origin: request.node, proposal: disk.hlc, change: Array(request.name.utf8))
        request.proposal = entry
        requests[id] = request
        // The version of the catalog the change was validated against: the entries applied.
        run(request.node, .propose(id, entry, basedOn: UInt64(node.disk.applied.count)))
    }

    mutating func finished(_ id: OperationID, _ outcome: CatalogLog.Outcome) {
        guard let request = requests[id] else { return }
        switch outcome {
        case .committed(let version):
            if chosen[version] != request.proposal { violations.append("\(id) committed at \(version) but \(String(describing: chosen[version])) is there") }
            finish(id, .created(tableId: version))
        case .superseded:
            supersededCount += 1
            revalidations.append(id)
        case .failed, .refused:
            finish(id, .retryable)
        }
    }

    mutating func finish(_ id: OperationID, _ result: ClientResult) {
        requests[id] = nil
        results[id] = result
    }

    // MARK: - Checks

    /// No name is created twice in the decided log, a success's table id is where its name is,
    /// and at most one client succeeds per name.
    func catalogViolations() -> [String] {
        var found = violations
        var slotOfName: [String: UInt64] = [:]
        for (slot, entry) in chosen.sorted(by: { $0.key < $1.key }) {
            let name = String(decoding: entry.change, as: UTF8.self)
            if let earlier = slotOfName[name] { found.append("\(name) created at slots \(earlier) and \(slot)") }
            slotOfName[name] = slotOfName[name] ?? slot
        }
        var successes: [UInt64: Int] = [:]
        for case .created(let tableId) in results.values {
            successes[tableId, default: 0] += 1
            if chosen[tableId] == nil { found.append("success at slot \(tableId), which nobody applied") }
        }
        for (tableId, count) in successes where count > 1 { found.append("\(count) successes for table id \(tableId)") }
        return found
    }

    var appliedCounts: [Int] { members.map { nodes[$0]!.disk.applied.count } }
}
