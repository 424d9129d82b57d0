import XCTest
@testable import TernCore

final class StoredValueVersionTests: XCTestCase {
    let live = item([("pk", .s("k")), ("v", .n(num("1")))])

    func testSuccessorOfNothingStartsTheWritersDot() {
        let first = StoredValue.successor(of: nil, item: live, node: "n1", timestamp: 7 << 16)
        XCTAssertEqual(first.clock, VectorClock(["n1": 7 << 16]))
        XCTAssertEqual(first.writer, "n1")
        XCTAssertEqual(first.timestamp, 7 << 16)
        XCTAssertEqual(first.item, live)
    }

    func testSuccessorKeepsTheOldClockAndAdvancesOnlyTheWriter() {
        let old = StoredValue(item: live, timestamp: 50, clock: VectorClock(["a": 5, "b": 7]), writer: "b")
        // The counter reaches the timestamp when that is higher …
        let atA = StoredValue.successor(of: old, item: nil, node: "a", timestamp: 100)
        XCTAssertEqual(atA.clock, VectorClock(["a": 100, "b": 7]))
        XCTAssertTrue(atA.isTombstone)
        XCTAssertEqual(atA.writer, "a")
        // … and is still one more than before when it is not.
        let atB = StoredValue.successor(of: old, item: live, node: "b", timestamp: 3)
        XCTAssertEqual(atB.clock, VectorClock(["a": 5, "b": 8]))
        XCTAssertEqual(atB.timestamp, 3, "the given HLC timestamp, unchanged")
        let atC = StoredValue.successor(of: old, item: live, node: "c", timestamp: 60)
        XCTAssertEqual(atC.clock, VectorClock(["a": 5, "b": 7, "c": 60]))
        for next in [atA, atB, atC] {
            XCTAssertEqual(next.clock.compare(old.clock), .after)
            XCTAssertEqual(StoredValue.reconcile(old, next), next, "a successor replaces what it descends from")
        }
    }

    /// Today's bug: every write stored `{node: hlc}` without the old clock, so two writes from
    /// different nodes always looked concurrent and the later one could lose to the earlier.
    func testWriteAtAnotherNodeDescendsFromTheVersionItReplaced() {
        let atN1 = StoredValue.successor(of: nil, item: live, node: "n1", timestamp: 900)
        let atN2 = StoredValue.successor(of: atN1, item: nil, node: "n2", timestamp: 500)  // n2's clock lags
        XCTAssertEqual(atN2.clock.compare(atN1.clock), .after)
        XCTAssertEqual(StoredValue.reconcile(atN1, atN2), atN2, "the delete wins although its timestamp is lower")
        XCTAssertEqual(StoredValue.reconcile(atN2, atN1), atN2)
    }

    func testSuccessorSaturatesAtTheLargestCounter() {
        let old = StoredValue(item: live, timestamp: 1, clock: VectorClock(["a": .max]), writer: "a")
        XCTAssertEqual(StoredValue.successor(of: old, item: live, node: "a", timestamp: 2).clock.counter(for: "a"), .max)
    }

    func testReconcileOfConcurrentVersionsIsLastWriterWinsWithMergedClock() {
        let base = StoredValue.successor(of: nil, item: live, node: "a", timestamp: 10)
        let early = StoredValue.successor(of: base, item: item([("v", .s("early"))]), node: "b", timestamp: 20)
        let late = StoredValue.successor(of: base, item: item([("v", .s("late"))]), node: "c", timestamp: 30)
        XCTAssertEqual(early.clock.compare(late.clock), .concurrent)
        let merged = StoredValue.reconcile(early, late)
        XCTAssertEqual(merged.item, late.item)
        XCTAssertEqual(merged.timestamp, 30)
        XCTAssertEqual(merged.writer, "c")
        XCTAssertEqual(merged.clock, VectorClock(["a": 10, "b": 20, "c": 30]))
        XCTAssertTrue(merged.clock.descends(early.clock) && merged.clock.descends(late.clock))
        XCTAssertEqual(StoredValue.reconcile(late, early), merged)
        // Later, the stale concurrent version arriving again changes nothing.
        XCTAssertEqual(StoredValue.reconcile(merged, early), merged)
    }

    func testEqualTimestampsAreSettledByWriterNodeBytes() {
        let a = StoredValue(item: item([("v", .s("from B"))]), timestamp: 5, clock: VectorClock(["B": 5]), writer: "B")
        let b = StoredValue(item: item([("v", .s("from a"))]), timestamp: 5, clock: VectorClock(["a": 5]), writer: "a")
        // "a" (0x61) sorts after "B" (0x42).
        XCTAssertEqual(StoredValue.reconcile(a, b).item, b.item)
        XCTAssertEqual(StoredValue.reconcile(b, a).item, b.item)
        XCTAssertEqual(StoredValue.reconcile(a, b).clock, VectorClock(["B": 5, "a": 5]))
        let unknown = StoredValue(item: nil, timestamp: 5, clock: VectorClock(["z": 1]))
        XCTAssertEqual(StoredValue.reconcile(unknown, a).item, a.item, "an unrecorded writer loses the tie")
    }

    func testEqualClocksWithDifferentContentsPickTheSameVersionEitherWay() {
        let clock = VectorClock(["a": 3])
        let x = StoredValue(item: item([("v", .s("x"))]), timestamp: 3, clock: clock, writer: "a")
        let y = StoredValue(item: item([("v", .s("y"))]), timestamp: 3, clock: clock, writer: "a")
        XCTAssertEqual(StoredValue.reconcile(x, y), StoredValue.reconcile(y, x))
        XCTAssertEqual(StoredValue.reconcile(x, x), x)
        XCTAssertEqual(StoredValue.lastWriterOrder(x, x), 0)
        XCTAssertEqual(StoredValue.lastWriterOrder(x, y), -StoredValue.lastWriterOrder(y, x))
    }

    // MARK: Properties

    func testSuccessorAlwaysStrictlyDescends() {
        var rng = SplitMix64(seed: 0x5_0CC)
        for _ in 0..<2_000 {
            let old: StoredValue? = rng.oneIn(5) ? nil : RandomVersions.value(&rng)
            let next = StoredValue.successor(of: old, item: rng.bool() ? nil : live, node: rng.pick(RandomVersions.nodes), timestamp: rng.next() >> rng.below(64))
            if let old {
                XCTAssertEqual(next.clock.compare(old.clock), old.clock.counter(for: next.writer!) == .max ? .equal : .after)
                XCTAssertTrue(next.clock.descends(old.clock))
            }
            XCTAssertGreaterThan(next.clock.counter(for: next.writer!), 0)
        }
    }

    func testReconcileIsCommutative() {
        var rng = SplitMix64(seed: 0xC0_4417)
        for _ in 0..<3_000 {
            let a = RandomVersions.value(&rng)
            // Sometimes the same clock, so equal-clock ties are exercised too.
            var b = RandomVersions.value(&rng)
            if rng.oneIn(4) { b.clock = a.clock }
            if rng.oneIn(4) { b.timestamp = a.timestamp }
            let ab = StoredValue.reconcile(a, b)
            XCTAssertEqual(ab, StoredValue.reconcile(b, a))
            XCTAssertTrue(ab.clock.descends(a.clock) && ab.clock.descends(b.clock))
            XCTAssertTrue(ab.item == a.item || ab.item == b.item)
            XCTAssertEqual(StoredValue.reconcile(ab, a), ab, "idempotent")
        }
    }

    /// Nodes write successors of whatever version they hold and exchange versions; when all
    /// versions meet, in any grouping and order, replicas converge on one value (the one with the
    /// greatest last-writer order among the latest) whose clock descends from every version.
    func testReplicasConvergeWhateverOrderVersionsMeetIn() {
        var rng = SplitMix64(seed: 0xC0_4E46)
        for _ in 0..<300 {
            let nodes = Array(RandomVersions.nodes.prefix(rng.int(2...4)))
            var held: [String: StoredValue] = [:]
            var clocks: [String: HybridLogicalClock] = [:]
            var all: [StoredValue] = []
            var physical: UInt64 = 1_000
            for _ in 0..<rng.int(1...12) {
                physical += UInt64(rng.int(0...3))
                let node = rng.pick(nodes)
                if rng.oneIn(3), let other = held[rng.pick(nodes)] {
                    // Anti-entropy: the node observes the peer's timestamp and reconciles.
                    var clock = clocks[node] ?? HybridLogicalClock()
                    _ = clock.observe(other.timestamp, physicalMillis: physical)
                    clocks[node] = clock
                    held[node] = held[node].map { StoredValue.reconcile($0, other) } ?? other
                    continue
                }
                var clock = clocks[node] ?? HybridLogicalClock()
                // Skewed wall clocks: each node's physical time is off by its own amount. A write
                // is stamped after observing the version it replaces, as the coordinator does.
                let skew = UInt64(nodes.firstIndex(of: node)! * 7)
                let timestamp = held[node].map { clock.observe($0.timestamp, physicalMillis: physical + skew) }
                    ?? clock.tick(physicalMillis: physical + skew)
                clocks[node] = clock
                let next = StoredValue.successor(of: held[node], item: rng.oneIn(4) ? nil : item([("w", .s("\(node)@\(timestamp)"))]), node: node, timestamp: timestamp)
                held[node] = next
                all.append(next)
            }
            let expected = all.reduce(all[0], StoredValue.reconcile)
            for _ in 0..<5 {
                var shuffled = all
                for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.below(i + 1)) }
                // A random binary tree of reconciles instead of a left fold.
                while shuffled.count > 1 {
                    let i = rng.below(shuffled.count - 1)
                    shuffled[i] = StoredValue.reconcile(shuffled[i], shuffled[i + 1])
                    shuffled.remove(at: i + 1)
                }
                XCTAssertEqual(shuffled[0], expected)
            }
            for version in all { XCTAssertTrue(expected.clock.descends(version.clock)) }
        }
    }
}

final class StoredValueEncodingTests: XCTestCase {
    func testFormat2ExactLayout() {
        let tombstone = StoredValue(item: nil, timestamp: 0x0102_0304_0506_0708, clock: VectorClock(["n": 300]), writer: "n")
        XCTAssertEqual(tombstone.encoded(), [2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 0x6E, 0xAC, 0x02, 1, 1])
        let live = StoredValue(item: item([("a", .null)]), timestamp: 0, clock: VectorClock())
        XCTAssertEqual(live.encoded(), [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0x61, 6])
        let two = StoredValue(item: AttributeMap(), timestamp: 9, clock: VectorClock(["b": 2, "a": 1]), writer: "b")
        XCTAssertEqual(two.encoded(), [2, 0, 0, 0, 0, 0, 0, 0, 0, 9, 2, 1, 0x61, 1, 1, 0x62, 2, 1, 2, 0])
    }

    /// The contract with the compaction filter: whatever the value, bytes 0..<10 are format,
    /// flags (bit 0 = tombstone) and the big-endian HLC timestamp.
    func testHeaderIsFormatFlagsAndBigEndianTimestamp() {
        var rng = SplitMix64(seed: 0x4EAD)
        for _ in 0..<500 {
            let value = RandomVersions.value(&rng)
            let bytes = value.encoded()
            XCTAssertEqual(bytes[0], 2)
            XCTAssertEqual(bytes[1], value.isTombstone ? 1 : 0)
            XCTAssertEqual(bytes[2..<10].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }, value.timestamp)
        }
    }

    func testRoundTrip() throws {
        let clock = VectorClock(["node-b": 3, "node-a": 1, "ñ": UInt64.max])
        var rng = SplitMix64(seed: 0x2_7017)
        var values = [
            StoredValue(item: RandomItems.allTypes, timestamp: 0x0123_4567_89AB_CDEF, clock: clock, writer: "ñ"),
            StoredValue(item: AttributeMap(), timestamp: 0, clock: VectorClock()),
            StoredValue(item: nil, timestamp: UInt64.max, clock: clock, writer: "node-a"),
            StoredValue(item: nil, timestamp: 1, clock: VectorClock()),
        ]
        for _ in 0..<300 { values.append(RandomVersions.value(&rng)) }
        for value in values {
            let bytes = value.encoded()
            let decoded = try StoredValue.decode(bytes)
            XCTAssertEqual(decoded, value)
            XCTAssertEqual(decoded.isTombstone, value.item == nil)
            XCTAssertEqual(decoded.encoded(), bytes)
        }
        for value in values.prefix(4) {
            let bytes = value.encoded()
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try StoredValue.decode(Array(bytes[0..<length])), "prefix \(length)")
            }
            XCTAssertThrowsError(try StoredValue.decode(bytes + [0]), "trailing byte")
            for format: UInt8 in [0, 3, 0xFF] {
                var other = bytes
                other[0] = format
                XCTAssertThrowsError(try StoredValue.decode(other), "unknown format \(format)")
            }
        }
    }

    func testWriterOutsideTheClockIsNotRecorded() throws {
        let value = StoredValue(item: nil, timestamp: 1, clock: VectorClock(["a": 1]), writer: "b")
        XCTAssertNil(try StoredValue.decode(value.encoded()).writer)
    }

    func testNonCanonicalOrFutureFormat2IsRejected() {
        let header: [UInt8] = [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let emptyItem: [UInt8] = [0]
        XCTAssertNoThrow(try StoredValue.decode(header + [0, 1, 0] + emptyItem))
        let bad: [(String, [UInt8])] = [
            ("unknown flag bit", [2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0] + emptyItem),
            ("nodes out of order", header + [2, 1, 0x62, 1, 1, 0x61, 1, 1, 0] + emptyItem),
            ("repeated node", header + [2, 1, 0x61, 1, 1, 0x61, 2, 1, 0] + emptyItem),
            ("zero counter", header + [1, 1, 0x61, 0, 1, 0] + emptyItem),
            ("no sibling", header + [0, 0]),
            ("two siblings", header + [0, 2, 0] + emptyItem + [0] + emptyItem),
            ("writer beyond the clock", header + [1, 1, 0x61, 1, 1, 2] + emptyItem),
            ("invalid UTF-8 node", header + [1, 1, 0xFF, 1, 1, 0] + emptyItem),
            ("item in a tombstone", [2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0] + emptyItem),
        ]
        for (what, bytes) in bad {
            XCTAssertThrowsError(try StoredValue.decode(bytes), what)
        }
    }

    /// Values written by the code before format 2 (format 1), captured as hex from its encoder.
    /// Data directories written by it must still open.
    func testFormat1ValuesWrittenBeforeVersionsStillDecode() throws {
        let timestamp: UInt64 = (1_764_806_400_123 << 16) + 2
        let liveHex = "0100019ae6a8987b000201026e318280ecc389d5b9cd01090162030300ff100262730b02010102020304666c616705016c0803010178020102021506016d0701016b04016e020004041999026e730a020002011000ca01011002706b01067573657223310273730902016102c3a9"
        let tombstoneHex = "0101019ae6a8987b000301026e318380ecc389d5b9cd01"
        let emptyHex = "0100000000000005000001066e6f64652d3780801400"
        let expectedLive = item([
            ("b", .b([0x00, 0xFF, 0x10])),
            ("bs", .bs([[0x01], [0x02, 0x03]])),
            ("flag", .bool(true)),
            ("l", .l([.s("x"), .n(num("-1.5")), .null])),
            ("m", .m(item([("k", .bool(false))]))),
            ("n", .n(num("19.99"))),
            ("ns", .ns([num("1"), num("1e100")])),
            ("pk", .s("user#1")),
            ("ss", .ss(["a", "é"])),
        ])
        let cases: [(String, StoredValue)] = [
            (liveHex, StoredValue(item: expectedLive, timestamp: timestamp, clock: VectorClock(["n1": timestamp]), writer: "n1")),
            (tombstoneHex, StoredValue(item: nil, timestamp: timestamp + 1, clock: VectorClock(["n1": timestamp + 1]), writer: "n1")),
            (emptyHex, StoredValue(item: AttributeMap(), timestamp: 5 << 16, clock: VectorClock(["node-7": 5 << 16]), writer: "node-7")),
        ]
        for (hexText, expected) in cases {
            let bytes = fromHex(hexText)
            XCTAssertEqual(bytes[0], StoredValue.legacyFormatVersion)
            let decoded = try StoredValue.decode(bytes)
            XCTAssertEqual(decoded, expected)
            // Rewritten in format 2, it reads back the same; the next write descends from it.
            XCTAssertEqual(try StoredValue.decode(decoded.encoded()), expected)
            let next = StoredValue.successor(of: decoded, item: nil, node: "n1", timestamp: timestamp + 10)
            XCTAssertEqual(next.clock.compare(decoded.clock), .after)
        }
        XCTAssertEqual(try StoredValue.decode(fromHex(tombstoneHex)).isTombstone, true)
    }

    func testFormat1EdgeCasesDecodeAsTheOldCodeDid() throws {
        // Clock entries in any order, a repeated node keeping its last counter, a zero counter.
        let bytes: [UInt8] = [1, 1, 0, 0, 0, 0, 0, 0, 0, 9, 4, 1, 0x62, 2, 1, 0x61, 1, 1, 0x62, 3, 1, 0x63, 0]
        let value = try StoredValue.decode(bytes)
        XCTAssertEqual(value, StoredValue(item: nil, timestamp: 9, clock: VectorClock(["a": 1, "b": 3])))
        XCTAssertNil(value.writer, "two nodes: the writer is unknown")
        // Format 1 read any flag byte but 1 as live.
        XCTAssertEqual(try StoredValue.decode([1, 2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0]).item, AttributeMap())
    }

    func testMutationsNeverTrap() {
        var rng = SplitMix64(seed: 0x5_7012)
        for _ in 0..<2_000 {
            var bytes = RandomVersions.value(&rng).encoded()
            if rng.oneIn(3) { bytes[0] = 1 }
            bytes[rng.below(bytes.count)] = rng.byte()
            if rng.bool() { bytes.removeLast(rng.below(bytes.count)) }
            if let decoded = try? StoredValue.decode(bytes) {
                XCTAssertEqual(try StoredValue.decode(decoded.encoded()).clock, decoded.clock)
            }
        }
    }

    func fromHex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}

/// Seeded random versions for the property tests.
enum RandomVersions {
    static let nodes = ["n1", "n2", "n-0a1b2c3d4e5f", "Z", "é"]

    static func clock(_ rng: inout SplitMix64) -> VectorClock {
        var pairs: [String: UInt64] = [:]
        for node in nodes where rng.oneIn(2) {
            pairs[node] = rng.oneIn(8) ? rng.next() : UInt64(rng.int(1...6))
        }
        return VectorClock(pairs)
    }

    static func value(_ rng: inout SplitMix64) -> StoredValue {
        let clock = clock(&rng)
        let writer = clock.entries.isEmpty || rng.oneIn(6) ? nil : rng.pick(clock.entries).node
        let item: Item? = rng.oneIn(4) ? nil : (rng.oneIn(3) ? RandomItems.map(&rng) : AttributeMap([("v", .n(DynamoNumber(Int(rng.below(4)))))]))
        return StoredValue(item: item, timestamp: rng.oneIn(3) ? UInt64(rng.below(4)) : rng.next(), clock: clock, writer: writer)
    }
}
