import XCTest
@testable import TernCore

/// Asserts that `body` throws a `ConfigurationError` with exactly this message.
func assertConfigurationError<T>(
    _ message: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        let value = try body()
        XCTFail("expected ConfigurationError \(message.debugDescription); got \(value)", file: file, line: line)
    } catch let error as ConfigurationError {
        XCTAssertEqual(error.description, message, file: file, line: line)
    } catch {
        XCTFail("expected ConfigurationError, got \(error)", file: file, line: line)
    }
}

final class RingTests: XCTestCase {
    static let allPartitionCounts = (0...16).map { 1 << $0 }

    func testOnePartitionHoldsEveryToken() throws {
        let ring = try Ring(partitionCount: 1)
        XCTAssertEqual(ring.partitionBits, 0)
        XCTAssertEqual(ring.partition(ofToken: 0), 0)
        XCTAssertEqual(ring.partition(ofToken: 0x8000_0000_0000_0000), 0)
        XCTAssertEqual(ring.partition(ofToken: UInt64.max), 0)
        XCTAssertEqual(ring.tokenRange(of: 0), 0...UInt64.max)
    }

    func testEightPartitionsSplitTheTokenSpaceByTheTopThreeBits() throws {
        let ring = try Ring(partitionCount: 8)
        XCTAssertEqual(ring.partitionBits, 3)
        XCTAssertEqual(ring.partition(ofToken: 0), 0)
        XCTAssertEqual(ring.partition(ofToken: 0x1FFF_FFFF_FFFF_FFFF), 0)
        XCTAssertEqual(ring.partition(ofToken: 0x2000_0000_0000_0000), 1)
        XCTAssertEqual(ring.partition(ofToken: 0xA000_0000_0000_0001), 5)
        XCTAssertEqual(ring.partition(ofToken: UInt64.max), 7)
        XCTAssertEqual(ring.tokenRange(of: 0), 0...0x1FFF_FFFF_FFFF_FFFF)
        XCTAssertEqual(ring.tokenRange(of: 1), 0x2000_0000_0000_0000...0x3FFF_FFFF_FFFF_FFFF)
        XCTAssertEqual(ring.tokenRange(of: 7), 0xE000_0000_0000_0000...UInt64.max)
    }

    func testTheLargestRingNamesPartitionsByTheTopSixteenBits() throws {
        let ring = try Ring(partitionCount: 65_536)
        XCTAssertEqual(ring.partition(ofToken: 0xABCD_1234_5678_9ABC), 0xABCD)
        XCTAssertEqual(ring.tokenRange(of: 0xABCD), 0xABCD_0000_0000_0000...0xABCD_FFFF_FFFF_FFFF)
        XCTAssertEqual(ring.tokenRange(of: 65_535).upperBound, UInt64.max)
    }

    func testDefaultRingHas256Partitions() throws {
        XCTAssertEqual(try Ring().partitionCount, 256)
        XCTAssertEqual(try Ring().partition(ofToken: 0x7F00_0000_0000_0000), 127)
    }

    func testTokenRangesTileTheTokenSpaceInPartitionOrder() throws {
        for count in RingTests.allPartitionCounts {
            let ring = try Ring(partitionCount: count)
            XCTAssertEqual(ring.tokenRange(of: 0).lowerBound, 0, "Q=\(count)")
            XCTAssertEqual(ring.tokenRange(of: count - 1).upperBound, UInt64.max, "Q=\(count)")
            // Every range is the same size, and each starts right after the one before.
            let size = ring.tokenRange(of: 0).upperBound
            for partition in [0, 1, count / 2, count - 2, count - 1] where partition >= 0 && partition < count {
                let range = ring.tokenRange(of: partition)
                XCTAssertEqual(range.upperBound - range.lowerBound, size, "Q=\(count) p=\(partition)")
                XCTAssertEqual(ring.partition(ofToken: range.lowerBound), partition, "Q=\(count) first token of \(partition)")
                XCTAssertEqual(ring.partition(ofToken: range.upperBound), partition, "Q=\(count) last token of \(partition)")
                if partition + 1 < count {
                    XCTAssertEqual(range.upperBound + 1, ring.tokenRange(of: partition + 1).lowerBound, "Q=\(count) after \(partition)")
                }
            }
        }
    }

    func testATokenIsInThePartitionWhoseRangeHoldsIt() throws {
        var rng = SplitMix64(seed: 0x2149)
        for count in RingTests.allPartitionCounts {
            let ring = try Ring(partitionCount: count)
            for _ in 0..<200 {
                let token = rng.next()
                let partition = ring.partition(ofToken: token)
                XCTAssertTrue(ring.tokenRange(of: partition).contains(token), "Q=\(count) token \(hex64(token))")
                if partition > 0 { XCTAssertFalse(ring.tokenRange(of: partition - 1).contains(token)) }
                if partition + 1 < count { XCTAssertFalse(ring.tokenRange(of: partition + 1).contains(token)) }
            }
        }
    }

    func testPartitionCountMustBeAPowerOfTwoFromOneTo65536() {
        for bad in [0, -1, -256, 3, 6, 100, 255, 257, 131_072, Int.min] {
            assertConfigurationError("partition count must be a power of two from 1 to 65536, got \(bad)") {
                try Ring(partitionCount: bad)
            }
        }
    }

    func testStorageKeyIsInThePartitionOfItsPartitionKeysToken() throws {
        let ring = try Ring(partitionCount: 256)
        for key in [AttributeValue.s("alice"), .s("bob"), .n(num("42")), .b([0, 1, 2])] {
            let token = TokenHash.token(of: key)
            let itemKey = KeyEncoding.itemKey(tableId: 7, partitionKey: key, sortKey: .s("sort"))
            XCTAssertEqual(KeyEncoding.token(ofKey: itemKey), token)
            XCTAssertEqual(ring.partition(ofStorageKey: itemKey), ring.partition(ofToken: token), "\(key)")
            XCTAssertEqual(ring.partition(ofStorageKey: KeyEncoding.partitionPrefix(tableId: 7, partitionKey: key)), ring.partition(ofToken: token))
        }
        // The token sits right after the 4-byte table id, big-endian.
        let handMade: [UInt8] = [0, 0, 0, 9, 0xC0, 0, 0, 0, 0, 0, 0, 1]
        XCTAssertEqual(KeyEncoding.token(ofKey: handMade), 0xC000_0000_0000_0001)
        XCTAssertEqual(ring.partition(ofStorageKey: handMade), 0xC0)
    }

    func testKeyTooShortForATokenHasNoPartition() throws {
        let ring = try Ring(partitionCount: 8)
        XCTAssertNil(ring.partition(ofStorageKey: []))
        XCTAssertNil(ring.partition(ofStorageKey: KeyEncoding.tablePrefix(3)))
        XCTAssertNil(ring.partition(ofStorageKey: [0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7]))
        XCTAssertEqual(ring.partition(ofStorageKey: [0, 0, 0, 3, 0xFF, 2, 3, 4, 5, 6, 7, 8]), 7)
    }
}
