import TernStorage
import XCTest

final class CounterValueTests: XCTestCase {
    /// The layout is a format other code reads: 8 bytes per counter, little-endian, no header.
    func testEncodingIsLittleEndianEightBytesPerCounter() {
        XCTAssertEqual(CounterValue.encode([]), [])
        XCTAssertEqual(CounterValue.encode([1, -1, 0x0102_0304_0506_0708]), [
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        ])
        XCTAssertEqual(CounterValue.encode([.min]), [0, 0, 0, 0, 0, 0, 0, 0x80])
    }

    func testDecodeInvertsEncode() {
        for counters: [Int64] in [[], [0], [.max, .min, -1, 1], (0..<50).map { Int64($0) * 1_000_003 - 7 }] {
            XCTAssertEqual(CounterValue.decode(CounterValue.encode(counters)), counters)
        }
    }

    func testDecodeZeroExtendsAPartialLastCounter() {
        XCTAssertEqual(CounterValue.decode([0xFF]), [0xFF])
        XCTAssertEqual(CounterValue.decode([2, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12]), [2, 0x1234])
    }

    func testAddingPadsTheShorterVectorAndWraps() {
        XCTAssertEqual(CounterValue.adding([1, 2, 3], to: [10]), [11, 2, 3])
        XCTAssertEqual(CounterValue.adding([1], to: [10, 20]), [11, 20])
        XCTAssertEqual(CounterValue.adding([], to: []), [])
        XCTAssertEqual(CounterValue.adding([1, -1], to: [.max, .min]), [.min, .max])
    }

    func testAddEncodedAccumulatesInPlace() {
        var counters: [Int64] = [5]
        CounterValue.add(encoded: CounterValue.encode([1, 2]), to: &counters)
        CounterValue.add(encoded: CounterValue.encode([-10]), to: &counters)
        XCTAssertEqual(counters, [-4, 2])
    }
}
