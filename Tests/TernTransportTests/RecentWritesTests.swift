import TernCore
import XCTest

@testable import TernTransport

/// What a replica wrote last, remembered so that the next write or read of the key skips the
/// storage read; never what storage no longer holds.
final class RecentWritesTests: XCTestCase {
    func key(_ tableId: UInt32, _ text: String) -> [UInt8] { KeyEncoding.tablePrefix(tableId) + Array(text.utf8) }

    func version(_ text: String, _ timestamp: UInt64) -> StoredValue {
        StoredValue(item: Item([("pk", .s(text))]), timestamp: timestamp, clock: VectorClock(["n1": timestamp]), writer: "n1")
    }

    func testOnAClusterOfOneADurableWriteIsRememberedAndAFailedOneForgotten() {
        let recent = RecentWrites(writesMayOverlap: false)
        let k = key(7, "a")
        XCTAssertNil(recent.lookup(k), "nothing written: not known, read from storage")
        recent.begin(k)
        recent.end(k, value: version("x", 1), durable: true)
        XCTAssertEqual(recent.lookup(k), version("x", 1))
        recent.begin(k)
        recent.end(k, value: version("y", 2), durable: true)
        XCTAssertEqual(recent.lookup(k), version("y", 2), "the last durable write wins")
        recent.begin(k)
        recent.end(k, value: version("z", 3), durable: false)
        XCTAssertNil(recent.lookup(k), "a failed write may or may not be stored: the key is read from storage again")
        let tombstone = StoredValue(item: nil, timestamp: 4, clock: VectorClock(["n1": 4]), writer: "n1")
        recent.begin(k)
        recent.end(k, value: tombstone, durable: true)
        XCTAssertEqual(recent.lookup(k), tombstone, "a delete is remembered as its tombstone")
        XCTAssertEqual(recent.count, 1)
    }

    func testOverlappingLocalWritesOfAKeyLeaveItUnknownUntilAWriteRunsAlone() {
        let recent = RecentWrites(writesMayOverlap: true)
        let k = key(7, "a")
        recent.begin(k)
        recent.end(k, value: version("v1", 1), durable: true)
        XCTAssertEqual(recent.lookup(k), version("v1", 1))
        recent.begin(k)
        XCTAssertNil(recent.lookup(k), "unknown while a write of the key is in flight")
        // A second write of the key before the first is durable (a W < N write released the key's
        // lock early): the group commit decides which one storage keeps, not the order they end in.
        recent.begin(k)
        recent.end(k, value: version("v3", 3), durable: true)
        XCTAssertNil(recent.lookup(k))
        recent.end(k, value: version("v2", 2), durable: true)
        XCTAssertNil(recent.lookup(k), "two writes overlapped: neither is remembered")
        recent.begin(k)
        recent.end(k, value: version("v4", 4), durable: true)
        XCTAssertEqual(recent.lookup(k), version("v4", 4), "a write alone is remembered again")
        let other = key(7, "b")
        recent.end(other, value: version("b", 5), durable: true)
        XCTAssertNil(recent.lookup(other), "an end without its begin records nothing")
    }

    func testTheBoundsEvictIdleEntriesButNotTheOneJustWritten() {
        let recent = RecentWrites(writesMayOverlap: false, entriesMax: 2, bytesMax: 1 << 20)
        for name in ["a", "b", "c", "d"] {
            recent.begin(key(7, name))
            recent.end(key(7, name), value: version(name, 1), durable: true)
            XCTAssertEqual(recent.lookup(key(7, name)), version(name, 1))
        }
        XCTAssertEqual(recent.count, 2)
        XCTAssertNil(recent.lookup(key(7, "a")), "first in, first out")
        XCTAssertNil(recent.lookup(key(7, "b")))
        XCTAssertNotNil(recent.lookup(key(7, "c")))

        // Many more keys than the bound: each write evicts in constant time (a bulk load of a
        // 200k-item table must not slow down as the dictionary's front empties).
        let bulk = RecentWrites(writesMayOverlap: false, entriesMax: 1_000, bytesMax: 1 << 30)
        for index in 0..<200_000 {
            bulk.end(key(9, "k\(index)"), value: version("v", 1), durable: true)
        }
        XCTAssertEqual(bulk.count, 1_000)
        XCTAssertNotNil(bulk.lookup(key(9, "k199999")))
        XCTAssertNil(bulk.lookup(key(9, "k198999")))

        let one = RecentWrites.cost(key: key(7, "a"), value: version("a", 1))
        let bytes = RecentWrites(writesMayOverlap: false, entriesMax: 100, bytesMax: 2 * one)
        for name in ["a", "b", "c"] {
            bytes.end(key(7, name), value: version(name, 1), durable: true)
        }
        XCTAssertEqual(bytes.count, 2, "the byte bound holds two such entries")
        XCTAssertNotNil(bytes.lookup(key(7, "c")))
        let big = StoredValue(item: Item([("pk", .s(String(repeating: "x", count: one)))]), timestamp: 2, clock: VectorClock(["n1": 2]))
        bytes.end(key(7, "big"), value: big, durable: true)
        XCTAssertNil(bytes.lookup(key(7, "big")), "a version larger than the whole bound is not kept")
        XCTAssertNotNil(bytes.lookup(key(7, "c")), "and evicts nothing")
    }

    func testDeleteTableForgetsThatTablesEntriesOnly() {
        let recent = RecentWrites(writesMayOverlap: false)
        for tableId: UInt32 in [7, 8] {
            recent.end(key(tableId, "a"), value: version("a", 1), durable: true)
        }
        recent.forgetTable(7)
        XCTAssertNil(recent.lookup(key(7, "a")))
        XCTAssertEqual(recent.lookup(key(8, "a")), version("a", 1))

        // In a cluster a local write can outlive its operation, and so the fence: it records nothing.
        let cluster = RecentWrites(writesMayOverlap: true)
        cluster.begin(key(7, "b"))
        cluster.forgetTable(7)
        cluster.end(key(7, "b"), value: version("b", 2), durable: true)
        XCTAssertNil(cluster.lookup(key(7, "b")))
        XCTAssertEqual(cluster.count, 0)
    }
}
