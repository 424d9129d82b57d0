import TernCore
import XCTest

@testable import TernCluster

/// Hinted handoff's queue (Dynamo §4.6): events in, actions out; no sleeps.
final class HintQueueTests: XCTestCase {
    let start = Now(wallMillis: 1_000_000_000, monotonicMillis: 10_000)

    func later(_ millis: UInt64) -> Now {
        Now(wallMillis: start.wallMillis + millis, monotonicMillis: start.monotonicMillis + millis)
    }

    func hint(_ id: HintID, _ target: NodeID = "n2", bytes: Int = 100, createdMillis: UInt64? = nil) -> HintQueue.StoredHint {
        HintQueue.StoredHint(id: id, target: target, bytes: bytes, createdMillis: createdMillis ?? start.wallMillis)
    }

    func settings(
        window: UInt64 = 3_600_000, bytes: Int = 1_000, inFlight: Int = 2, timeout: UInt64 = 500,
        backoff: UInt64 = 100, backoffMax: UInt64 = 350
    ) -> HintQueue.Settings {
        HintQueue.Settings(
            hintWindowMillis: window, bytesPerTargetMax: bytes, deliveriesInFlightPerTargetMax: inFlight,
            deliveryTimeoutMillis: timeout, retryBackoffMillis: backoff, retryBackoffMaxMillis: backoffMax)
    }

    func testStoredHintForAReachableTargetIsDeliveredAndDeletedOnSuccess() {
        var queue = HintQueue(settings: settings())
        XCTAssertEqual(queue.handle(.stored(hint(1)), now: start), [.deliver(1, target: "n2")])
        XCTAssertEqual(queue.counts(for: "n2"), HintQueue.TargetCounts(hints: 1, bytes: 100, inFlight: 1))
        XCTAssertEqual(queue.handle(.delivered(1), now: start), [.delete(1, target: "n2", .delivered)])
        XCTAssertEqual(queue.counts(for: "n2"), HintQueue.TargetCounts())
        XCTAssertEqual(queue.hintCount, 0)
        XCTAssertEqual(queue.handle(.delivered(1), now: start), [], "a duplicate acknowledgement changes nothing")
    }

    func testHintsForAnUnreachableTargetWaitAndGoOldestFirstWithinTheInFlightBound() {
        var queue = HintQueue(settings: settings(inFlight: 2))
        XCTAssertEqual(queue.handle(.reachability("n2", reachable: false), now: start), [])
        for id: HintID in [3, 1, 2] {
            XCTAssertEqual(queue.handle(.stored(hint(id)), now: start), [], "the target is unreachable")
        }
        XCTAssertEqual(queue.handle(.tick, now: later(10)), [])
        XCTAssertEqual(queue.handle(.reachability("n2", reachable: true), now: later(20)), [.deliver(1, target: "n2"), .deliver(2, target: "n2")])
        XCTAssertEqual(queue.handle(.delivered(2), now: later(21)), [.delete(2, target: "n2", .delivered), .deliver(3, target: "n2")])
    }

    func testAHintThatWouldPassTheBytesPerTargetBoundIsRefusedAndOtherTargetsAreUnaffected() {
        var queue = HintQueue(settings: settings(bytes: 250))
        _ = queue.handle(.reachability("n2", reachable: false), now: start)
        XCTAssertTrue(queue.admits(target: "n2", bytes: 100))
        _ = queue.handle(.stored(hint(1, bytes: 100)), now: start)
        _ = queue.handle(.stored(hint(2, bytes: 100)), now: start)
        XCTAssertTrue(queue.admits(target: "n2", bytes: 50), "exactly at the bound fits")
        XCTAssertFalse(queue.admits(target: "n2", bytes: 51))
        XCTAssertTrue(queue.admits(target: "n3", bytes: 250))
        _ = queue.handle(.reachability("n2", reachable: true), now: start)
        _ = queue.handle(.delivered(1), now: start)
        XCTAssertTrue(queue.admits(target: "n2", bytes: 150), "a delivered hint frees its bytes")
    }

    func testFailedDeliveryBacksOffDoublingUpToTheMaximumThenRetries() {
        var queue = HintQueue(settings: settings(inFlight: 1, backoff: 100, backoffMax: 350))
        XCTAssertEqual(queue.handle(.stored(hint(1)), now: start), [.deliver(1, target: "n2")])
        XCTAssertEqual(queue.handle(.deliveryFailed(1), now: start), [])
        XCTAssertEqual(queue.handle(.tick, now: later(99)), [], "first pause: 100 ms")
        XCTAssertEqual(queue.handle(.tick, now: later(100)), [.deliver(1, target: "n2")])
        _ = queue.handle(.deliveryFailed(1), now: later(100))
        XCTAssertEqual(queue.handle(.tick, now: later(299)), [], "second pause: 200 ms")
        XCTAssertEqual(queue.handle(.tick, now: later(300)), [.deliver(1, target: "n2")])
        _ = queue.handle(.deliveryFailed(1), now: later(300))
        XCTAssertEqual(queue.handle(.tick, now: later(649)), [], "third pause: 400 ms capped at 350")
        XCTAssertEqual(queue.handle(.tick, now: later(650)), [.deliver(1, target: "n2")])
        XCTAssertEqual(queue.handle(.deliveryFailed(1), now: later(650)), [])
        XCTAssertEqual(queue.handle(.deliveryFailed(1), now: later(650)), [], "a duplicate failure report does not back off twice")
        XCTAssertEqual(queue.handle(.reachability("n2", reachable: true), now: later(651)), [.deliver(1, target: "n2")], "regained reachability ends the backoff")
    }

    func testFailuresOfOneBatchBackOffOnceNotOncePerHint() {
        var queue = HintQueue(settings: settings(inFlight: 4, backoff: 100, backoffMax: 10_000))
        _ = queue.handle(.reachability("n2", reachable: false), now: start)
        for id: HintID in 1...4 { _ = queue.handle(.stored(hint(id)), now: start) }
        XCTAssertEqual(queue.handle(.reachability("n2", reachable: true), now: start).count, 4)
        for id: HintID in 1...4 { XCTAssertEqual(queue.handle(.deliveryFailed(id), now: start), []) }
        XCTAssertEqual(queue.handle(.tick, now: later(99)), [])
        XCTAssertEqual(queue.handle(.tick, now: later(100)).count, 4, "one outage: 100 ms, not 100 · 2³")
    }

    func testUnansweredDeliveryTimesOutAndALateSuccessStillDeletesTheHint() {
        var queue = HintQueue(settings: settings(inFlight: 1, timeout: 500, backoff: 100))
        _ = queue.handle(.stored(hint(1)), now: start)
        XCTAssertEqual(queue.handle(.tick, now: later(499)), [])
        XCTAssertEqual(queue.handle(.tick, now: later(500)), [], "timed out: back to waiting, backing off")
        XCTAssertEqual(queue.counts(for: "n2").inFlight, 0)
        XCTAssertEqual(queue.handle(.delivered(1), now: later(550)), [.delete(1, target: "n2", .delivered)], "the apply arrived after all")
        XCTAssertEqual(queue.handle(.tick, now: later(700)), [], "nothing is sent again")
    }

    func testHintsOlderThanTheWindowAreDeletedUndelivered() {
        var queue = HintQueue(settings: settings(window: 1_000))
        _ = queue.handle(.reachability("n2", reachable: false), now: start)
        _ = queue.handle(.stored(hint(1, createdMillis: start.wallMillis)), now: start)
        _ = queue.handle(.stored(hint(2, createdMillis: start.wallMillis + 400)), now: later(400))
        XCTAssertEqual(queue.handle(.tick, now: later(999)), [])
        XCTAssertEqual(queue.handle(.tick, now: later(1_000)), [.delete(1, target: "n2", .expired)])
        XCTAssertEqual(queue.counts(for: "n2"), HintQueue.TargetCounts(hints: 1, bytes: 100, inFlight: 0))
        XCTAssertEqual(queue.handle(.tick, now: later(1_400)), [.delete(2, target: "n2", .expired)])
        XCTAssertEqual(queue.hintCount, 0)
    }

    func testRecoveredHintsAreDeliveredAgainPerTargetInIdOrder() {
        var queue = HintQueue(settings: settings(inFlight: 8))
        let hints = [hint(5, "n3"), hint(2, "n2"), hint(4, "n2"), hint(1, "n3")]
        XCTAssertEqual(
            queue.handle(.recovered(hints), now: start),
            [.deliver(2, target: "n2"), .deliver(4, target: "n2"), .deliver(1, target: "n3"), .deliver(5, target: "n3")])
        XCTAssertEqual(queue.countsByTarget.map(\.target), ["n2", "n3"])
        XCTAssertEqual(queue.countsByTarget.map(\.counts.hints), [2, 2])
        XCTAssertEqual(queue.handle(.recovered([hint(5, "n3")]), now: start), [], "a hint fed twice is held once")
        XCTAssertEqual(queue.hintCount, 4)
    }

    func testUnreachableTargetRemembersItsStateWithNoHintsHeld() {
        var queue = HintQueue(settings: settings())
        _ = queue.handle(.reachability("n2", reachable: false), now: start)
        XCTAssertEqual(queue.handle(.stored(hint(1)), now: start), [], "no delivery to a node known unreachable")
    }

    func testManyHintsDrainInOrderThroughTheBoundedWindow() {
        var queue = HintQueue(settings: settings(bytes: 1 << 30, inFlight: 8))
        _ = queue.handle(.reachability("n2", reachable: false), now: start)
        for id in 1...5_000 { _ = queue.handle(.stored(hint(HintID(id), bytes: 10)), now: start) }
        var sent = queue.handle(.reachability("n2", reachable: true), now: start)
        var order: [HintID] = []
        while let action = sent.first {
            sent.removeFirst()
            guard case .deliver(let id, _) = action else { continue }
            order.append(id)
            XCTAssertLessThanOrEqual(queue.counts(for: "n2").inFlight, 8)
            sent += queue.handle(.delivered(id), now: start)
        }
        XCTAssertEqual(order, (1...5_000).map { HintID($0) })
        XCTAssertEqual(queue.hintCount, 0)
    }

    func testSettingsValidateBoundsAndTheTombstoneGraceAgainstTheWindow() {
        XCTAssertNoThrow(try HintQueue.Settings().validate(tombstoneGraceMillis: 10 * 86_400_000))
        XCTAssertThrowsError(try HintQueue.Settings().validate(tombstoneGraceMillis: 3_600_000))
        XCTAssertThrowsError(try HintQueue.Settings(bytesPerTargetMax: 0).validate())
        XCTAssertThrowsError(try HintQueue.Settings(deliveriesInFlightPerTargetMax: 0).validate())
        XCTAssertThrowsError(try HintQueue.Settings(retryBackoffMillis: 10, retryBackoffMaxMillis: 5).validate())
        XCTAssertEqual(HintQueue.Settings().hintWindowMillis, 10_800_000, "3 h, as Cassandra's max_hint_window")
        XCTAssertEqual(HintQueue.Settings().bytesPerTargetMax, 64 << 20)
    }
}
