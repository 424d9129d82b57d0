import TernCore
import XCTest

@testable import TernCluster

/// Range reads of one slice: replica pages in, one merged page out (no I/O, no sleeps).
final class RangeRoundTests: XCTestCase {
    func request(reverse: Bool = false, maxItems: Int = 100, tombstonesMax: Int = 100) -> RangeRead {
        RangeRead(start: [0], end: [200], reverse: reverse, maxItems: maxItems, maxBytes: 1 << 20, tombstonesMax: tombstonesMax)
    }

    /// Version `counter` of key `key`, written by `writer`: higher counters of one writer descend.
    func version(_ key: UInt8, _ text: String?, _ counter: UInt64, writer: String = "n1") -> ReplicaPage.Entry {
        let item = text.map { Item([("pk", .s("k\(key)")), ("v", .s($0))]) }
        return ReplicaPage.Entry(key: [key], value: StoredValue(item: item, timestamp: counter << 16, clock: VectorClock([writer: counter]), writer: writer))
    }

    func page(_ entries: [ReplicaPage.Entry], exhausted: Bool) -> RangeReadResult {
        .page(ReplicaPage(entries: entries, exhausted: exhausted))
    }

    func mergedKeys(_ outcome: RangeRound.Outcome?) -> [UInt8] {
        guard case .page(let page)? = outcome else { return [] }
        return page.entries.map { $0.key[0] }
    }

    func testMergedPageEndsAtTheLeastAdvancedReplicaSoNoKeyIsSkipped() {
        var round = RangeRound(request: request(), candidates: ["a", "b"], quorum: 2)
        // a holds the odd keys, b the even ones; each stopped after three.
        XCTAssertNil(round.handle("a", page([version(1, "x", 1), version(3, "x", 1), version(5, "x", 1)], exhausted: false)))
        let outcome = round.handle("b", page([version(2, "x", 1), version(4, "x", 1), version(6, "x", 1)], exhausted: false))
        XCTAssertEqual(mergedKeys(outcome), [1, 2, 3, 4, 5], "6 lies beyond a's position: a might hold keys before it")
        guard case .page(let merged)? = outcome else { return XCTFail("\(String(describing: outcome))") }
        XCTAssertFalse(merged.exhausted)
        XCTAssertEqual(Set(round.repairs.map { "\($0.replica)\($0.key[0])" }), ["b1", "a2", "b3", "a4", "b5"], "each replica lacked the other's keys")
    }

    func testReverseMergeEndsAtTheHighestPosition() {
        var round = RangeRound(request: request(reverse: true), candidates: ["a", "b"], quorum: 2)
        _ = round.handle("a", page([version(9, "x", 1), version(7, "x", 1)], exhausted: false))
        let outcome = round.handle("b", page([version(8, "x", 1), version(3, "x", 1)], exhausted: false))
        XCTAssertEqual(mergedKeys(outcome), [9, 8, 7])
    }

    func testNewestVersionWinsAndAStaleReplicaIsRepaired() {
        var round = RangeRound(request: request(), candidates: ["a", "b"], quorum: 2)
        _ = round.handle("a", page([version(1, "old", 1), version(2, "live", 1)], exhausted: true))
        let outcome = round.handle("b", page([version(1, "new", 2), version(2, nil, 2)], exhausted: true))
        guard case .page(let merged)? = outcome else { return XCTFail("\(String(describing: outcome))") }
        XCTAssertEqual(merged.entries.map { $0.value.item?["v"] }, [.s("new"), nil], "the newer write and the newer delete win")
        XCTAssertTrue(merged.exhausted)
        XCTAssertEqual(round.repairs.map(\.replica), ["a", "a"])
    }

    func testMergedPageHonoursTheItemLimitAndReportsWhatIsLeft() {
        var round = RangeRound(request: request(maxItems: 2), candidates: ["a", "b"], quorum: 2)
        _ = round.handle("a", page([version(1, "x", 1), version(3, "x", 1)], exhausted: true))
        let outcome = round.handle("b", page([version(2, "x", 1)], exhausted: true))
        guard case .page(let merged)? = outcome else { return XCTFail("\(String(describing: outcome))") }
        XCTAssertEqual(merged.entries.map { $0.key[0] }, [1, 2])
        XCTAssertFalse(merged.exhausted, "key 3 is still to come")
    }

    func testAFailedReplicaIsReplacedByTheNextCandidate() {
        var round = RangeRound(request: request(), candidates: ["a", "b", "c"], quorum: 1)
        XCTAssertEqual(round.replicas, ["a"])
        XCTAssertNil(round.handle("a", .failed(.unavailable("down"))))
        XCTAssertEqual(round.pendingAsk, "b")
        XCTAssertNil(round.handle("b", .failed(.overloaded)))
        XCTAssertEqual(round.pendingAsk, "c")
        XCTAssertEqual(mergedKeys(round.handle("c", page([version(4, "x", 1)], exhausted: true))), [4])
    }

    func testAMalformedPageCountsAsAFailure() {
        var round = RangeRound(request: request(), candidates: ["a", "b"], quorum: 1)
        XCTAssertNil(round.handle("a", page([version(5, "x", 1), version(4, "x", 1)], exhausted: true)), "keys out of order")
        XCTAssertEqual(round.pendingAsk, "b")
        var outside = RangeRound(request: request(), candidates: ["a"], quorum: 1)
        XCTAssertEqual(outside.handle("a", page([version(250, "x", 1)], exhausted: true)), .failed(.unavailable("a answered with a malformed range page")))
        var empty = RangeRound(request: request(), candidates: ["a"], quorum: 1)
        guard case .failed? = empty.handle("a", page([], exhausted: false)) else { return XCTFail("an unfinished page without entries is refused") }
    }

    func testQuorumNotReachedFailsAndTooFewCandidatesFailBeforeAsking() {
        var round = RangeRound(request: request(), candidates: ["a", "b"], quorum: 2)
        XCTAssertNil(round.outcomeBeforeAsking)
        XCTAssertEqual(round.handle("a", .failed(.wouldBlock)), .failed(.unavailable("a could not read the range")))
        XCTAssertNil(round.handle("b", page([], exhausted: true)), "decided already")
        let short = RangeRound(request: request(), candidates: ["a"], quorum: 2)
        XCTAssertEqual(short.outcomeBeforeAsking, .failed(.unavailable("1 of 2 replicas reachable")))
    }

    func testCandidatesPutThisNodeFirstAndSkipUnreachableReplicas() {
        XCTAssertEqual(RangeRound.candidates(preference: ["a", "b", "c"], local: "c", reachable: { $0 != "a" }), ["c", "b"])
        XCTAssertEqual(RangeRound.candidates(preference: ["a", "b", "c"], local: "d", reachable: { _ in true }), ["a", "b", "c"])
    }
}
