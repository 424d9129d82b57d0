import XCTest
@testable import TernCore

/// A stored value's bytes per the header contract: format, flags, HLC timestamp big-endian, then
/// whatever the format puts after the header.
func storedValueBytes(format: UInt8, flags: UInt8, physicalMillis: UInt64, logical: UInt16 = 0, tail: [UInt8] = [0]) -> [UInt8] {
    let timestamp = physicalMillis << 16 | UInt64(logical)
    return [format, flags] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: timestamp >> (8 * $0)) } + tail
}

final class StoredValueHeaderTests: XCTestCase {
    func testReadsFormatFlagsAndTimestampOfBothKnownFormats() throws {
        for format: UInt8 in [1, 2] {
            let header = try XCTUnwrap(StoredValueHeader(storedValueBytes(format: format, flags: 1, physicalMillis: 1_700_000_000_123, logical: 7)))
            XCTAssertEqual(header.format, format)
            XCTAssertTrue(header.isTombstone)
            XCTAssertEqual(header.physicalMillis, 1_700_000_000_123)
            XCTAssertEqual(header.timestamp, 1_700_000_000_123 << 16 | 7)
            XCTAssertFalse(try XCTUnwrap(StoredValueHeader(storedValueBytes(format: format, flags: 0, physicalMillis: 5))).isTombstone)
        }
    }

    func testTimestampIsBigEndianWithMillisInTheTop48Bits() throws {
        let bytes: [UInt8] = [1, 0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]
        let header = try XCTUnwrap(StoredValueHeader(bytes))
        XCTAssertEqual(header.timestamp, 0x0123_4567_89AB_CDEF)
        XCTAssertEqual(header.physicalMillis, 0x0123_4567_89AB)
    }

    func testAgreesWithTheEncodingOfStoredValue() throws {
        let live = StoredValue(item: AttributeMap([("k", .s("v"))]), timestamp: 0x0000_0190_0000_0003, clock: VectorClock(["n1": 4]))
        let liveHeader = try XCTUnwrap(StoredValueHeader(live.encoded()))
        XCTAssertFalse(liveHeader.isTombstone)
        XCTAssertEqual(liveHeader.timestamp, live.timestamp)
        let tombstone = StoredValue(item: nil, timestamp: 0x0123_4567_89AB_CDEF, clock: VectorClock(["n1": 4]))
        let tombstoneHeader = try XCTUnwrap(StoredValueHeader(tombstone.encoded()))
        XCTAssertTrue(tombstoneHeader.isTombstone)
        XCTAssertEqual(tombstoneHeader.timestamp, tombstone.timestamp)
        XCTAssertEqual(tombstoneHeader.format, StoredValue.formatVersion)
    }

    func testUnknownFormatsAndShortValuesHaveNoHeader() {
        for format: UInt8 in [0, 3, 0x7F, 0xFF] {
            XCTAssertNil(StoredValueHeader(storedValueBytes(format: format, flags: 1, physicalMillis: 1)), "format \(format)")
        }
        let full = storedValueBytes(format: 1, flags: 1, physicalMillis: 1, tail: [])
        XCTAssertEqual(full.count, StoredValueHeader.byteCount)
        XCTAssertNotNil(StoredValueHeader(full), "a header with nothing after it is still a header")
        for length in 0..<StoredValueHeader.byteCount {
            XCTAssertNil(StoredValueHeader(full.prefix(length)), "\(length) bytes")
        }
    }
}

final class TombstonePurgeDecisionTests: XCTestCase {
    let itemKey: [UInt8] = [0, 0, 0, 7, 0xAA, 0xBB]
    let grace: UInt64 = 864_000_000  // 10 days

    func testTombstoneOlderThanTheGracePeriodIsPurgeable() {
        let value = storedValueBytes(format: 1, flags: 1, physicalMillis: 1_000)
        XCTAssertTrue(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: 1_000 + grace + 1, graceMillis: grace))
        XCTAssertTrue(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: .max, graceMillis: grace))
        let format2 = storedValueBytes(format: 2, flags: 1, physicalMillis: 1_000, tail: [9, 9, 9])
        XCTAssertTrue(TombstonePurge.isPurgeable(key: itemKey, value: format2, nowMillis: 1_000 + grace + 1, graceMillis: grace))
    }

    func testTombstoneWithinTheGracePeriodIsKept() {
        let value = storedValueBytes(format: 1, flags: 1, physicalMillis: 1_000, logical: 0xFFFF)
        XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: 1_000 + grace, graceMillis: grace), "exactly at the deadline")
        XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: 1_000, graceMillis: grace))
        XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: 0, graceMillis: grace), "a wall clock behind the write")
        XCTAssertEqual(TombstonePurge.purgeableAfterMillis(key: itemKey, value: value, graceMillis: grace), 1_000 + grace)
    }

    func testLiveItemsAreNeverPurgeable() {
        for format: UInt8 in [1, 2] {
            let value = storedValueBytes(format: format, flags: 0, physicalMillis: 1)
            XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: .max, graceMillis: 1))
            XCTAssertNil(TombstonePurge.purgeableAfterMillis(key: itemKey, value: value, graceMillis: 1))
        }
    }

    func testSystemKeysAreNeverPurgeableWhateverTheirValue() {
        let oldTombstone = storedValueBytes(format: 1, flags: 1, physicalMillis: 1)
        for key: [UInt8] in [[0, 0, 0, 0], [0, 0, 0, 0] + Array("table/t".utf8), [0, 0, 0, 0] + Array("meta/next-table-id".utf8)] {
            XCTAssertFalse(TombstonePurge.isPurgeable(key: key, value: oldTombstone, nowMillis: .max, graceMillis: 1), "\(key)")
        }
        XCTAssertFalse(TombstonePurge.isItemKey([0, 0, 0, 0, 1]))
        XCTAssertTrue(TombstonePurge.isItemKey([0, 0, 0, 1]))
        XCTAssertTrue(TombstonePurge.isItemKey([1, 0, 0, 0]))
        XCTAssertTrue(TombstonePurge.isItemKey([0xFF, 0xFF, 0xFF, 0xFE, 0]))
    }

    func testKeysShorterThanATableIdAreNeverPurgeable() {
        let oldTombstone = storedValueBytes(format: 1, flags: 1, physicalMillis: 1)
        for key: [UInt8] in [[], [1], [0, 0, 1]] {
            XCTAssertFalse(TombstonePurge.isPurgeable(key: key, value: oldTombstone, nowMillis: .max, graceMillis: 1), "\(key)")
        }
    }

    func testValuesOfUnknownFormatAreNeverPurgeable() {
        for format: UInt8 in [0, 3, 200] {
            let value = storedValueBytes(format: format, flags: 1, physicalMillis: 1)
            XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: value, nowMillis: .max, graceMillis: 1), "format \(format)")
        }
        XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: [1, 1, 0, 0], nowMillis: .max, graceMillis: 1), "truncated header")
    }

    func testDeadlineBeyondTheRangeOfTheClockIsNeverReached() {
        // A corrupt or far-future timestamp must not wrap around into "long ago".
        let farFuture: [UInt8] = [1, 1] + [UInt8](repeating: 0xFF, count: 8)
        XCTAssertNil(TombstonePurge.purgeableAfterMillis(key: itemKey, value: farFuture, graceMillis: .max))
        XCTAssertFalse(TombstonePurge.isPurgeable(key: itemKey, value: farFuture, nowMillis: .max, graceMillis: .max))
    }
}
