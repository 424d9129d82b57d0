import Foundation
import XCTest
@testable import TernCore

final class VectorClockTests: XCTestCase {
    func testEmptyAndCounters() {
        let empty = VectorClock()
        XCTAssertTrue(empty.entries.isEmpty)
        XCTAssertEqual(empty.counter(for: "a"), 0)
        let clock = VectorClock(["b": 2, "a": 5, "c": 1])
        XCTAssertEqual(clock.entries.map(\.node), ["a", "b", "c"], "sorted by node id")
        XCTAssertEqual(clock.counter(for: "a"), 5)
        XCTAssertEqual(clock.counter(for: "zzz"), 0)
    }

    func testEntriesSortedByUTF8Bytes() {
        let clock = VectorClock(["é": 1, "z": 1, "Z": 1, "a": 1, "😀": 1, "aa": 1])
        XCTAssertEqual(clock.entries.map(\.node), ["Z", "a", "aa", "z", "é", "😀"])
        let grown = VectorClock().incremented(for: "😀").incremented(for: "é").incremented(for: "aa").incremented(for: "a").incremented(for: "z").incremented(for: "Z")
        XCTAssertEqual(grown.entries.map(\.node), clock.entries.map(\.node))
        XCTAssertEqual(grown, clock)
    }

    func testIncremented() {
        let a1 = VectorClock().incremented(for: "a")
        XCTAssertEqual(a1.counter(for: "a"), 1)
        let a2 = a1.incremented(for: "a")
        XCTAssertEqual(a2.counter(for: "a"), 2)
        XCTAssertEqual(a1.counter(for: "a"), 1, "incremented returns a copy")
        let a2b1 = a2.incremented(for: "b")
        XCTAssertEqual(a2b1, VectorClock(["a": 2, "b": 1]))
    }

    func testCompare() {
        let base = VectorClock(["a": 1, "b": 1])
        XCTAssertEqual(base.compare(base), .equal)
        XCTAssertEqual(VectorClock().compare(VectorClock()), .equal)
        XCTAssertEqual(base.compare(base.incremented(for: "a")), .before)
        XCTAssertEqual(base.incremented(for: "a").compare(base), .after)
        XCTAssertEqual(base.compare(base.incremented(for: "c")), .before, "a new node counts as zero before")
        XCTAssertEqual(base.incremented(for: "a").compare(base.incremented(for: "b")), .concurrent)
        XCTAssertEqual(VectorClock(["a": 1]).compare(VectorClock(["b": 1])), .concurrent)
        XCTAssertEqual(VectorClock().compare(VectorClock(["x": 1])), .before)
        XCTAssertEqual(VectorClock(["a": 0]).compare(VectorClock()), .equal, "a zero counter is the same as a missing one")
    }

    func testCompareIsConsistentOnRandomHistories() {
        var rng = SplitMix64(seed: 0xC10C)
        let nodes = ["n1", "n2", "n3"]
        for _ in 0..<500 {
            var x = VectorClock()
            for _ in 0..<rng.below(4) { x = x.incremented(for: rng.pick(nodes)) }
            var y = x
            var z = x
            for _ in 0..<rng.below(4) { y = y.incremented(for: rng.pick(nodes)) }
            for _ in 0..<rng.below(4) { z = z.incremented(for: rng.pick(nodes)) }
            // Descendants come after their ancestor.
            XCTAssertTrue([.after, .equal].contains(y.compare(x)))
            XCTAssertTrue([.before, .equal].contains(x.compare(y)))
            // The relation is antisymmetric.
            let yz = y.compare(z)
            let zy = z.compare(y)
            switch yz {
            case .equal: XCTAssertEqual(zy, .equal)
            case .before: XCTAssertEqual(zy, .after)
            case .after: XCTAssertEqual(zy, .before)
            case .concurrent: XCTAssertEqual(zy, .concurrent)
            }
            // Against the pointwise definition.
            let le = nodes.allSatisfy { y.counter(for: $0) <= z.counter(for: $0) }
            let ge = nodes.allSatisfy { y.counter(for: $0) >= z.counter(for: $0) }
            let expected: VectorClock.Relation = le && ge ? .equal : le ? .before : ge ? .after : .concurrent
            XCTAssertEqual(yz, expected)
        }
    }
}

extension VectorClockTests {
    func testZeroCountersAreDroppedSoEqualClocksAreEqual() {
        XCTAssertEqual(VectorClock(["a": 0]), VectorClock())
        XCTAssertEqual(VectorClock(["a": 0, "b": 2]).entries.map(\.node), ["b"])
        XCTAssertEqual(VectorClock().advanced(for: "a", atLeast: 0), VectorClock())
    }

    func testMergedIsThePointwiseMaximum() {
        let a = VectorClock(["a": 3, "b": 1])
        let b = VectorClock(["b": 4, "c": 2])
        XCTAssertEqual(a.merged(with: b), VectorClock(["a": 3, "b": 4, "c": 2]))
        XCTAssertEqual(a.merged(with: VectorClock()), a)
        XCTAssertEqual(VectorClock().merged(with: b), b)
        XCTAssertEqual(a.merged(with: b).compare(a), .after)
        XCTAssertEqual(a.merged(with: a.incremented(for: "a")), a.incremented(for: "a"))
    }

    func testDescendsMeansEqualOrAfter() {
        let base = VectorClock(["a": 1])
        XCTAssertTrue(base.descends(base))
        XCTAssertTrue(base.incremented(for: "b").descends(base))
        XCTAssertFalse(base.descends(base.incremented(for: "b")))
        XCTAssertFalse(VectorClock(["a": 2]).descends(VectorClock(["b": 1])))
        XCTAssertTrue(base.descends(VectorClock()))
        XCTAssertFalse(VectorClock().descends(base))
    }

    func testAdvancedRaisesOnlyUpward() {
        let clock = VectorClock(["a": 5])
        XCTAssertEqual(clock.advanced(for: "a", atLeast: 9), VectorClock(["a": 9]))
        XCTAssertEqual(clock.advanced(for: "a", atLeast: 2), clock)
        XCTAssertEqual(clock.advanced(for: "0", atLeast: 2).entries.map(\.node), ["0", "a"])
        XCTAssertEqual(VectorClock(["a": .max]).incremented(for: "a").counter(for: "a"), .max, "saturates, never traps")
    }

    /// Node ids are compared as bytes: two spellings of "é" that Swift's `==` calls equal are two
    /// different nodes, as they are in every encoding.
    func testNodesAreComparedAsBytesNotAsUnicodeEquivalents() {
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        XCTAssertEqual(composed, decomposed, "Swift's String == is Unicode equivalence")
        let clock = VectorClock().incremented(for: composed).incremented(for: decomposed).incremented(for: decomposed)
        XCTAssertEqual(clock.entries.count, 2)
        XCTAssertEqual(clock.entries.map { Array($0.node.utf8) }, [Array(decomposed.utf8), Array(composed.utf8)])
        XCTAssertEqual(clock.counter(for: composed), 1)
        XCTAssertEqual(clock.counter(for: decomposed), 2)
        XCTAssertEqual(VectorClock().incremented(for: composed).compare(VectorClock().incremented(for: decomposed)), .concurrent)
    }

    func testMergeIsCommutativeAssociativeAndIdempotent() {
        var rng = SplitMix64(seed: 0x3E46E)
        for _ in 0..<2_000 {
            let a = randomClock(&rng)
            let b = randomClock(&rng)
            let c = randomClock(&rng)
            let ab = a.merged(with: b)
            XCTAssertEqual(ab, b.merged(with: a))
            XCTAssertEqual(ab.merged(with: c), a.merged(with: b.merged(with: c)))
            XCTAssertEqual(a.merged(with: a), a)
            XCTAssertTrue(ab.descends(a) && ab.descends(b))
            for node in Self.nodes {
                XCTAssertEqual(ab.counter(for: node), max(a.counter(for: node), b.counter(for: node)))
            }
            // Canonical: sorted by bytes, no zero counters.
            XCTAssertEqual(ab.entries, ab.entries.sorted { $0.node.utf8.lexicographicallyPrecedes($1.node.utf8) })
            XCTAssertFalse(ab.entries.contains { $0.counter == 0 })
        }
    }

    /// Independent clocks over different node sets, against the pointwise definition.
    func testCompareMatchesThePointwiseDefinition() {
        var rng = SplitMix64(seed: 0xC0_3FA2E)
        for _ in 0..<3_000 {
            let x = randomClock(&rng)
            let y = rng.oneIn(4) ? x : (rng.oneIn(3) ? x.merged(with: randomClock(&rng)) : randomClock(&rng))
            let le = Self.nodes.allSatisfy { x.counter(for: $0) <= y.counter(for: $0) }
            let ge = Self.nodes.allSatisfy { x.counter(for: $0) >= y.counter(for: $0) }
            let expected: VectorClock.Relation = le && ge ? .equal : le ? .before : ge ? .after : .concurrent
            XCTAssertEqual(x.compare(y), expected, "\(x) vs \(y)")
            XCTAssertEqual(x.descends(y), ge)
            XCTAssertEqual(x == y, expected == .equal)
        }
    }

    static let nodes = ["n1", "n2", "n10", "Z", "é", "e\u{301}", "😀"]

    func randomClock(_ rng: inout SplitMix64) -> VectorClock {
        var clock = VectorClock()
        for node in Self.nodes where rng.oneIn(2) {
            clock = clock.advanced(for: node, atLeast: rng.oneIn(10) ? rng.next() : UInt64(rng.below(4)))
        }
        return clock
    }
}

final class HybridLogicalClockTests: XCTestCase {
    func testTickUsesPhysicalTimeInHighBits() {
        var clock = HybridLogicalClock()
        XCTAssertEqual(clock.last, 0)
        XCTAssertEqual(clock.tick(physicalMillis: 1_000), 1_000 << 16)
        XCTAssertEqual(clock.tick(physicalMillis: 1_001), 1_001 << 16)
        XCTAssertEqual(clock.last, 1_001 << 16)
    }

    func testSameMillisecondAdvancesLogicalCounter() {
        var clock = HybridLogicalClock()
        let first = clock.tick(physicalMillis: 5)
        let second = clock.tick(physicalMillis: 5)
        let third = clock.tick(physicalMillis: 5)
        XCTAssertEqual([first, second, third], [5 << 16, (5 << 16) + 1, (5 << 16) + 2])
        XCTAssertEqual(third >> 16, 5, "still close to physical time")
    }

    func testMonotonicWhenPhysicalTimeGoesBackwards() {
        var clock = HybridLogicalClock()
        let t1 = clock.tick(physicalMillis: 10_000)
        let t2 = clock.tick(physicalMillis: 9_000)
        let t3 = clock.tick(physicalMillis: 0)
        XCTAssertGreaterThan(t2, t1)
        XCTAssertGreaterThan(t3, t2)
        XCTAssertEqual(t3 >> 16, 10_000, "stays at the highest physical time seen")
        let t4 = clock.tick(physicalMillis: 10_001)
        XCTAssertEqual(t4, 10_001 << 16, "catches up with physical time again")
    }

    func testObserve() {
        var clock = HybridLogicalClock()
        _ = clock.tick(physicalMillis: 100)
        // A remote timestamp ahead of us pulls the clock past it.
        let remote: UInt64 = (500 << 16) + 7
        XCTAssertEqual(clock.observe(remote, physicalMillis: 100), remote + 1)
        XCTAssertGreaterThan(clock.tick(physicalMillis: 100), remote + 1)
        // A remote timestamp behind us still advances the clock.
        let before = clock.last
        XCTAssertEqual(clock.observe(3, physicalMillis: 0), before + 1)
        // Physical time far ahead wins.
        XCTAssertEqual(clock.observe(remote, physicalMillis: 1_000), 1_000 << 16)
        XCTAssertEqual(HybridLogicalClock(last: 42).last, 42)
    }

    func testRandomMonotonicity() {
        var rng = SplitMix64(seed: 0x411C)
        var clock = HybridLogicalClock()
        var previous: UInt64 = 0
        var physical: UInt64 = 1_700_000_000_000
        for _ in 0..<10_000 {
            physical = UInt64(Int64(physical) + Int64(rng.int(-50...60)))
            let next: UInt64
            if rng.oneIn(3) {
                let remote = (UInt64(Int64(physical) + Int64(rng.int(-100...100))) << 16) + UInt64(rng.below(100))
                next = clock.observe(remote, physicalMillis: physical)
                XCTAssertGreaterThan(next, remote)
            } else {
                next = clock.tick(physicalMillis: physical)
            }
            XCTAssertGreaterThan(next, previous)
            XCTAssertGreaterThanOrEqual(next, physical << 16, "never behind physical time")
            previous = next
        }
    }
}

final class CRC32Tests: XCTestCase {
    func testCheckValues() {
        XCTAssertEqual(CRC32.checksum(utf8("123456789")), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(utf8("a")), 0xE8B7_BE43)
        XCTAssertEqual(CRC32.checksum(utf8("The quick brown fox jumps over the lazy dog")), 0x414F_A339)
        XCTAssertEqual(CRC32.checksum([UInt8](repeating: 0, count: 32)), 0x190A_55AD)
        XCTAssertEqual(CRC32.checksum([UInt8](repeating: 0xFF, count: 32)), 0xFF6C_AB0B)
    }

    func testMatchesBitwiseReference() {
        func reference(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        var rng = SplitMix64(seed: 0xC4C)
        for _ in 0..<500 {
            let bytes = rng.bytes(rng.below(100))
            XCTAssertEqual(CRC32.checksum(bytes), reference(bytes), "length \(bytes.count)")
            XCTAssertEqual(CRC32.checksum(bytes[...]), reference(bytes), "slice")
            // Slices that start at every alignment and end anywhere.
            let start = rng.below(bytes.count + 1)
            let end = start + rng.below(bytes.count - start + 1)
            XCTAssertEqual(CRC32.checksum(bytes[start..<end]), reference(Array(bytes[start..<end])), "slice \(start)..<\(end)")
        }
        let large = rng.bytes(100_003)
        XCTAssertEqual(CRC32.checksum(large), reference(large))
    }
}

final class Base64Tests: XCTestCase {
    let vectors: [(String, String)] = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]

    func testRFC4648Vectors() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(utf8(plain)), encoded, plain)
            XCTAssertEqual(Base64.decode(encoded), utf8(plain), encoded)
        }
        XCTAssertEqual(Base64.encode([0xFB, 0xFF, 0xBF]), "+/+/", "standard alphabet, not URL-safe")
        XCTAssertEqual(Base64.decode("+/+/"), [0xFB, 0xFF, 0xBF])
        XCTAssertEqual(Base64.encode([0, 0, 0]), "AAAA")
        XCTAssertEqual(Base64.encode(Array(0...255)).count, 344)
    }

    func testInvalidInputs() {
        for bad in ["Z", "Zg", "Zg=", "Zm9vY", "====", "Z===", "=Zg=", "Zg==Zg==", "Zm9v!A==", "Zm 9v", "Zm9v\n", "-_8=", "Zm9vé===", "Zg=a", "Zm9\u{0}"] {
            XCTAssertNil(Base64.decode(bad), bad.debugDescription)
        }
    }

    func testRandomRoundTrips() {
        var rng = SplitMix64(seed: 0xB64)
        for _ in 0..<2_000 {
            let bytes = rng.bytes(rng.below(64))
            let text = Base64.encode(bytes)
            XCTAssertEqual(text.utf8.count, (bytes.count + 2) / 3 * 4)
            XCTAssertEqual(Base64.decode(text), bytes)
        }
    }

    func testMatchesFoundation() {
        var rng = SplitMix64(seed: 0xF0B64)
        for _ in 0..<500 {
            let bytes = rng.bytes(rng.below(40))
            XCTAssertEqual(Base64.encode(bytes), Data(bytes).base64EncodedString())
        }
    }
}
