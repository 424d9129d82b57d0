import TernCore
import XCTest

@testable import TernCluster

/// The coordinator with N replicas: quorums, sloppy quorum and hints, applies from other
/// coordinators, read rounds with read repair. Events in, actions out; no sleeps.
final class ReplicatedCoordinatorTests: XCTestCase {
    let key: [UInt8] = Array("k1".utf8)
    let item = Item([("pk", .s("a"))])
    let at = Now(wallMillis: 100_000_000, monotonicMillis: 5_000)
    /// N = 3, W = 2: n1 (this node), n2, n3; n4 and n5 follow on the ring.
    let plan = ReplicaPlan(preference: ["n1", "n2", "n3"], fallbacks: ["n4", "n5"], writeQuorum: 2, readQuorum: 2)

    func op(_ raw: UInt64) -> OperationID { OperationID(raw) }
    func hlc(_ millis: UInt64, _ logical: UInt64 = 0) -> UInt64 { millis << 16 | logical }

    func coordinator(_ settings: Coordinator.Settings = .init()) -> Coordinator {
        var c = Coordinator(node: "n1", settings: settings, recoveredClockCeiling: 0)
        let ceiling = hlc(at.wallMillis + settings.clockCeilingWindowMillis)
        XCTAssertEqual(c.handle(.observeTimestamp(0), now: at), [.persistClockCeiling(ceiling)])
        XCTAssertEqual(c.handle(.clockCeilingPersisted(ceiling, succeeded: true), now: at), [])
        return c
    }

    func version(_ text: String, _ millis: UInt64, by node: NodeID, clock: [String: UInt64]) -> StoredValue {
        StoredValue(item: Item([("pk", .s(text))]), timestamp: hlc(millis), clock: VectorClock(clock), writer: node)
    }

    /// The writes of `actions` as (replica, hintFor) pairs, and the value they carry.
    func writes(_ actions: [Coordinator.Action]) -> (targets: [String], value: StoredValue?) {
        var targets: [String] = []
        var value: StoredValue?
        for case .writeReplica(_, let replica, _, let written, let hintFor) in actions {
            targets.append(hintFor.map { "\(replica)(hint for \($0))" } ?? replica)
            value = written
        }
        return (targets, value)
    }

    /// Starts a write and answers its reads with `answers` (replica → version).
    func startWrite(_ c: inout Coordinator, _ id: OperationID, answers: [NodeID: StoredValue?]) -> [Coordinator.Action] {
        let reads = c.handle(.update(id, key: key, tableId: 5, plan: plan), now: at)
        var actions: [Coordinator.Action] = []
        for case .readReplica(id, let replica, _) in reads {
            actions += c.handle(.replicaRead(id, replica: replica, .value(answers[replica] ?? nil)), now: at)
        }
        return actions
    }

    // MARK: Writes

    func testWriteReadsNMinusWPlusOneReplicasLocalFirstAndDecidesOnTheNewest() {
        var c = coordinator()
        let reads = c.handle(.update(op(1), key: key, tableId: 5, plan: plan), now: at)
        XCTAssertEqual(reads, [.readReplica(op(1), replica: "n1", key: key), .readReplica(op(1), replica: "n2", key: key)])
        let stale = version("old", 10, by: "n1", clock: ["n1": hlc(10)])
        let newer = version("new", 20, by: "n2", clock: ["n1": hlc(10), "n2": hlc(20)])
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n1", .value(stale)), now: at), [], "one answer of two")
        let decide = c.handle(.replicaRead(op(1), replica: "n2", .value(newer)), now: at)
        XCTAssertEqual(decide, [.decide(op(1), current: newer)], "the version a conditional write judges is the newest of the quorum")
    }

    func testWriteGoesToAllNReplicasAndIsAcknowledgedAfterW() {
        var c = coordinator()
        _ = startWrite(&c, op(1), answers: [:])
        let sent = c.handle(.decided(op(1), .write(item)), now: at)
        let (targets, value) = writes(sent)
        XCTAssertEqual(targets, ["n1", "n2", "n3"])
        let new = try! XCTUnwrap(value)
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n3", failure: nil), now: at), [], "one ack of W = 2")
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n3", failure: nil), now: at), [], "a duplicate ack counts once")
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at), [.reply(op(1), .written(old: nil, new: new))])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n2", failure: nil), now: at), [], "the last ack arrives after the reply")
        XCTAssertEqual(c.lockedKeyCount, 0)
    }

    func testUnreachableReplicaCopyGoesToTheNextFallbackWithAHintThatCountsTowardW() {
        var c = coordinator()
        _ = c.handle(.reachability("n2", reachable: false), now: at)
        _ = c.handle(.reachability("n4", reachable: false), now: at)
        let reads = c.handle(.update(op(1), key: key, tableId: 5, plan: plan), now: at)
        XCTAssertEqual(reads, [.readReplica(op(1), replica: "n1", key: key), .readReplica(op(1), replica: "n3", key: key)], "reads skip the unreachable replica")
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n3", .value(nil)), now: at)
        let sent = c.handle(.decided(op(1), .write(item)), now: at)
        XCTAssertEqual(writes(sent).targets, ["n1", "n5(hint for n2)", "n3"], "n4 is unreachable too, so n5 holds the hint")
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n5", failure: nil, hintFor: "n2"), now: at), [])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at).first, .reply(op(1), .written(old: nil, new: writes(sent).value!)))
    }

    func testUnreachableReplicaWithNoFallbackGetsAHintOnTheCoordinatorThatDoesNotCountTowardW() {
        var c = coordinator()
        let three = ReplicaPlan(preference: ["n1", "n2", "n3"], writeQuorum: 2, readQuorum: 2)
        _ = c.handle(.reachability("n3", reachable: false), now: at)
        _ = c.handle(.update(op(1), key: key, tableId: 5, plan: three), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n2", .value(nil)), now: at)
        let sent = c.handle(.decided(op(1), .write(item)), now: at)
        XCTAssertEqual(writes(sent).targets, ["n1", "n2", "n1(hint for n3)"])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil, hintFor: "n3"), now: at), [])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at), [], "one ack of W = 2: the hint did not count")
        guard case .reply(op(1), .written)? = c.handle(.replicaWrote(op(1), replica: "n2", failure: nil), now: at).first else {
            return XCTFail("n1 and n2 make W = 2")
        }
    }

    func testReplicaThatFailsAfterTheSendIsReplacedByAFallbackWithAHint() {
        var c = coordinator()
        _ = startWrite(&c, op(1), answers: [:])
        _ = c.handle(.decided(op(1), .write(item)), now: at)
        let resent = c.handle(.replicaWrote(op(1), replica: "n2", failure: .unavailable("connection reset")), now: at)
        XCTAssertEqual(writes(resent).targets, ["n4(hint for n2)"])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n4", failure: .unavailable("timeout"), hintFor: "n2"), now: at).count, 1, "n4 failing passes the hint on to n5")
        let kept = c.handle(.replicaWrote(op(1), replica: "n3", failure: .unavailable("timeout")), now: at)
        XCTAssertEqual(writes(kept).targets, ["n1(hint for n3)"], "no fallback left: the coordinator keeps the hint itself")
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil, hintFor: "n3"), now: at), [], "its own hint is no part of W")
        // Fallbacks are used up: n3 counts as a failure; n1 and n5 can still make W = 2.
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at), [])
        guard case .reply(op(1), .written)? = c.handle(.replicaWrote(op(1), replica: "n5", failure: nil, hintFor: "n2"), now: at).first else {
            return XCTFail("the write is acknowledged by n1 and the hint on n5")
        }
    }

    func testWriteWithTwoOfThreeReplicasUnreachableAndNoFallbackFailsAtOnceAndFreesTheKey() {
        var c = coordinator()
        let small = ReplicaPlan(preference: ["n1", "n2", "n3"], writeQuorum: 2, readQuorum: 2)
        _ = c.handle(.reachability("n2", reachable: false), now: at)
        _ = c.handle(.reachability("n3", reachable: false), now: at)
        let actions = c.handle(.update(op(1), key: key, tableId: 5, plan: small), now: at)
        guard case .reply(op(1), .failed(.quorumNotReached))? = actions.first, actions.count == 1 else {
            return XCTFail("expected a quick quorum failure, got \(actions)")
        }
        XCTAssertEqual(c.lockedKeyCount, 0)
        XCTAssertEqual(c.operationCount, 0)
        _ = c.handle(.reachability("n3", reachable: true), now: at)
        XCTAssertEqual(c.handle(.update(op(2), key: key, tableId: 5, plan: small), now: at).count, 2, "back to two reachable: the read quorum is asked")
    }

    func testWriteWithWOfOneReadsWhoeverIsReachableInsteadOfNeedingEveryReplica() {
        var c = coordinator()
        let loose = ReplicaPlan(preference: ["n1", "n2", "n3"], writeQuorum: 1, readQuorum: 1)
        _ = c.handle(.reachability("n3", reachable: false), now: at)
        let reads = c.handle(.update(op(1), key: key, tableId: 5, plan: loose), now: at)
        XCTAssertEqual(reads, [.readReplica(op(1), replica: "n1", key: key), .readReplica(op(1), replica: "n2", key: key)], "N − W + 1 = 3, two reachable: both are read")
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n2", .value(nil)), now: at), [.decide(op(1), current: nil)])
        _ = c.handle(.decided(op(1), .write(item)), now: at)
        guard case .reply(op(1), .written)? = c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at).first else {
            return XCTFail("W = 1: this node's acknowledgement is enough")
        }
    }

    func testBlindWriteReadsOnlyThisNodesReplicaBeforeWriting() {
        var c = coordinator()
        var blind = plan
        blind.isBlindWrite = true
        XCTAssertEqual(c.handle(.update(op(1), key: key, tableId: 5, plan: blind), now: at), [.readAndDecide(op(1), key: key)])
        XCTAssertEqual(writes(c.handle(.decidedOnRead(op(1), current: nil, .write(item)), now: at)).targets, ["n1", "n2", "n3"], "it still writes all N")
    }

    func testAWriteWhoseReadQuorumIsThisNodeAsksTheNextReplicaWhenItsOwnReadFails() {
        var c = coordinator()
        let allMustWrite = ReplicaPlan(preference: ["n1", "n2", "n3"], writeQuorum: 3, readQuorum: 1)  // N − W + 1 = 1
        XCTAssertEqual(c.handle(.update(op(1), key: key, tableId: 5, plan: allMustWrite), now: at), [.readAndDecide(op(1), key: key)])
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n1", .failed(.overloaded)), now: at), [.readReplica(op(1), replica: "n2", key: key)])
        let newer = version("b", 950_000, by: "n2", clock: ["n2": hlc(950_000)])
        let decide = c.handle(.replicaRead(op(1), replica: "n2", .value(newer)), now: at).filter { if case .decide = $0 { true } else { false } }
        XCTAssertEqual(decide, [.decide(op(1), current: newer)])
    }

    func testFailedReadBeforeTheWriteAsksTheNextReplica() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5, plan: plan), now: at)
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n2", .failed(.unavailable("reset"))), now: at), [.readReplica(op(1), replica: "n3", key: key)])
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at), [])
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n3", .value(nil)), now: at), [.decide(op(1), current: nil)])
    }

    func testReplicasThatNeverAnswerFailTheWriteAtItsDeadlineAndTheNextWriterProceeds() {
        var c = coordinator(Coordinator.Settings(replicaTimeoutMillis: 1_000))
        _ = startWrite(&c, op(1), answers: [:])
        _ = c.handle(.decided(op(1), .write(item)), now: at)
        _ = c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at)
        XCTAssertEqual(c.handle(.update(op(2), key: key, tableId: 5, plan: plan), now: at), [], "the second writer waits for the key")
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: at.wallMillis + 999, monotonicMillis: at.monotonicMillis + 999)), [])
        let expired = c.handle(.tick, now: Now(wallMillis: at.wallMillis + 1_000, monotonicMillis: at.monotonicMillis + 1_000))
        guard case .reply(op(1), .failed(.quorumNotReached(.unavailable)))? = expired.first else { return XCTFail("\(expired)") }
        XCTAssertEqual(Array(expired.dropFirst()), [.readReplica(op(2), replica: "n1", key: key), .readReplica(op(2), replica: "n2", key: key)])
    }

    // MARK: Replicas that answer after the acknowledgement

    func testAReplicaThatFailsAfterTheWriteWasAcknowledgedGetsAHintOnTheCoordinator() {
        var c = coordinator()
        _ = startWrite(&c, op(1), answers: [:])
        let new = try! XCTUnwrap(writes(c.handle(.decided(op(1), .write(item)), now: at)).value)
        _ = c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at)
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n3", failure: nil), now: at), [.reply(op(1), .written(old: nil, new: new))])
        XCTAssertEqual(c.trailingWriteCount, 1, "n2 has not answered yet")
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n2", failure: .unavailable("connection lost")), now: at),
                       [.storeHint(key: key, value: new, target: "n2")])
        XCTAssertEqual(c.trailingWriteCount, 0)
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n2", failure: .unavailable("again")), now: at), [], "one hint per replica")
    }

    func testAReplicaStillSilentAtTheDeadlineAfterTheAcknowledgementGetsAHintAndALateSuccessNone() {
        var c = coordinator(Coordinator.Settings(replicaTimeoutMillis: 1_000))
        _ = startWrite(&c, op(1), answers: [:])
        let new = try! XCTUnwrap(writes(c.handle(.decided(op(1), .write(item)), now: at)).value)
        _ = c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at)
        _ = c.handle(.replicaWrote(op(1), replica: "n2", failure: nil), now: at)
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: at.wallMillis + 999, monotonicMillis: at.monotonicMillis + 999)), [])
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: at.wallMillis + 1_000, monotonicMillis: at.monotonicMillis + 1_000)),
                       [.storeHint(key: key, value: new, target: "n3")])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n3", failure: .unavailable("late")), now: at), [], "hinted already")

        // A replica that answers in time after the acknowledgement needs nothing.
        _ = startWrite(&c, op(2), answers: [:])
        _ = c.handle(.decided(op(2), .write(item)), now: at)
        _ = c.handle(.replicaWrote(op(2), replica: "n1", failure: nil), now: at)
        _ = c.handle(.replicaWrote(op(2), replica: "n2", failure: nil), now: at)
        XCTAssertEqual(c.handle(.replicaWrote(op(2), replica: "n3", failure: nil), now: at), [])
        XCTAssertEqual(c.trailingWriteCount, 0)
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: at.wallMillis + 5_000, monotonicMillis: at.monotonicMillis + 5_000)), [])
    }

    func testAReplicaThatRefusesAnAcknowledgedWriteOfADeletedTableGetsNoHint() {
        var c = coordinator()
        _ = startWrite(&c, op(1), answers: [:])
        _ = c.handle(.decided(op(1), .write(item)), now: at)
        _ = c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at)
        _ = c.handle(.replicaWrote(op(1), replica: "n2", failure: nil), now: at)
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n3", failure: .tableDeleted), now: at), [])
        XCTAssertEqual(c.trailingWriteCount, 0)
    }

    func testNewVersionDescendsFromEveryVersionTheQuorumReturned() {
        var c = coordinator()
        let a = version("a", 10, by: "n2", clock: ["n2": hlc(10)])
        let b = version("b", 11, by: "n3", clock: ["n3": hlc(11)])
        _ = c.handle(.reachability("n1", reachable: true), now: at)
        let reads = c.handle(.update(op(1), key: key, tableId: 5, plan: ReplicaPlan(preference: ["n2", "n3", "n1"], writeQuorum: 1, readQuorum: 1)), now: at)
        XCTAssertEqual(reads.count, 3, "W = 1 reads all three")
        _ = c.handle(.replicaRead(op(1), replica: "n2", .value(a)), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n3", .value(b)), now: at)
        guard case .decide(op(1), let current?)? = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at).first else { return XCTFail() }
        let new = writes(c.handle(.decided(op(1), .write(item)), now: at)).value!
        XCTAssertEqual(current.item, b.item, "concurrent versions: the last writer wins")
        XCTAssertTrue(new.clock.descends(a.clock) && new.clock.descends(b.clock), "\(new.clock)")
    }

    // MARK: Applies

    func testApplyStoresANewerVersionAndObservesItsTimestamp() {
        var c = coordinator()
        let remote = version("x", at.wallMillis + 50_000, by: "n2", clock: ["n2": 1])
        let actions = c.handle(.apply(op(1), key: key, tableId: 5, value: remote), now: at)
        XCTAssertEqual(actions.last, .readReplica(op(1), replica: "n1", key: key))
        XCTAssertTrue(actions.contains { if case .persistClockCeiling = $0 { return true } else { return false } }, "a timestamp ahead of the ceiling moves it")
        XCTAssertEqual(c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at), [.writeReplica(op(1), replica: "n1", key: key, value: remote, hintFor: nil)])
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at), [.reply(op(1), .written(old: nil, new: remote))])
    }

    func testApplyOfAnOlderOrDuplicateVersionWritesNothing() {
        var c = coordinator()
        let held = version("new", 20, by: "n2", clock: ["n2": 2])
        let older = version("old", 10, by: "n2", clock: ["n2": 1])
        for (id, incoming) in [(op(1), older), (op(2), held)] {
            _ = c.handle(.apply(id, key: key, tableId: 5, value: incoming), now: at)
            XCTAssertEqual(c.handle(.replicaRead(id, replica: "n1", .value(held)), now: at), [.reply(id, .unchanged(held))])
        }
        XCTAssertEqual(c.lockedKeyCount, 0)
    }

    func testConcurrentApplyStoresTheLastWriterWithBothClocks() {
        var c = coordinator()
        let held = version("mine", 20, by: "n1", clock: ["n1": 5])
        let incoming = version("theirs", 21, by: "n2", clock: ["n2": 7])
        _ = c.handle(.apply(op(1), key: key, tableId: 5, value: incoming), now: at)
        let write = c.handle(.replicaRead(op(1), replica: "n1", .value(held)), now: at)
        guard case .writeReplica(_, "n1", _, let stored, nil)? = write.first else { return XCTFail("\(write)") }
        XCTAssertEqual(stored.item, incoming.item)
        XCTAssertEqual(stored.clock, VectorClock(["n1": 5, "n2": 7]))
    }

    func testApplyWaitsForTheKeyLockOfALocalWrite() {
        var c = coordinator()
        _ = startWrite(&c, op(1), answers: [:])
        let remote = version("x", 5, by: "n2", clock: ["n2": 1])
        XCTAssertEqual(c.handle(.apply(op(2), key: key, tableId: 5, value: remote), now: at), [])
        _ = c.handle(.decided(op(1), .keep), now: at)
        // keep replied and handed the lock to the apply, which now reads this replica.
        XCTAssertEqual(c.operationCount, 1)
        XCTAssertEqual(c.lockWaiterCount, 0)
    }

    func testReplicasThatApplyTheSameVersionsInAnyOrderConverge() {
        var generator = SplitMix64(seed: 7)
        var versions: [StoredValue] = []
        for i in 0..<6 {
            let writer: NodeID = "n\(i % 3 + 2)"
            let millis = UInt64(10 + i)  // an HLC never issues one timestamp twice
            versions.append(version("v\(i)", millis, by: writer, clock: [writer: UInt64(i + 1)]))
        }
        var finals: [StoredValue] = []
        for round in 0..<20 {
            var c = coordinator()
            var held: StoredValue?
            var order = versions
            for index in order.indices.reversed() {
                order.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
            for (index, incoming) in order.enumerated() {
                let id = op(UInt64(round * 100 + index))
                _ = c.handle(.apply(id, key: key, tableId: 5, value: incoming), now: at)
                for action in c.handle(.replicaRead(id, replica: "n1", .value(held)), now: at) {
                    if case .writeReplica(_, _, _, let stored, _) = action {
                        held = stored
                        _ = c.handle(.replicaWrote(id, replica: "n1", failure: nil), now: at)
                    }
                }
            }
            finals.append(held!)
        }
        XCTAssertEqual(Set(finals.map { $0.encoded() }).count, 1, "every order of delivery ends in the same version")
    }

    // MARK: Reads

    func testReadAsksRReplicasLocalFirstAndRepairsTheStaleOne() {
        let stale = version("old", 10, by: "n1", clock: ["n1": 1])
        let fresh = version("new", 20, by: "n1", clock: ["n1": 2])
        var read = ReadRound(key: key, plan: ReplicaPlan(preference: ["n2", "n1", "n3"], writeQuorum: 2, readQuorum: 2), local: "n1")
        XCTAssertEqual(read.replicas, ["n1", "n2"])
        XCTAssertNil(read.handle("n1", .value(stale)))
        XCTAssertEqual(read.handle("n2", .value(fresh)), .read(fresh))
        XCTAssertEqual(read.repairs.map(\.replica), ["n1"])
        XCTAssertEqual(read.repairs.first?.value, fresh)
    }

    func testReadReplacesAFailedReplicaWithTheNextOne() {
        var read = ReadRound(key: key, plan: plan, local: "n1", reachable: { $0 != "n2" })
        XCTAssertEqual(read.replicas, ["n1", "n3"])
        XCTAssertEqual(read.handle("n3", .failed(.unavailable("reset"))), .failed(.quorumNotReached(.unavailable("reset"))), "no spare is left (n2 is unreachable): R = 2 is out of reach at once")
        XCTAssertNil(read.pendingAsk)
        XCTAssertNil(read.handle("n1", .value(nil)), "the outcome comes once")

        var spare = ReadRound(key: key, plan: ReplicaPlan(preference: ["n1", "n2", "n3"], writeQuorum: 1, readQuorum: 1), local: "n1")
        XCTAssertNil(spare.handle("n1", .failed(.overloaded)))
        XCTAssertEqual(spare.pendingAsk, "n2")
        XCTAssertEqual(spare.handle("n2", .value(nil)), .read(nil))
    }

    /// Found by the simulator (seed 2): a node outside the preference list that reaches none of
    /// its replicas built a round with nobody to ask, which never decided, so the read hung.
    func testReadWithFewerThanRReachableReplicasFailsBeforeAskingAnyone() {
        let none = ReadRound(key: key, plan: plan, local: "n5", reachable: { _ in false })
        XCTAssertEqual(none.replicas, [])
        XCTAssertEqual(none.outcomeWithoutAsking, .failed(.quorumNotReached(.unavailable("3 of 3 replicas unreachable"))))
        let one = ReadRound(key: key, plan: plan, local: "n1", reachable: { _ in false })
        XCTAssertEqual(one.outcomeWithoutAsking, .failed(.quorumNotReached(.unavailable("2 of 3 replicas unreachable"))), "R = 2 with only this node's replica")
        var enough = ReadRound(key: key, plan: plan, local: "n1", reachable: { $0 == "n3" })
        XCTAssertNil(enough.outcomeWithoutAsking)
        XCTAssertNil(enough.handle("n1", .value(nil)))
        XCTAssertEqual(enough.handle("n3", .value(nil)), .read(nil))
    }

    func testReadOfConcurrentVersionsRepairsEveryReplicaWithTheReconciledVersion() {
        let a = version("a", 10, by: "n2", clock: ["n2": 1])
        let b = version("b", 11, by: "n3", clock: ["n3": 1])
        var read = ReadRound(key: key, plan: ReplicaPlan(preference: ["n2", "n3", "n1"], writeQuorum: 1, readQuorum: 3), local: "n1")
        XCTAssertNil(read.handle("n2", .value(a)))
        XCTAssertNil(read.handle("n3", .value(b)))
        guard case .read(let result?)? = read.handle("n1", .value(nil)) else { return XCTFail() }
        XCTAssertEqual(result.item, b.item)
        XCTAssertEqual(Set(read.repairs.map(\.replica)), ["n1", "n2", "n3"], "n3 holds b's item but not the merged clock")
    }
}
