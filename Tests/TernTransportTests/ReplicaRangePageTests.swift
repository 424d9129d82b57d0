import TernCluster
import TernCore
import TernStorage
import XCTest

@testable import TernTransport

/// A replica's page of a range read (what it answers to message kind 7): bounded in bytes
/// whatever the limits a peer asks for, tombstones included with their versions.
final class ReplicaRangePageTests: XCTestCase {
    let prefix = KeyEncoding.tablePrefix(3)

    func key(_ index: Int, padding: Int = 0) -> [UInt8] {
        prefix + [0, 0, 0, 0, 0, 0, 0, UInt8(index)] + [UInt8](repeating: 7, count: padding)
    }

    func value(_ item: Item?) -> StoredValue {
        StoredValue(item: item, timestamp: 1 << 16, clock: VectorClock(["n1": 1]), writer: "n1")
    }

    func fill(_ entries: [([UInt8], StoredValue)]) async throws -> InMemoryStorage {
        let storage = InMemoryStorage()
        var batch = WriteBatch()
        for (key, value) in entries { batch.put(key, value.encoded()) }
        try await storage.write(batch)
        return storage
    }

    func unbounded(reverse: Bool = false) -> RangeRead {
        RangeRead(start: prefix, end: KeyEncoding.tableEnd(3), reverse: reverse, maxItems: Int.max, maxBytes: Int.max, tombstonesMax: Int.max)
    }

    func testAPageOfLargeItemsEndsNearTheReplyBoundWhateverTheLimitsAsk() async throws {
        let big = String(repeating: "x", count: 300_000)
        let storage = try await fill((0..<20).map { (key($0), value(Item([("pk", .s("k\($0)")), ("v", .s(big))]))) })
        let page = try CoordinatorShell.replicaPage(storage, unbounded())
        XCTAssertFalse(page.exhausted)
        let encoded = ReplicaMessage.readRangeReply(.page(page)).encoded().count
        XCTAssertGreaterThanOrEqual(encoded, RangeRead.replyBytesMax)
        XCTAssertLessThan(encoded, RangeRead.replyBytesMax + 310_000, "at most one entry beyond the bound")
        XCTAssertEqual(page.entries.count, 7)
    }

    func testAPageOfTombstonesWithLongKeysIsBoundedAndKeepsTheirVersions() async throws {
        let storage = try await fill((0..<250).flatMap { index in
            (0..<4).map { copy in (key(index, padding: 3_000 + copy), value(nil)) }
        })
        let page = try CoordinatorShell.replicaPage(storage, unbounded(reverse: true))
        XCTAssertFalse(page.exhausted)
        XCTAssertLessThan(ReplicaMessage.readRangeReply(.page(page)).encoded().count, RangeRead.replyBytesMax + 4_000)
        XCTAssertTrue(page.entries.allSatisfy { $0.value == value(nil) }, "tombstones travel with their versions")
        XCTAssertTrue(page.isWellFormed(for: unbounded(reverse: true)), "in descending order")
    }

    func testAPageWithinTheLimitsIsExhaustedAndAPageCutAtTheLimitIsNot() async throws {
        let storage = try await fill((0..<5).map { (key($0), value($0 == 2 ? nil : Item([("pk", .s("k\($0)"))]))) })
        var request = unbounded()
        XCTAssertEqual(try CoordinatorShell.replicaPage(storage, request).entries.count, 5)
        XCTAssertTrue(try CoordinatorShell.replicaPage(storage, request).exhausted)
        request.maxItems = 2
        let cut = try CoordinatorShell.replicaPage(storage, request)
        XCTAssertEqual(cut.entries.map { $0.key }, [key(0), key(1)])
        XCTAssertFalse(cut.exhausted)
        request.maxItems = 4
        let last = try CoordinatorShell.replicaPage(storage, request)
        XCTAssertEqual(last.entries.count, 5, "four items and the tombstone between them")
        XCTAssertTrue(last.exhausted, "nothing follows the fourth item")
    }
}
