import TernCore
import XCTest

@testable import TernCluster

/// The coordinator as events in, actions out: no storage, no clocks, no sleeps.
final class CoordinatorTests: XCTestCase {
    let key: [UInt8] = Array("k1".utf8)
    let otherKey: [UInt8] = Array("k2".utf8)
    let item = Item([("pk", .s("a"))])
    let at = Now(wallMillis: 100_000_000, monotonicMillis: 5_000)

    func op(_ raw: UInt64) -> OperationID { OperationID(raw) }
    func hlc(_ millis: UInt64, _ logical: UInt64 = 0) -> UInt64 { millis << 16 | logical }

    /// A started coordinator whose clock ceiling is durable already, so writes need no ceiling
    /// first (a new instance always makes one durable before its first timestamp).
    func coordinator(_ settings: Coordinator.Settings = .init()) -> Coordinator {
        var c = Coordinator(node: "n1", settings: settings, recoveredClockCeiling: 0)
        let request = c.handle(.observeTimestamp(0), now: at)
        XCTAssertEqual(request, [.persistClockCeiling(hlc(at.wallMillis + settings.clockCeilingWindowMillis))])
        XCTAssertEqual(c.handle(.clockCeilingPersisted(hlc(at.wallMillis + settings.clockCeilingWindowMillis), succeeded: true), now: at), [])
        return c
    }

    /// Drives `id` from lock grant to reply, as the shell answers `readAndDecide` (this node's
    /// version is `current`, the API writes `write`), and acking the write.
    func completeWrite(_ c: inout Coordinator, _ id: OperationID, current: StoredValue?, write: Item?, now: Now? = nil) -> [Coordinator.Action] {
        let now = now ?? at
        let actions = c.handle(.decidedOnRead(id, current: current, .write(write)), now: now)
        guard case .writeReplica(id, "n1", _, let value, nil)? = actions.first(where: { if case .writeReplica = $0 { return true } else { return false } }) else {
            XCTFail("no write in \(actions)")
            return []
        }
        return c.handle(.replicaWrote(id, replica: "n1", failure: nil), now: now).map { action in
            if case .reply(id, .written(let old, let new)) = action {
                XCTAssertEqual(old, current)
                XCTAssertEqual(new, value)
            }
            return action
        }
    }

    func testReadAsksTheReplicaAndAnswersWithItsVersion() {
        var read = ReadRound(key: key, placement: coordinator().placement)
        XCTAssertEqual(read.replicas, ["n1"])
        let stored = StoredValue(item: item, timestamp: 7, clock: VectorClock(["n1": 1]))
        XCTAssertEqual(read.handle("n1", .value(stored)), .read(stored))
        XCTAssertNil(read.handle("n1", .value(nil)), "a late answer changes nothing")
    }

    func testReadThatWouldBlockFailsWithoutQuorum() {
        var read = ReadRound(key: key, placement: coordinator().placement)
        XCTAssertEqual(read.handle("n1", .failed(.wouldBlock)), .failed(.quorumNotReached(.wouldBlock)))
    }

    func testReadsTakeTheNewestOfConcurrentAnswers() {
        let older = StoredValue(item: item, timestamp: hlc(5), clock: VectorClock(["n1": hlc(5)]), writer: "n1")
        let newer = StoredValue(item: Item([("pk", .s("b"))]), timestamp: hlc(6), clock: VectorClock(["n2": hlc(6)]), writer: "n2")
        XCTAssertEqual(ReadRound.newest([older, nil, newer])?.item, newer.item)
        XCTAssertEqual(ReadRound.newest([newer, older])?.item, newer.item)
        XCTAssertNil(ReadRound.newest([nil]))
    }

    func testWriteReadsDecidesWritesAndRepliesAfterTheDurableAck() {
        var c = coordinator()
        // A cluster of one: the read and the decision are one step of the shell.
        XCTAssertEqual(c.handle(.update(op(1), key: key, tableId: 5), now: at), [.readAndDecide(op(1), key: key)])
        let actions = c.handle(.decidedOnRead(op(1), current: nil, .write(item)), now: at)
        XCTAssertEqual(actions.count, 1)
        guard case .writeReplica(op(1), "n1", key, let new, nil)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(new.item, item)
        XCTAssertEqual(new.clock, VectorClock(["n1": new.timestamp]), "a node's counter rises to the HLC timestamp")
        XCTAssertEqual(new.writer, "n1")
        XCTAssertEqual(new.timestamp >> 16, at.wallMillis, "the HLC follows the wall clock")
        // No reply before the replica acknowledged durability.
        XCTAssertEqual(c.lockedKeyCount, 1)
        XCTAssertEqual(c.handle(.replicaWrote(op(1), replica: "n1", failure: nil), now: at), [.reply(op(1), .written(old: nil, new: new))])
        XCTAssertEqual(c.lockedKeyCount, 0)
        XCTAssertEqual(c.operationCount, 0)
    }

    func testNewVersionDescendsFromTheVersionItReplaces() {
        var c = coordinator()
        let old = StoredValue(item: item, timestamp: hlc(900_000), clock: VectorClock(["n0": 4, "n1": 2]))
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        let actions = completeWrite(&c, op(1), current: old, write: Item([("pk", .s("b"))]))
        guard case .reply(_, .written(_, let new))? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(new.clock, VectorClock(["n0": 4, "n1": new.timestamp]))
        XCTAssertEqual(new.clock.compare(old.clock), VectorClock.Relation.after)
        XCTAssertGreaterThan(new.timestamp, old.timestamp)
    }

    func testDeleteWritesATombstoneEvenForAnAbsentItem() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        let actions = completeWrite(&c, op(1), current: nil, write: nil)
        guard case .reply(_, .written(nil, let new))? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertTrue(new.isTombstone)
    }

    func testSecondWriterOfAKeyWaitsAndGetsTheLockWhenTheFirstReplies() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        XCTAssertEqual(c.handle(.update(op(2), key: key, tableId: 5), now: at), [], "the second writer waits")
        // Another key is not blocked.
        XCTAssertEqual(c.handle(.update(op(3), key: otherKey, tableId: 5), now: at), [.readAndDecide(op(3), key: otherKey)])
        XCTAssertEqual(c.lockWaiterCount, 1)
        let actions = completeWrite(&c, op(1), current: nil, write: item)
        XCTAssertEqual(actions.count, 2)
        XCTAssertEqual(actions.last, .readAndDecide(op(2), key: key), "the lock passes to the waiter, which reads the new version")
        XCTAssertEqual(c.lockWaiterCount, 0)
    }

    func testLockWaitersAreBoundedPerKeyAndInTotal() {
        var c = coordinator(.init(lockWaitersPerKeyMax: 2, lockWaitersMax: 3))
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        XCTAssertEqual(c.handle(.update(op(2), key: key, tableId: 5), now: at), [])
        XCTAssertEqual(c.handle(.update(op(3), key: key, tableId: 5), now: at), [])
        XCTAssertEqual(c.handle(.update(op(4), key: key, tableId: 5), now: at), [.reply(op(4), .failed(.lockQueueFull))])
        _ = c.handle(.update(op(5), key: otherKey, tableId: 5), now: at)
        XCTAssertEqual(c.handle(.update(op(6), key: otherKey, tableId: 5), now: at), [])
        XCTAssertEqual(c.handle(.update(op(7), key: otherKey, tableId: 5), now: at), [.reply(op(7), .failed(.lockQueueFull))], "total bound")
        XCTAssertEqual(c.lockWaiterCount, 3)
    }

    func testLockWaitersPastTheirDeadlineFailRetryably() {
        var c = coordinator(.init(lockWaitMillis: 100))
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.update(op(2), key: key, tableId: 5), now: at)
        let later = Now(wallMillis: at.wallMillis + 50, monotonicMillis: at.monotonicMillis + 50)
        _ = c.handle(.update(op(3), key: key, tableId: 5), now: later)
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: 0, monotonicMillis: at.monotonicMillis + 99)), [])
        XCTAssertEqual(c.handle(.tick, now: Now(wallMillis: 0, monotonicMillis: at.monotonicMillis + 100)), [.reply(op(2), .failed(.lockTimeout))])
        XCTAssertEqual(c.lockWaiterCount, 1)
        // The holder finishing hands the lock to the waiter still in time.
        let actions = completeWrite(&c, op(1), current: nil, write: item, now: later)
        XCTAssertEqual(actions.last, .readAndDecide(op(3), key: key))
    }

    func testAbortAndKeepReleaseTheLockAndWriteNothing() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.update(op(2), key: key, tableId: 5), now: at)
        XCTAssertEqual(c.handle(.decidedOnRead(op(1), current: nil, .abort), now: at), [.reply(op(1), .failed(.aborted)), .readAndDecide(op(2), key: key)])
        XCTAssertEqual(c.handle(.decidedOnRead(op(2), current: nil, .keep), now: at), [.reply(op(2), .unchanged(nil))])
        XCTAssertEqual(c.lockedKeyCount, 0)
    }

    func testTheTwoStepReadAndDecisionGiveTheSameWriteAsTheFusedStep() {
        // A shell may answer `readAndDecide` as a read (`replicaRead`) and then a `decide`.
        var fused = coordinator()
        var stepwise = coordinator()
        let old = StoredValue(item: item, timestamp: hlc(900_000), clock: VectorClock(["n1": 2]))
        _ = fused.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = stepwise.handle(.update(op(1), key: key, tableId: 5), now: at)
        XCTAssertEqual(stepwise.handle(.replicaRead(op(1), replica: "n1", .value(old)), now: at), [.decide(op(1), current: old)])
        XCTAssertEqual(
            stepwise.handle(.decided(op(1), .write(nil)), now: at),
            fused.handle(.decidedOnRead(op(1), current: old, .write(nil)), now: at)
        )
    }

    func testAFailedLocalReadFailsASingleNodeWriteWithoutDeciding() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.update(op(2), key: key, tableId: 5), now: at)
        XCTAssertEqual(
            c.handle(.replicaRead(op(1), replica: "n1", .failed(.overloaded)), now: at),
            [.reply(op(1), .failed(.quorumNotReached(.overloaded))), .readAndDecide(op(2), key: key)]
        )
    }

    func testFailedReplicaWriteFailsTheWriteWithoutQuorum() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.decidedOnRead(op(1), current: nil, .write(item)), now: at)
        XCTAssertEqual(
            c.handle(.replicaWrote(op(1), replica: "n1", failure: .overloaded), now: at),
            [.reply(op(1), .failed(.quorumNotReached(.overloaded)))]
        )
        XCTAssertEqual(c.lockedKeyCount, 0)
    }

    // MARK: Table fences

    func testFenceWithNoWritesInFlightDrainsAtOnceAndRefusesLaterWrites() {
        var c = coordinator()
        XCTAssertEqual(c.handle(.fenceTable(5), now: at), [.tableDrained(5)])
        XCTAssertEqual(c.handle(.update(op(1), key: key, tableId: 5), now: at), [.reply(op(1), .failed(.tableDeleted))])
        XCTAssertEqual(c.handle(.update(op(2), key: key, tableId: 6), now: at), [.readAndDecide(op(2), key: key)], "other tables are not fenced")
    }

    func testFenceWaitsForEveryAcceptedWriteIncludingLockWaiters() {
        var c = coordinator()
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.update(op(2), key: key, tableId: 5), now: at)  // waits for the lock
        XCTAssertEqual(c.handle(.fenceTable(5), now: at), [])
        XCTAssertEqual(c.handle(.update(op(3), key: otherKey, tableId: 5), now: at), [.reply(op(3), .failed(.tableDeleted))])
        let first = completeWrite(&c, op(1), current: nil, write: item)
        XCTAssertFalse(first.contains(.tableDrained(5)), "op2 still holds the table")
        XCTAssertEqual(first.last, .readAndDecide(op(2), key: key), "a write accepted before the fence still completes")
        let second = completeWrite(&c, op(2), current: nil, write: item)
        XCTAssertEqual(second.last, .tableDrained(5))
    }

    // MARK: Clock ceiling

    func testFirstWriteOfANewNodeWaitsForADurableClockCeiling() {
        var c = Coordinator(node: "n1", recoveredClockCeiling: 0)
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        let ceiling = hlc(at.wallMillis + 10_000)
        XCTAssertEqual(c.handle(.decided(op(1), .write(item)), now: at), [.persistClockCeiling(ceiling)])
        let actions = c.handle(.clockCeilingPersisted(ceiling, succeeded: true), now: at)
        guard case .writeReplica(op(1), "n1", key, let value, nil)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertLessThan(value.timestamp, ceiling)
    }

    func testTimestampsAfterARestartStayAboveTheCeilingEvenWhenTheWallClockSteppedBack() {
        var c = Coordinator(node: "n1", recoveredClockCeiling: 0)
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        let ceilingActions = c.handle(.decided(op(1), .write(item)), now: at)
        guard case .persistClockCeiling(let ceiling)? = ceilingActions.first else { return XCTFail("\(ceilingActions)") }
        let actions = c.handle(.clockCeilingPersisted(ceiling, succeeded: true), now: at)
        guard case .writeReplica(_, _, _, let beforeCrash, _)? = actions.first else { return XCTFail("\(actions)") }
        // Restart with the wall clock an hour behind.
        let stepped = Now(wallMillis: at.wallMillis - 3_600_000, monotonicMillis: 1)
        var restarted = Coordinator(node: "n1", recoveredClockCeiling: ceiling)
        _ = restarted.handle(.update(op(1), key: key, tableId: 5), now: stepped)
        _ = restarted.handle(.replicaRead(op(1), replica: "n1", .value(beforeCrash)), now: stepped)
        let waiting = restarted.handle(.decided(op(1), .write(item)), now: stepped)
        guard case .persistClockCeiling(let next)? = waiting.first else { return XCTFail("\(waiting)") }
        XCTAssertGreaterThan(next, ceiling)
        let written = restarted.handle(.clockCeilingPersisted(next, succeeded: true), now: stepped)
        guard case .writeReplica(_, _, _, let afterRestart, _)? = written.first else { return XCTFail("\(written)") }
        XCTAssertGreaterThan(afterRestart.timestamp, ceiling)
        XCTAssertGreaterThan(afterRestart.timestamp, beforeCrash.timestamp)
    }

    func testCeilingIsRenewedAheadOfNeedAndOnlyOnceAtATime() {
        var c = coordinator()  // ceiling: wall + 10 s
        // 6 s later less than half of the window is left: the write goes ahead and a new ceiling is asked for.
        let later = Now(wallMillis: at.wallMillis + 6_000, monotonicMillis: at.monotonicMillis + 6_000)
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: later)
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: later)
        let actions = c.handle(.decided(op(1), .write(item)), now: later)
        XCTAssertEqual(actions.first, .persistClockCeiling(hlc(later.wallMillis + 10_000)))
        XCTAssertEqual(actions.count, 2, "the write goes ahead under the current ceiling: \(actions)")
        _ = c.handle(.update(op(2), key: otherKey, tableId: 5), now: later)
        _ = c.handle(.replicaRead(op(2), replica: "n1", .value(nil)), now: later)
        let second = c.handle(.decided(op(2), .write(item)), now: later)
        XCTAssertEqual(second.count, 1, "no second ceiling while one is in flight: \(second)")
        guard case .writeReplica? = second.first else { return XCTFail("\(second)") }
    }

    func testFailedCeilingFailsTheWritesWaitingForIt() {
        var c = Coordinator(node: "n1", recoveredClockCeiling: 0)
        _ = c.handle(.update(op(1), key: key, tableId: 5), now: at)
        _ = c.handle(.replicaRead(op(1), replica: "n1", .value(nil)), now: at)
        guard case .persistClockCeiling(let ceiling)? = c.handle(.decided(op(1), .write(item)), now: at).first else { return XCTFail() }
        XCTAssertEqual(c.handle(.clockCeilingPersisted(ceiling, succeeded: false), now: at), [.reply(op(1), .failed(.clockUnavailable))])
        XCTAssertEqual(c.lockedKeyCount, 0)
    }

    func testSettingsRefuseQuorumsOutsideOneToN() {
        XCTAssertNoThrow(try Coordinator.Settings().validate())
        XCTAssertNoThrow(try Coordinator.Settings(replicationFactor: 3, writeQuorum: 2, readQuorum: 2).validate())
        XCTAssertThrowsError(try Coordinator.Settings(replicationFactor: 3, writeQuorum: 4).validate())
        XCTAssertThrowsError(try Coordinator.Settings(replicationFactor: 3, writeQuorum: 2, readQuorum: 0).validate())
        XCTAssertThrowsError(try Coordinator.Settings(replicationFactor: 0, writeQuorum: 1).validate())
        XCTAssertThrowsError(try Coordinator.Settings(replicaTimeoutMillis: 0).validate())
        XCTAssertThrowsError(try Coordinator.Settings(lockWaitersPerKeyMax: 0).validate())
    }
}
