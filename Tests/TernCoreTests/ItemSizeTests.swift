import XCTest
@testable import TernCore

/// DynamoDB's size rules (developer guide, "Item sizes and formats"): names count their UTF-8
/// bytes; strings their UTF-8 bytes; numbers about one byte per two significant digits plus one;
/// binary its length; BOOL and NULL one byte; List and Map 3 bytes of overhead plus one byte per
/// element plus the elements (a map element counts its name).
final class ItemSizeTests: XCTestCase {
    func testScalars() {
        XCTAssertEqual(ItemSize.of(item([("name", .s("abc"))])), 4 + 3)
        XCTAssertEqual(ItemSize.of(item([("n", .s("é😀"))])), 1 + 2 + 4, "UTF-8 bytes, not characters")
        XCTAssertEqual(ItemSize.of(item([("名", .s(""))])), 3, "an empty string is its name only")
        XCTAssertEqual(ItemSize.of(item([("b", .b([1, 2, 3, 4, 5]))])), 1 + 5)
        XCTAssertEqual(ItemSize.of(item([("t", .bool(true))])), 2)
        XCTAssertEqual(ItemSize.of(item([("f", .bool(false))])), 2)
        XCTAssertEqual(ItemSize.of(item([("z", .null)])), 2)
        XCTAssertEqual(ItemSize.of(AttributeMap()), 0)
    }

    func testNumbers() {
        XCTAssertEqual(ItemSize.of(.n(num("12345"))), 4, "5 digits: 3 + 1")
        XCTAssertEqual(ItemSize.of(.n(num("1234"))), 3)
        XCTAssertEqual(ItemSize.of(.n(num("1.000"))), 2, "trailing zeros are trimmed")
        XCTAssertEqual(ItemSize.of(.n(num("0.00012"))), 3, "leading zeros are trimmed, but 0.00|01|20 spans two pairs")
        XCTAssertEqual(ItemSize.of(.n(num("0.0012"))), 2, "0.00|12 is one pair")
        XCTAssertEqual(ItemSize.of(.n(num("1e100"))), 2, "magnitude does not matter")
        XCTAssertEqual(ItemSize.of(.n(num("12345678901234567890123456789012345678"))), 20, "the largest number is 21 bytes at most")
        XCTAssertEqual(ItemSize.of(item([("price", .n(num("-19.99")))])), 5 + 4, "19|99 and one byte each for the exponent and the sign")
    }

    /// Digits pair up from the decimal point outwards (base-100 digits), so where the point falls
    /// matters, not only how many digits there are; a negative number costs one byte more.
    func testNumbersPairFromTheDecimalPoint() {
        let table: [(String, Int)] = [
            ("0", 1), ("-0", 1), ("0.000", 1),
            ("1", 2), ("99", 2), ("100", 2), ("101", 3), ("1E+125", 2),
            ("1.5", 3), ("15", 2), ("0.15", 2), ("0.015", 3), ("150", 3),
            ("-1", 3), ("-1.5", 4), ("-1E-130", 3),
            ("12345678901234567890123456789012345678", 20),
            ("1.2345678901234567890123456789012345678", 21),
            ("-1.2345678901234567890123456789012345678", 21), ("1.234567890123456789012345678901234567", 20),
        ]
        for (text, size) in table {
            XCTAssertEqual(ItemSize.numberBytes(num(text)), size, text)
        }
        XCTAssertEqual(ItemSize.of(.ns([num("1.5"), num("-2")])), 3 + 3)
    }

    func testMapsAndLists() {
        XCTAssertEqual(ItemSize.of(.m(AttributeMap())), 3)
        XCTAssertEqual(ItemSize.of(.l([])), 3)
        // {"x": "yz"} = 3 + (1 + len("x") + len("yz"))
        XCTAssertEqual(ItemSize.of(.m(item([("x", .s("yz"))]))), 3 + 1 + 1 + 2)
        // [1, "ab", null] = 3 + (1 + 2) + (1 + 2) + (1 + 1)
        XCTAssertEqual(ItemSize.of(.l([.n(num("1")), .s("ab"), .null])), 3 + 3 + 3 + 2)
        // Nested: {"m": {"l": [true]}} as an item = 1 + (3 + 1 + 1 + (3 + 1 + 1))
        XCTAssertEqual(ItemSize.of(item([("m", .m(item([("l", .l([.bool(true)]))])))])), 1 + 3 + 1 + 1 + 3 + 1 + 1)
    }

    func testSets() {
        XCTAssertEqual(ItemSize.of(.ss(["ab", "c", "é"])), 2 + 1 + 2)
        XCTAssertEqual(ItemSize.of(.ns([num("1"), num("123")])), 2 + 3)
        XCTAssertEqual(ItemSize.of(.bs([[1, 2], [3]])), 3)
        XCTAssertEqual(ItemSize.of(item([("tags", .ss(["a", "b"]))])), 4 + 2)
    }

    func testFourHundredKilobyteBoundary() {
        XCTAssertEqual(ItemSize.maxItemBytes, 409_600)
        let name = "data"
        let atLimit = item([(name, .s(String(repeating: "x", count: 409_600 - name.utf8.count)))])
        XCTAssertEqual(ItemSize.of(atLimit), ItemSize.maxItemBytes)
        let overLimit = item([(name, .b([UInt8](repeating: 7, count: 409_600 - name.utf8.count + 1)))])
        XCTAssertEqual(ItemSize.of(overLimit), ItemSize.maxItemBytes + 1)
        // Many small attributes add up the same way.
        var many = AttributeMap()
        for i in 0..<4096 { many["a\(String(i + 10000))"] = .s(String(repeating: "y", count: 94)) }  // 6 + 94 = 100 each
        XCTAssertEqual(ItemSize.of(many), 409_600)
    }

    func testSizeIsSumOfAttributes() {
        var rng = SplitMix64(seed: 0x512E)
        for _ in 0..<500 {
            let map = RandomItems.map(&rng)
            XCTAssertEqual(ItemSize.of(map), map.entries.reduce(0) { $0 + $1.name.utf8.count + ItemSize.of($1.value) })
            XCTAssertEqual(ItemSize.of(.m(map)), 3 + map.count + ItemSize.of(map))
        }
    }
}
