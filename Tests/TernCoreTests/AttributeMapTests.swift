import XCTest
@testable import TernCore

final class AttributeMapTests: XCTestCase {
    func testSortedByUTF8BytesWithLastValueWinning() {
        let map = AttributeMap([("b", .s("1")), ("a", .s("2")), ("é", .null), ("Z", .null), ("", .null), ("b", .s("3")), ("😀", .null), ("aa", .null)])
        XCTAssertEqual(map.entries.map(\.name), ["", "Z", "a", "aa", "b", "é", "😀"])
        XCTAssertEqual(map["b"], .s("3"))
        XCTAssertEqual(map.count, 7)
        XCTAssertFalse(map.isEmpty)
        XCTAssertTrue(AttributeMap().isEmpty)
        XCTAssertEqual(map.map(\.name), map.entries.map(\.name), "iteration in entry order")
    }

    func testSubscriptSetReplaceRemove() {
        var map = AttributeMap()
        map["x"] = .s("1")
        map["a"] = .s("2")
        map["x"] = .s("3")
        XCTAssertEqual(map.entries.map(\.name), ["a", "x"])
        XCTAssertEqual(map["x"], .s("3"))
        map["a"] = nil
        map["missing"] = nil
        XCTAssertEqual(map.entries.map(\.name), ["x"])
        XCTAssertNil(map["a"])
    }

    func testRandomOperationsMatchAReferenceDictionary() {
        var rng = SplitMix64(seed: 0xA77)
        var map = AttributeMap()
        var reference: [[UInt8]: AttributeValue] = [:]
        let names = ["a", "b", "c", "ab", "ba", "A", "é", "€", "😀", "\u{0}", "", "zz", "a\u{0}"]
        for step in 0..<5_000 {
            let name = rng.pick(names)
            if rng.oneIn(3) {
                map[name] = nil
                reference[Array(name.utf8)] = nil
            } else {
                let value = AttributeValue.n(DynamoNumber(step))
                map[name] = value
                reference[Array(name.utf8)] = value
            }
            XCTAssertEqual(map.count, reference.count)
            let keys = reference.keys.sorted { $0.lexicographicallyPrecedes($1) }
            XCTAssertEqual(map.entries.map { Array($0.name.utf8) }, keys)
            for n in names { XCTAssertEqual(map[n], reference[Array(n.utf8)], n) }
        }
    }

    func testEqualityAndHashIgnoreInsertionOrder() {
        let a = AttributeMap([("x", .s("1")), ("y", .s("2"))])
        let b = AttributeMap([("y", .s("2")), ("x", .s("1"))])
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set([a, b]).count, 1)
        XCTAssertNotEqual(a, AttributeMap([("x", .s("1"))]))
    }
}
