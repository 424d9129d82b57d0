import TernCore
import XCTest

@testable import TernCluster

/// The replica protocol's payloads: every message survives the round trip, and no byte string a
/// peer can send crashes the decoder.
final class ReplicaMessageTests: XCTestCase {
    let value = StoredValue(item: Item([("pk", .s("a")), ("n", .n(try! DynamoNumber(parsing: "12.5")))]), timestamp: 99 << 16, clock: VectorClock(["n1": 3, "n2": 7]), writer: "n2")

    var messages: [ReplicaMessage] {
        [
            .read(key: [0, 0, 0, 5, 1, 2, 3]),
            .readReply(.value(nil)),
            .readReply(.value(value)),
            .readReply(.value(StoredValue(item: nil, timestamp: 5, clock: VectorClock(["n1": 1]), writer: "n1"))),
            .readReply(.failed(.overloaded)),
            .readReply(.failed(.unavailable("disk full"))),
            .write(key: [9, 9], tableId: 4_000_000_000, value: value, hintFor: nil),
            .write(key: [9], tableId: 7, value: value, hintFor: "n3"),
            .writeReply(nil),
            .writeReply(.wouldBlock),
            .writeReply(.tableDeleted),
            .writeReply(.unavailable("é")),
            .forward(ForwardedRequest(operation: "UpdateItem", headers: [("X-Amz-Date", "20261204T000000Z"), ("X-Tern-W", "3")], body: Array(#"{"TableName":"t"}"#.utf8))),
            .forwardReply(ForwardedResponse(status: 400, headers: [("Content-Type", "application/x-amz-json-1.0")], body: Array("{}".utf8))),
            .readRange(RangeRead(start: [0, 0, 0, 5], end: [0, 0, 0, 6], reverse: false, maxItems: Int.max, maxBytes: 1 << 20, tombstonesMax: 4_096)),
            .readRange(RangeRead(start: [], end: [0xff], reverse: true, maxItems: 1, maxBytes: 0, tombstonesMax: 1)),
            .readRangeReply(.page(ReplicaPage(entries: [], exhausted: true))),
            .readRangeReply(.page(ReplicaPage(entries: [
                ReplicaPage.Entry(key: [0, 0, 0, 5, 1], value: value),
                ReplicaPage.Entry(key: [0, 0, 0, 5, 2], value: StoredValue(item: nil, timestamp: 5, clock: VectorClock(["n1": 1]), writer: "n1")),
            ], exhausted: false))),
            .readRangeReply(.failed(.overloaded)),
            .readRangeReply(.failed(.unavailable("disk full"))),
        ]
    }

    func testEveryMessageSurvivesTheRoundTrip() throws {
        for message in messages {
            XCTAssertEqual(try ReplicaMessage.decode(kind: message.kind, message.encoded()), message)
        }
    }

    func testKindsAreStable() {
        XCTAssertEqual(messages.map(\.kind), [1, 2, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4, 5, 6, 7, 7, 8, 8, 8, 8])
    }

    func testUnknownKindAndTrailingBytesAreRefused() {
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 99, []))
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 4, [0, 0]), "a trailing byte")
        let request = ReplicaMessage.readRange(RangeRead(start: [1], end: [2], reverse: false, maxItems: 1, maxBytes: 1, tombstonesMax: 1)).encoded()
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 7, request.enumerated().map { $0.offset == 4 ? 2 : $0.element }), "a direction flag other than 0 or 1")
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 7, Array(request.dropLast(3)) + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 1]), "a limit above Int.max")
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 8, [0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 9]), "an entry count the bytes do not hold")
        XCTAssertThrowsError(try ReplicaMessage.decode(kind: 6, ReplicaMessage.forwardReply(ForwardedResponse(status: 200, headers: [], body: [])).encoded().map { $0 == 0xc8 ? 0x05 : $0 }), "status outside 100…599")
    }

    func testTruncatedFlippedAndRandomBytesNeverCrashTheDecoder() {
        var generator = SplitMix64(seed: 2026)
        var refused = 0
        for message in messages {
            let bytes = message.encoded()
            for cut in 0..<bytes.count {
                XCTAssertThrowsError(try ReplicaMessage.decode(kind: message.kind, Array(bytes[..<cut])), "\(message) cut at \(cut)")
            }
            for _ in 0..<300 {
                var flipped = bytes
                let index = Int(generator.next() % UInt64(flipped.count))
                flipped[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                if (try? ReplicaMessage.decode(kind: message.kind, flipped)) == nil { refused += 1 }
            }
        }
        for _ in 0..<3_000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if (try? ReplicaMessage.decode(kind: UInt16(generator.next() % 10), bytes)) == nil { refused += 1 }
        }
        XCTAssertGreaterThan(refused, 1_000, "most damaged inputs are refused, none crashes")
    }
}
