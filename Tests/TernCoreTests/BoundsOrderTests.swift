import XCTest
@testable import TernCore

/// `sortsAfter` decides whether a legacy BETWEEN's bounds are reversed, which DynamoDB refuses:
/// only two values of one ordered type (S by UTF-8 bytes, N numerically, B by unsigned bytes)
/// can be reversed; anything else is left to the condition, which is then simply false.
final class BoundsOrderTests: XCTestCase {
    func testReversedBoundsOfOneOrderedType() {
        XCTAssertTrue(exprN("10").sortsAfter(exprN("9")), "numbers compare numerically, not as text")
        XCTAssertFalse(exprN("9").sortsAfter(exprN("10")))
        XCTAssertFalse(exprN("1.0").sortsAfter(exprN("1")), "equal numbers are not reversed")
        XCTAssertTrue(exprN("-1").sortsAfter(exprN("-2")))
        XCTAssertTrue(AttributeValue.s("b").sortsAfter(.s("a")))
        XCTAssertTrue(AttributeValue.s("é").sortsAfter(.s("z")), "strings compare by UTF-8 bytes")
        XCTAssertFalse(AttributeValue.s("a").sortsAfter(.s("a")))
        XCTAssertTrue(AttributeValue.b([0xFF]).sortsAfter(.b([0x01, 0x02])), "bytes are unsigned")
        XCTAssertFalse(AttributeValue.b([0x01]).sortsAfter(.b([0x01, 0x00])), "a prefix sorts first")
    }

    func testValuesOfDifferentOrUnorderedTypesAreNeverReversed() {
        XCTAssertFalse(AttributeValue.s("9").sortsAfter(exprN("1")))
        XCTAssertFalse(exprN("9").sortsAfter(.s("1")))
        XCTAssertFalse(AttributeValue.bool(true).sortsAfter(.bool(false)))
        XCTAssertFalse(AttributeValue.ss(["b"]).sortsAfter(.ss(["a"])))
        XCTAssertFalse(AttributeValue.l([.s("b")]).sortsAfter(.l([.s("a")])))
        XCTAssertFalse(AttributeValue.null.sortsAfter(.null))
    }
}
