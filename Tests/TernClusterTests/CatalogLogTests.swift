import TernCore
import XCTest

@testable import TernCluster

/// The catalog log: slots decided by Paxos among the members, driven through `CatalogCluster`
/// (seeded faulty network, crashes with durable disks, virtual time), plus direct event → action
/// checks of its routing, catch-up and bounds.
final class CatalogLogTests: XCTestCase {
    /// Timings scaled to the harness, where a message takes ~10 ms of virtual time (a few
    /// deliveries per 5 ms tick, picked at random among all in flight): backoffs longer than a
    /// round trip, so duelling proposers separate, as the defaults are on a real network.
    let fast = CatalogLog.Settings(
        proposer: .init(roundTimeoutMillis: 100, attemptsMax: 8, deadlineMillis: 2_000, backoffBaseMillis: 20, backoffMaxMillis: 160),
        catchUpIntervalMillis: 100
    )

    /// Delivers messages (and lets 5 ms pass every few) until nothing is in flight and no client
    /// waits, or `steps` run out.
    func settle(_ cluster: inout CatalogCluster, steps: Int = 20_000) {
        for step in 0..<steps {
            if cluster.inFlight.isEmpty && cluster.requests.isEmpty { return }
            if cluster.inFlight.isEmpty || step % 8 == 0 { cluster.advance(5) }
            cluster.deliverOne()
        }
    }

    func entry(_ origin: NodeID, _ proposal: UInt64, _ name: String) -> CatalogEntry {
        CatalogEntry(origin: origin, proposal: proposal, change: Array(name.utf8))
    }

    // MARK: - Safety under faults

    /// Many short runs, each from its own seed: three or five nodes, concurrent CreateTables of a
    /// few names from every node, messages dropped, duplicated and reordered, nodes crashing and
    /// restarting from their disks. No slot is ever applied with two different entries, no name
    /// is created twice, and no two clients succeed for one table. Then the faults heal and every
    /// node must converge on the same catalog with every client answered.
    func testNoTwoNodesEverApplyDifferentEntriesForASlotUnderDropsDuplicatesReorderingAndCrashes() {
        var (decided, superseded, created) = (0, 0, 0)
        for seed in UInt64(1)...500 {
            var random = SplitMix64(seed: seed &* 0x9E37_79B9)
            var cluster = CatalogCluster(nodes: seed % 2 == 0 ? 3 : 5, settings: fast, seed: seed)
            cluster.dropPercent = 15
            cluster.duplicatePercent = 15
            cluster.crashAfterReplyPercent = 3
            let names = ["a", "b", "c", "d", "e", "f"]
            for step in 0..<400 {
                switch random.next(below: 100) {
                case 0..<6:
                    let member = cluster.members[random.next(below: cluster.members.count)]
                    if cluster.nodes[member]!.up { cluster.createTable(names[random.next(below: names.count)], at: member) }
                case 6..<8:
                    let member = cluster.members[random.next(below: cluster.members.count)]
                    if cluster.canCrash(member) { cluster.crash(member) }
                case 8..<12:
                    if let member = cluster.members.first(where: { !cluster.nodes[$0]!.up }) { cluster.restart(member) }
                case 12..<30:
                    cluster.advance(UInt64(1 + random.next(below: 10)))
                default:
                    cluster.deliverOne()
                }
                XCTAssertEqual(cluster.catalogViolations(), [], "seed \(seed) step \(step)")
                if !cluster.violations.isEmpty { return }
            }
            // Liveness: heal everything; every request ends and every node converges.
            cluster.dropPercent = 0
            cluster.duplicatePercent = 0
            cluster.crashAfterReplyPercent = 0
            for member in cluster.members where !cluster.nodes[member]!.up { cluster.restart(member) }
            settle(&cluster)
            for _ in 0..<100 { cluster.advance(10); settle(&cluster, steps: 2_000) }
            XCTAssertEqual(cluster.catalogViolations(), [], "seed \(seed) after healing")
            XCTAssertTrue(cluster.requests.isEmpty, "seed \(seed): unanswered \(cluster.requests.keys.sorted())")
            XCTAssertEqual(Set(cluster.appliedCounts).count, 1, "seed \(seed): nodes disagree on the version \(cluster.appliedCounts)")
            XCTAssertEqual(cluster.appliedCounts.first, cluster.chosen.count, "seed \(seed)")
            XCTAssertTrue(cluster.members.allSatisfy { cluster.nodes[$0]!.caughtUp }, "seed \(seed): a node never caught up")
            decided += cluster.chosen.count
            superseded += cluster.supersededCount
            created += cluster.results.values.filter { if case .created = $0 { return true } else { return false } }.count
        }
        // The runs must exercise what they claim to: many slots, lost races, successes.
        XCTAssertGreaterThan(decided, 2_000)
        XCTAssertGreaterThan(superseded, 1_000)
        XCTAssertGreaterThan(created, 1_500)
    }

    // MARK: - Liveness and failure

    func testALogOfOneMemberKeepsItsNextDeadlineAheadAfterATick() {
        var log = CatalogLog(node: "n1", members: ["n1"], seed: 1)
        _ = log.handle(.start, now: 1_000)
        var now: UInt64 = 1_000
        for _ in 0..<5 {
            now = max(now, log.nextDeadlineMillis)
            _ = log.handle(.tick, now: now)
            XCTAssertGreaterThan(log.nextDeadlineMillis, now, "a deadline in the past makes the shell tick without pause")
        }
    }

    func testAChangeIsDecidedAndAppliedEverywhereWhenAllMembersAreConnected() {
        var cluster = CatalogCluster(nodes: 3, settings: fast, seed: 1)
        XCTAssertTrue(cluster.members.allSatisfy { !cluster.nodes[$0]!.caughtUp }, "nobody serves before hearing from a majority")
        settle(&cluster)
        XCTAssertTrue(cluster.members.allSatisfy { cluster.nodes[$0]!.caughtUp })
        let id = cluster.createTable("orders", at: "n2")
        settle(&cluster)
        XCTAssertEqual(cluster.results[id], .created(tableId: 1))
        XCTAssertEqual(cluster.members.map { cluster.nodes[$0]!.tables }, Array(repeating: ["orders": 1], count: 3))
    }

    func testAChangeIsDecidedWithOneOfThreeMembersCutOff() {
        var cluster = CatalogCluster(nodes: 3, settings: fast, seed: 2)
        settle(&cluster)
        cluster.isolated = ["n3"]
        let id = cluster.createTable("orders", at: "n1")
        settle(&cluster)
        XCTAssertEqual(cluster.results[id], .created(tableId: 1))
        XCTAssertEqual(cluster.nodes["n3"]!.tables, [:])
        // Healed, the cut-off node learns the change by its periodic catch-up.
        cluster.isolated = []
        cluster.advance(fast.catchUpIntervalMillis)
        settle(&cluster)
        XCTAssertEqual(cluster.nodes["n3"]!.tables, ["orders": 1])
    }

    func testFiveMembersDecideWithTwoDownAndFailWithThreeDown() {
        var cluster = CatalogCluster(nodes: 5, settings: fast, seed: 4)
        settle(&cluster)
        cluster.crash("n4")
        cluster.crash("n5")
        let decided = cluster.createTable("orders", at: "n1")
        settle(&cluster)
        XCTAssertEqual(cluster.results[decided], .created(tableId: 1))
        cluster.crash("n3")
        let failed = cluster.createTable("items", at: "n2")
        let start = cluster.now
        settle(&cluster)
        XCTAssertEqual(cluster.results[failed], .retryable)
        XCTAssertLessThanOrEqual(cluster.now - start, fast.proposer.deadlineMillis + 5)
        // The members come back and catch up; the next attempt succeeds.
        for member in ["n3", "n4", "n5"] { cluster.restart(member) }
        settle(&cluster)
        XCTAssertTrue(cluster.members.allSatisfy { cluster.nodes[$0]!.caughtUp })
        let retried = cluster.createTable("items", at: "n2")
        settle(&cluster)
        XCTAssertEqual(cluster.results[retried], .created(tableId: 2))
        XCTAssertEqual(Set(cluster.members.map { cluster.nodes[$0]!.tables }), [["orders": 1, "items": 2]])
    }

    func testWithoutAMajorityAChangeFailsRetryablyWithinTheProposalDeadline() {
        var cluster = CatalogCluster(nodes: 3, settings: fast, seed: 3)
        settle(&cluster)
        cluster.isolated = ["n1"]
        let id = cluster.createTable("orders", at: "n1")
        let start = cluster.now
        while cluster.results[id] == nil && cluster.now < start + 10_000 {
            cluster.advance(5)
            while !cluster.inFlight.isEmpty { cluster.deliverOne() }
        }
        XCTAssertEqual(cluster.results[id], .retryable)
        XCTAssertLessThanOrEqual(cluster.now - start, fast.proposer.deadlineMillis + 5)
        XCTAssertEqual(cluster.chosen.count, 0)
    }

    func testUnreachablePeersFailAChangeWithoutWaitingForRoundTimeouts() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3"], settings: .init(proposer: .init(attemptsMax: 1)), seed: 1)
        _ = log.handle(.start, now: 0)
        XCTAssertEqual(log.handle(.propose(OperationID(1), entry("n1", 1, "t"), basedOn: 0), now: 0), [.stampBallot(after: 0)])
        XCTAssertEqual(log.handle(.ballotStamped(10), now: 0).count, 3)
        XCTAssertEqual(log.handle(.unreachable("n2"), now: 1), [])
        XCTAssertEqual(log.handle(.unreachable("n3"), now: 1), [.finished(OperationID(1), .failed(.noMajority(attempts: 1)))])
    }

    // MARK: - Duelling proposers

    /// Two nodes create the same table at the same moment, over a network that reorders: for
    /// every seed exactly one gets the table and the other ResourceInUseException, and every
    /// node has the table with the winner's id.
    func testTwoConcurrentCreateTablesOfOneNameGiveOneSuccessAndOneResourceInUse() {
        for seed in UInt64(1)...300 {
            var cluster = CatalogCluster(nodes: 3, settings: fast, seed: seed)
            settle(&cluster)
            let first = cluster.createTable("orders", at: "n1")
            let second = cluster.createTable("orders", at: "n2")
            settle(&cluster)
            let results = [cluster.results[first], cluster.results[second]]
            XCTAssertEqual(results.filter { $0 == .resourceInUse }.count, 1, "seed \(seed): \(results)")
            XCTAssertEqual(results.filter { $0 == .created(tableId: 1) }.count, 1, "seed \(seed): \(results)")
            XCTAssertEqual(Set(cluster.members.map { cluster.nodes[$0]!.tables }), [["orders": 1]], "seed \(seed)")
            XCTAssertEqual(cluster.catalogViolations(), [])
        }
    }

    /// Duelling proposers of different tables: each slot ends with one decided entry, the node
    /// whose change lost a slot learns it and gets its own in a later slot, and ids are unique.
    func testDuellingProposersOfDifferentTablesBothSucceedInSuccessiveSlotsWithUniqueIds() {
        for seed in UInt64(1)...300 {
            var cluster = CatalogCluster(nodes: 5, settings: fast, seed: seed)
            settle(&cluster)
            let ids = ["n1", "n2", "n3"].map { cluster.createTable("t-\($0)", at: $0) }
            settle(&cluster)
            let tableIds = ids.compactMap { id -> UInt64? in
                if case .created(let tableId)? = cluster.results[id] { return tableId }
                return nil
            }
            XCTAssertEqual(tableIds.sorted(), [1, 2, 3], "seed \(seed): \(ids.map { cluster.results[$0] })")
            XCTAssertEqual(Set(cluster.appliedCounts), [3], "seed \(seed)")
            XCTAssertEqual(cluster.catalogViolations(), [])
        }
    }

    func testAProposalForASlotDecidedElsewhereLearnsTheChosenEntryAndIsSuperseded() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3"], seed: 1)
        _ = log.handle(.start, now: 0)
        let mine = entry("n1", 1, "t")
        let theirs = entry("n2", 7, "t")
        _ = log.handle(.propose(OperationID(1), mine, basedOn: 0), now: 0)
        _ = log.handle(.ballotStamped(10), now: 0)
        // n2 applied slot 1 already: it answers the prepare with the decision.
        XCTAssertEqual(log.handle(.receive(from: "n2", .paxos(slot: 1, .decided(value: theirs.encoded()))), now: 1), [
            .apply(slot: 1, theirs), .forgetAcceptorStates(through: 1), .finished(OperationID(1), .superseded(version: 1)),
        ])
        XCTAssertFalse(log.hasProposalInFlight)
        XCTAssertEqual(log.handle(.receive(from: "n3", .paxos(slot: 1, .promise(Ballot(timestamp: 10, node: "n1"), accepted: nil))), now: 1), [],
                       "replies to the finished proposal are ignored")
    }

    func testAProposalValidatedAgainstAnOlderVersionIsSupersededWithoutARound() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3"], restored: .init(appliedThrough: 4), seed: 1)
        XCTAssertEqual(log.handle(.propose(OperationID(1), entry("n1", 1, "t"), basedOn: 3), now: 0),
                       [.finished(OperationID(1), .superseded(version: 4))])
    }

    // MARK: - Durability

    /// A node promises a ballot, crashes, and restarts from its disk: it refuses the lower ballot
    /// it would have accepted had it forgotten the promise.
    func testARestartedNodeKeepsThePromisesItPersisted() {
        var cluster = CatalogCluster(nodes: 3, settings: fast, seed: 5)
        settle(&cluster)
        let high = Ballot(timestamp: 900, node: "n3")
        cluster.run("n2", .receive(from: "n3", .paxos(slot: 1, .prepare(high))))
        XCTAssertEqual(cluster.nodes["n2"]!.disk.acceptors[1], PaxosAcceptor.State(promised: high), "persisted before the promise left")
        cluster.inFlight = []
        cluster.crash("n2")
        cluster.restart("n2")
        cluster.inFlight = []
        let low = Ballot(timestamp: 800, node: "n1")
        cluster.run("n2", .receive(from: "n1", .paxos(slot: 1, .accept(low, value: entry("n1", 1, "t").encoded()))))
        XCTAssertEqual(cluster.inFlight.map(\.envelope), [.catalog(.paxos(slot: 1, .nack(low, promised: high)))])
    }

    /// The case durability is for, scripted: x is chosen in slot 1 by n1 and n2, and only n1
    /// learns it (the decided messages are lost). n1 goes down; n2 crashes and restarts. n3 now
    /// proposes y for slot 1 with n2 and itself as its majority: n2's restored acceptance makes
    /// n3 adopt x, learn it, and retry y in slot 2. An acceptor that forgot would let n3 choose
    /// y for slot 1, and n1 and n3 would hold different catalogs.
    func testAnAcceptanceThatSurvivesARestartKeepsTheChosenValueChosen() {
        var cluster = CatalogCluster(nodes: 3, settings: fast, seed: 6)
        settle(&cluster)
        cluster.isolated = ["n3"]
        cluster.createTable("x", at: "n1")
        cluster.deliverAll { packet in
            if case .catalog(.paxos(_, .decided)) = packet.envelope { return false }
            return true
        }
        XCTAssertEqual(cluster.nodes["n1"]!.tables, ["x": 1])
        XCTAssertEqual(cluster.nodes["n2"]!.tables, [:], "n2 accepted x but never heard it was chosen")
        cluster.crash("n1")
        cluster.crash("n2")
        cluster.restart("n2")
        cluster.inFlight = []
        cluster.isolated = []
        let id = cluster.createTable("y", at: "n3")
        cluster.deliverAll { _ in true }
        XCTAssertEqual(cluster.violations, [])
        XCTAssertEqual(cluster.results[id], .created(tableId: 2))
        XCTAssertEqual(cluster.nodes["n3"]!.tables, ["x": 1, "y": 2])
    }

    func testAcceptorStateIsPersistedBeforeTheReplyAndForgottenOnceItsSlotIsApplied() {
        var log = CatalogLog(node: "n2", members: ["n1", "n2", "n3"], seed: 1)
        let ballot = Ballot(timestamp: 10, node: "n1")
        let value = entry("n1", 1, "t")
        let state = PaxosAcceptor.State(promised: ballot, accepted: .init(ballot: ballot, value: value.encoded()))
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .accept(ballot, value: value.encoded()))), now: 0),
                       [.persistAcceptorThenSend(slot: 1, state, to: "n1", .paxos(slot: 1, .accepted(ballot)))])
        XCTAssertEqual(log.acceptorSlotCount, 1)
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .decided(value: value.encoded()))), now: 0),
                       [.apply(slot: 1, value), .forgetAcceptorStates(through: 1)])
        XCTAssertEqual(log.acceptorSlotCount, 0)
        XCTAssertEqual(log.handle(.receive(from: "n3", .paxos(slot: 1, .decided(value: value.encoded()))), now: 0), [],
                       "a duplicated decision is applied once")
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .accept(ballot, value: value.encoded()))), now: 0),
                       [.send(to: "n1", .paxos(slot: 1, .decided(value: value.encoded())))],
                       "a replayed accept for an applied slot changes nothing and gets the decision")
        XCTAssertEqual(log.handle(.receive(from: "n3", .paxos(slot: 1, .prepare(Ballot(timestamp: 20, node: "n3")))), now: 0),
                       [.send(to: "n3", .paxos(slot: 1, .decided(value: value.encoded())))],
                       "a prepare for an applied slot is answered with its decision")
    }

    func testRestoringDropsNothingAboveTheAppliedSlotsAndForgetsBelowAtStart() {
        let promise = PaxosAcceptor.State(promised: Ballot(timestamp: 5, node: "n3"))
        let restored = CatalogLog.Restored(appliedThrough: 2, recentDecided: [entry("n1", 1, "a"), entry("n2", 2, "b")],
                                           acceptors: [1: promise, 3: promise, 900: promise])
        var log = CatalogLog(node: "n1", members: ["n1"], restored: restored, seed: 1)
        XCTAssertEqual(log.acceptorSlotCount, 2, "slot 1 is applied; slots 3 and 900 keep their promises")
        XCTAssertEqual(log.handle(.start, now: 0), [.forgetAcceptorStates(through: 2), .caughtUp(version: 2)])
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 3, .prepare(Ballot(timestamp: 4, node: "n1")))), now: 0),
                       [.send(to: "n1", .paxos(slot: 3, .nack(Ballot(timestamp: 4, node: "n1"), promised: Ballot(timestamp: 5, node: "n3"))))])
    }

    // MARK: - Catch-up

    /// A node down while five tables were created comes back, catches up from a peer in batches
    /// (two entries per answer here), applies the slots in order, and only then serves.
    func testALaggingNodeCatchesUpInOrderInBatchesBeforeItServes() {
        var settings = fast
        settings.catchUpEntriesMax = 2
        var cluster = CatalogCluster(nodes: 3, settings: settings, seed: 9)
        settle(&cluster)
        cluster.crash("n3")
        for name in ["a", "b", "c", "d", "e"] {
            cluster.createTable(name, at: "n1")
            settle(&cluster)
        }
        XCTAssertEqual(cluster.nodes["n1"]!.disk.applied.count, 5)
        XCTAssertEqual(cluster.nodes["n3"]!.disk.applied.count, 0)
        cluster.restart("n3")
        XCTAssertFalse(cluster.nodes["n3"]!.caughtUp)
        var answers = 0
        while let packet = cluster.inFlight.first {
            cluster.inFlight.removeFirst()
            if packet.to == "n3", case .catalog(.catchUpAnswer(_, let entries, _)) = packet.envelope {
                answers += 1
                XCTAssertLessThanOrEqual(entries.count, 2)
            }
            switch packet.envelope {
            case .catalog(let message): cluster.run(packet.to, .receive(from: packet.from, message))
            case .snapshot: XCTFail("entries were retained; no snapshot needed")
            }
            if cluster.nodes["n3"]!.caughtUp {
                XCTAssertEqual(cluster.nodes["n3"]!.disk.applied.count, 5, "serving only once every slot is applied")
            }
        }
        XCTAssertGreaterThanOrEqual(answers, 3)
        XCTAssertTrue(cluster.nodes["n3"]!.caughtUp)
        XCTAssertEqual(cluster.nodes["n3"]!.disk.applied, cluster.nodes["n1"]!.disk.applied)
        XCTAssertEqual(cluster.violations, [], "slots were applied in order, each once")
    }

    func testAPeerAskedForSlotsOlderThanItRetainsSendsItsSnapshot() {
        var settings = fast
        settings.decidedRetainedMax = 2
        var cluster = CatalogCluster(nodes: 3, settings: settings, seed: 11)
        settle(&cluster)
        cluster.crash("n3")
        for name in ["a", "b", "c", "d"] {
            cluster.createTable(name, at: "n1")
            settle(&cluster)
        }
        cluster.restart("n3")
        settle(&cluster)
        XCTAssertEqual(cluster.nodes["n3"]!.tables, ["a": 1, "b": 2, "c": 3, "d": 4])
        XCTAssertTrue(cluster.nodes["n3"]!.caughtUp)
        // And it proposes on top of the snapshot.
        let id = cluster.createTable("e", at: "n3")
        settle(&cluster)
        XCTAssertEqual(cluster.results[id], .created(tableId: 5))
    }

    func testCatchUpAnswersAreBoundedInEntriesAndBytes() {
        let decided = (1...10).map { entry("n2", UInt64($0), String(repeating: "x", count: 100)) }
        var settings = CatalogLog.Settings(catchUpEntriesMax: 4, catchUpBytesMax: 250, changeBytesMax: 100)
        var log = CatalogLog(node: "n1", members: ["n1", "n2"], settings: settings, restored: .init(appliedThrough: 10, recentDecided: decided), seed: 1)
        XCTAssertEqual(log.handle(.receive(from: "n2", .catchUpRequest(after: 3)), now: 0),
                       [.send(to: "n2", .catchUpAnswer(after: 3, entries: Array(decided[3..<5]), appliedThrough: 10))], "250 bytes hold two changes of 100")
        settings.catchUpBytesMax = 10_000
        log = CatalogLog(node: "n1", members: ["n1", "n2"], settings: settings, restored: .init(appliedThrough: 10, recentDecided: decided), seed: 1)
        XCTAssertEqual(log.handle(.receive(from: "n2", .catchUpRequest(after: 3)), now: 0),
                       [.send(to: "n2", .catchUpAnswer(after: 3, entries: Array(decided[3..<7]), appliedThrough: 10))])
        XCTAssertEqual(log.handle(.receive(from: "n2", .catchUpRequest(after: 10)), now: 0),
                       [.send(to: "n2", .catchUpAnswer(after: 10, entries: [], appliedThrough: 10))])
    }

    func testEntriesLearnedPastAGapWaitUntilTheGapIsFilledAndAreAppliedInOrder() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3"], seed: 1)
        _ = log.handle(.start, now: 0)
        let (a, b, c) = (entry("n2", 1, "a"), entry("n2", 2, "b"), entry("n3", 3, "c"))
        XCTAssertEqual(log.handle(.receive(from: "n2", .paxos(slot: 3, .decided(value: c.encoded()))), now: 5_000),
                       [.send(to: "n2", .catchUpRequest(after: 0))], "a gap: ask the sender")
        XCTAssertEqual(log.handle(.receive(from: "n2", .paxos(slot: 2, .decided(value: b.encoded()))), now: 5_001), [],
                       "one catch-up request per interval")
        XCTAssertEqual(log.handle(.receive(from: "n3", .catchUpAnswer(after: 0, entries: [a], appliedThrough: 3)), now: 5_002), [
            .apply(slot: 1, a), .apply(slot: 2, b), .apply(slot: 3, c), .forgetAcceptorStates(through: 3), .caughtUp(version: 3),
        ], "n3 has nothing newer either: with this node, a majority")
        XCTAssertEqual(log.appliedThrough, 3)
    }

    func testCatchingUpNodeServesOnlyAfterAMajorityHasNothingNewer() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3", "n4", "n5"], seed: 1)
        XCTAssertEqual(log.handle(.start, now: 0), ["n2", "n3", "n4", "n5"].map { .send(to: $0, .catchUpRequest(after: 0)) })
        XCTAssertEqual(log.handle(.receive(from: "n2", .catchUpAnswer(after: 0, entries: [], appliedThrough: 0)), now: 1), [])
        XCTAssertEqual(log.handle(.receive(from: "n2", .catchUpAnswer(after: 0, entries: [], appliedThrough: 0)), now: 1), [],
                       "a duplicated answer is one peer")
        XCTAssertFalse(log.isCaughtUp)
        XCTAssertEqual(log.handle(.tick, now: 1_000), ["n3", "n4", "n5"].map { .send(to: $0, .catchUpRequest(after: 0)) },
                       "the silent peers are asked again")
        XCTAssertEqual(log.handle(.receive(from: "n4", .catchUpAnswer(after: 0, entries: [], appliedThrough: 0)), now: 1_001),
                       [.caughtUp(version: 0)])
        XCTAssertTrue(log.isCaughtUp)
    }

    // MARK: - Bounds and hostile input

    func testProposalsBeyondTheQueueBoundAndOversizedChangesAreRefused() {
        var log = CatalogLog(node: "n1", members: ["n1", "n2", "n3"], settings: .init(proposalsQueuedMax: 1, changeBytesMax: 8), seed: 1)
        _ = log.handle(.start, now: 0)
        XCTAssertEqual(log.handle(.propose(OperationID(1), entry("n1", 1, "a"), basedOn: 0), now: 0), [.stampBallot(after: 0)])
        XCTAssertEqual(log.handle(.propose(OperationID(2), entry("n1", 2, "b"), basedOn: 0), now: 0), [])
        XCTAssertEqual(log.handle(.propose(OperationID(3), entry("n1", 3, "c"), basedOn: 0), now: 0), [.finished(OperationID(3), .refused(.queueFull))])
        XCTAssertEqual(log.handle(.propose(OperationID(4), entry("n1", 4, "123456789"), basedOn: 0), now: 0),
                       [.finished(OperationID(4), .refused(.changeTooLarge))])
        XCTAssertEqual(log.queuedProposalCount, 1)
    }

    func testAcceptorsKeepNoStateForSlotsFarAheadAndAskToCatchUpInstead() {
        var log = CatalogLog(node: "n2", members: ["n1", "n2", "n3"], settings: .init(slotsAheadMax: 4), seed: 1)
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 5, .prepare(Ballot(timestamp: 1, node: "n1")))), now: 0),
                       [.send(to: "n1", .catchUpRequest(after: 0))])
        XCTAssertEqual(log.acceptorSlotCount, 0)
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 4, .prepare(Ballot(timestamp: 1, node: "n1")))), now: 0).count, 1)
        XCTAssertEqual(log.acceptorSlotCount, 1)
    }

    func testMalformedOversizedAndForeignMessagesAreDropped() {
        var log = CatalogLog(node: "n2", members: ["n1", "n2", "n3"], settings: .init(catchUpBytesMax: 100, changeBytesMax: 8), seed: 1)
        let ballot = Ballot(timestamp: 1, node: "n1")
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .accept(ballot, value: [1, 2, 3]))), now: 0), [], "not an entry")
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .accept(ballot, value: entry("n1", 1, "123456789").encoded()))), now: 0), [], "too large")
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 1, .decided(value: [0]))), now: 0), [])
        XCTAssertEqual(log.handle(.receive(from: "n1", .paxos(slot: 0, .prepare(ballot))), now: 0), [], "slot 0 does not exist")
        XCTAssertEqual(log.handle(.receive(from: "x9", .paxos(slot: 1, .prepare(ballot))), now: 0), [], "not a member")
        XCTAssertEqual(log.handle(.receive(from: "n1", .catchUpAnswer(after: 0, entries: Array(repeating: entry("n1", 1, "a"), count: 65), appliedThrough: 65)), now: 0), [],
                       "more entries than an answer may hold")
        XCTAssertEqual(log.handle(.receive(from: "n1", .catchUpAnswer(after: 0, entries: Array(repeating: entry("n1", 1, "12345678"), count: 64), appliedThrough: 64)), now: 0), [],
                       "more bytes than an answer may hold")
        XCTAssertEqual(log.acceptorSlotCount, 0)
        XCTAssertEqual(log.appliedThrough, 0)
    }

    func testSettingsRefuseBoundsThatCannotWork() {
        XCTAssertThrowsError(try CatalogLog.Settings(slotsAheadMax: 0).validate())
        XCTAssertThrowsError(try CatalogLog.Settings(catchUpBytesMax: 10, changeBytesMax: 100).validate())
        XCTAssertThrowsError(try CatalogLog.Settings(proposer: .init(attemptsMax: 0)).validate())
        XCTAssertNoThrow(try CatalogLog.Settings().validate())
    }
}
