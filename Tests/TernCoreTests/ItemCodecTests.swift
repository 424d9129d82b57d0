import XCTest
@testable import TernCore

/// Seeded random items of every type, for codec round trips.
enum RandomItems {
    // Names avoid canonically-equivalent pairs (see AttributeValueJSONTests' KNOWNBUG on names).
    static let namePool = ["a", "b", "id", "name", "Name", "x_y", "名前", "😀", "é", "\u{0}", "a.b", "#x", ":v", " ", "long-attribute-name"]

    static func string(_ rng: inout SplitMix64) -> String {
        let pool = ["a", "Z", "0", " ", "\u{0}", "\n", "é", "€", "😀", "\u{10FFFF}", "abc"]
        return (0..<rng.below(6)).map { _ in rng.pick(pool) }.joined()
    }

    /// `maxDigits` bounds the significant digits of numbers (1 avoids the ItemCodec KNOWNBUG).
    static func value(_ rng: inout SplitMix64, depth: Int = 0, maxDigits: Int = 38) -> AttributeValue {
        switch rng.below(depth >= 4 ? 8 : 10) {
        case 0: return .s(string(&rng))
        case 1: return .n(RefNumber.random(&rng, maxDigits: maxDigits).dynamo)
        case 2: return .b(rng.bytes(rng.below(10)))
        case 3: return .bool(rng.bool())
        case 4: return .null
        case 5:
            var seen = Set<[UInt8]>()
            let strings = (0..<rng.int(1...4)).map { _ in string(&rng) }.filter { seen.insert(Array($0.utf8)).inserted }
            return .ss(strings)
        case 6:
            var seen = Set<DynamoNumber>()
            return .ns((0..<rng.int(1...4)).map { _ in RefNumber.random(&rng, maxDigits: maxDigits).dynamo }.filter { seen.insert($0).inserted })
        case 7:
            var seen = Set<[UInt8]>()
            return .bs((0..<rng.int(1...4)).map { _ in rng.bytes(rng.below(6)) }.filter { seen.insert($0).inserted })
        case 8: return .m(map(&rng, depth: depth + 1, maxDigits: maxDigits))
        default: return .l((0..<rng.below(5)).map { _ in value(&rng, depth: depth + 1, maxDigits: maxDigits) })
        }
    }

    static func map(_ rng: inout SplitMix64, depth: Int = 0, maxDigits: Int = 38) -> AttributeMap {
        AttributeMap((0..<rng.below(6)).map { _ in (rng.pick(namePool), value(&rng, depth: depth, maxDigits: maxDigits)) })
    }

    /// Every one of the ten types, with edge values.
    static var allTypes: Item {
        item([
            ("s", .s("hello")),
            ("s_empty", .s("")),
            ("n", .n(num("-123.456e-7"))),
            ("n_zero", .n(.zero)),
            ("n_big", .n(num("9.9999999999999999999999999999999999999e125"))),
            ("n_tiny", .n(num("-1e-130"))),
            ("b", .b([0, 1, 2, 0xFF])),
            ("b_empty", .b([])),
            ("t", .bool(true)),
            ("f", .bool(false)),
            ("null", .null),
            ("m", .m(item([("inner", .s("x")), ("e", .m(AttributeMap()))]))),
            ("m_empty", .m(AttributeMap())),
            ("l", .l([.s("a"), .n(num("1")), .l([]), .null])),
            ("l_empty", .l([])),
            ("ss", .ss(["b", "a", "", "😀"])),
            ("ns", .ns([num("3"), num("-1.5"), num("0")])),
            ("bs", .bs([[1], [], [0xFF, 0]])),
            ("名前", .s("値")),
            ("😀", .s("\u{0}\u{10FFFF}")),
            ("", .s("empty name")),
        ])
    }

    static func nested(_ depth: Int, leaf: AttributeValue = .s("leaf")) -> AttributeValue {
        var value = leaf
        for level in 0..<depth { value = level % 2 == 0 ? .m(item([("k\(level)", value)])) : .l([.null, value]) }
        return value
    }
}

final class ItemCodecTests: XCTestCase {
    private func roundTrip(_ item: Item, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = ItemCodec.encode(item)
        do {
            let decoded = try ItemCodec.decode(bytes)
            XCTAssertEqual(decoded, item, file: file, line: line)
            XCTAssertEqual(ItemCodec.encode(decoded), bytes, "re-encoding is byte-identical", file: file, line: line)
            XCTAssertEqual(try ItemCodec.decode(bytes[...]), item, "slice decode", file: file, line: line)
        } catch {
            XCTFail("decode failed at \(error.offset): \(hex(bytes))", file: file, line: line)
        }
    }

    func testAllTenTypes() {
        let all = RandomItems.allTypes
        let types = Set(all.map(\.value.typeName))
        XCTAssertEqual(types, ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"])
        roundTrip(all)
        roundTrip(AttributeMap())
        XCTAssertEqual(ItemCodec.encode(AttributeMap()), [0])
    }

    func testExactEncoding() {
        // count 2; "a" → S "xy"; "b" → N 1.5 (flags 0, zigzag(1)=2, 2 digits, 0x15).
        let bytes = ItemCodec.encode(item([("b", .n(num("1.5"))), ("a", .s("xy"))]))
        XCTAssertEqual(bytes, [2, 1, 0x61, 1, 2, 0x78, 0x79, 1, 0x62, 2, 0, 2, 2, 0x15])
        // Negative exponent: -0.05 = -0.5 × 10^-1 → flags 1, zigzag(-1) = 1, 1 digit, 0x50.
        XCTAssertEqual(ItemCodec.encode(item([("n", .n(num("-0.05")))])), [1, 1, 0x6E, 2, 1, 1, 1, 0x50])
        // Tags of the other types.
        XCTAssertEqual(ItemCodec.encode(item([("t", .bool(true)), ("u", .bool(false)), ("v", .null)])), [3, 1, 0x74, 5, 1, 0x75, 4, 1, 0x76, 6])
        // A 200-byte string needs a two-byte varint length.
        let long = String(repeating: "z", count: 200)
        XCTAssertEqual(Array(ItemCodec.encode(item([("s", .s(long))])).prefix(5)), [1, 1, 0x73, 1, 0xC8])
        XCTAssertEqual(ItemCodec.encode(item([("s", .s(long))]))[5], 0x01)
    }

    func testNestedThirtyTwoLevels() {
        for depth in [1, 2, 31, 32, 33, 100] {
            roundTrip(item([("deep", RandomItems.nested(depth))]))
        }
        roundTrip(item([("deep", RandomItems.nested(32, leaf: .ns([num("1"), num("2")])))]))
    }

    func testEmptyValuesAndUnicodeNames() {
        roundTrip(item([("", .s("")), ("b", .b([])), ("ñ", .ss([""])), ("😀👍", .bs([[]])), ("\u{0}", .l([.s(""), .b([])]))]))
    }

    func testSeededRandomRoundTrips() {
        var rng = SplitMix64(seed: 0x17E_4C0D)
        for _ in 0..<2_000 {
            roundTrip(RandomItems.map(&rng, maxDigits: 38))
        }
    }

    func testNumbersFollowedByOtherValuesRoundTrip() {
        // Multi-digit numbers decode when enough bytes follow them (regression: the digit count was once checked as bytes).
        roundTrip(item([("a", .n(num("12345.678"))), ("b", .s(String(repeating: "x", count: 40)))]))
        roundTrip(item([("a", .ns([num("-1.25e-100"), num("98765432109876543210987654321098765432")])), ("z", .b(Array(repeating: 1, count: 64)))]))
    }

    /// ByteReader.number() reads the digit count with `count()`, which insists that at least that
    /// many bytes remain; but digits are packed two per byte, so a number with n ≥ 2 digits needs
    /// only ⌈n/2⌉ bytes. When the number is (near) the end of the encoding the check fails and a
    /// well-formed encoding is rejected: e.g. an item whose last attribute (in name order) is
    /// {"N": "12"} encodes to 01 01 6e 02 00 04 02 12 and decoding throws DecodeError(offset: 7).
    /// StoredValue puts the item last, so such items are unreadable once written.
    func testMultiDigitNumberAtEndDecodes() throws {
        let small = item([("n", .n(num("12")))])
        XCTAssertEqual(ItemCodec.encode(small), [1, 1, 0x6E, 2, 0, 4, 2, 0x12])
        roundTrip(small)
        roundTrip(item([("pk", .s("order#1")), ("price", .n(num("19.99")))]))
        roundTrip(item([("l", .l([.n(num("3.14159"))]))]))
        roundTrip(item([("ns", .ns([num("1"), num("2.5")]))]))
        XCTAssertNoThrow(try StoredValue.decode(StoredValue(item: item([("price", .n(num("19.99")))]), timestamp: 1, clock: VectorClock()).encoded()))
        var rng = SplitMix64(seed: 0x17E_4C0D)
        for _ in 0..<2_000 {
            roundTrip(RandomItems.map(&rng))
        }
    }

    func testTruncationAlwaysThrows() {
        var rng = SplitMix64(seed: 0x7_1234)
        var checked = 0
        for _ in 0..<200 {
            let bytes = ItemCodec.encode(RandomItems.map(&rng))
            for length in 0..<bytes.count {
                XCTAssertThrowsError(try ItemCodec.decode(Array(bytes[0..<length])), "prefix \(length) of \(hex(bytes))")
                checked += 1
            }
            XCTAssertThrowsError(try ItemCodec.decode(bytes + [0]), "trailing byte")
        }
        XCTAssertGreaterThan(checked, 1_000)
    }

    func testMutationsNeverTrap() {
        var rng = SplitMix64(seed: 0x3_0171)
        var rejected = 0
        for _ in 0..<2_000 {
            var bytes = ItemCodec.encode(RandomItems.map(&rng))
            for _ in 0..<rng.int(1...3) {
                switch rng.below(5) {
                case 0 where !bytes.isEmpty: bytes[rng.below(bytes.count)] = rng.byte()
                case 1 where !bytes.isEmpty: bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
                case 2 where !bytes.isEmpty: bytes.remove(at: rng.below(bytes.count))
                case 3: bytes.insert(rng.pick([0x00, 0x7F, 0x80, 0xFF, rng.byte()]), at: rng.below(bytes.count + 1))
                default: if !bytes.isEmpty { bytes.removeLast(rng.int(1...bytes.count)) }
                }
            }
            do {
                let decoded = try ItemCodec.decode(bytes)
                // Whatever decoded must at least re-encode and decode to itself.
                XCTAssertEqual(try ItemCodec.decode(ItemCodec.encode(decoded)), decoded)
            } catch {
                XCTAssertLessThanOrEqual(error.offset, bytes.count)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 500)
    }

    func testHostileLengthsAndVarints() {
        // Huge counts and lengths, overlong varints, bad tags, bad digits: all rejected without trapping.
        let cases: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            [1, 0xFF, 0xFF, 0xFF, 0x7F],
            [1, 1, 0x61, 1, 0xFF, 0xFF, 0x03],
            [1, 1, 0x61, 12],
            [1, 1, 0x61, 0],
            [1, 1, 0x61, 2, 0, 0, 5, 0xAB, 0xCD, 0xEF],
            [1, 1, 0x61, 2, 0, 0, 2, 0xAB],
            [1, 1, 0x61, 10, 1, 0, 0, 2, 0xF1],
            [1, 1, 0x61, 8, 0xFF, 0xFF, 0xFF, 0x0F],
            [1, 1, 0xFF, 6],
            [1, 2, 0xC3, 0x28, 6],
            [1, 1, 0x61, 1, 2, 0xC3, 0x28],
            [1, 1, 0x61, 9, 1, 1, 0xFF],
            [],
        ]
        for bytes in cases {
            XCTAssertThrowsError(try ItemCodec.decode(bytes), hex(bytes))
        }
    }
}
