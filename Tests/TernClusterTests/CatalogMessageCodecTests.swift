import TernCore
import XCTest

@testable import TernCluster

/// The wire form of catalog messages: every kind round-trips, and seeded garbage, truncations and
/// bit flips never crash the decoder.
final class CatalogMessageCodecTests: XCTestCase {
    let b1 = Ballot(timestamp: 0x0123_4567_89AB_CDEF, node: "n1")
    let b2 = Ballot(timestamp: 7, node: "nœud-2")
    let entry = CatalogEntry(origin: "n3", proposal: 42, change: Array("CreateTable orders".utf8))

    var samples: [CatalogMessage] {
        [
            .paxos(slot: 1, .prepare(b1)),
            .paxos(slot: .max, .promise(b1, accepted: nil)),
            .paxos(slot: 9, .promise(b1, accepted: .init(ballot: b2, value: entry.encoded()))),
            .paxos(slot: 9, .accept(b2, value: entry.encoded())),
            .paxos(slot: 9, .accept(b2, value: [])),
            .paxos(slot: 9, .accepted(b2)),
            .paxos(slot: 9, .nack(b1, promised: b2)),
            .paxos(slot: 9, .decided(value: entry.encoded())),
            .catchUpRequest(after: 0),
            .catchUpAnswer(after: 3, entries: [], appliedThrough: 3),
            .catchUpAnswer(after: 3, entries: [entry, CatalogEntry(origin: "n1", proposal: 1, change: [])], appliedThrough: 10),
        ]
    }

    func testEveryMessageKindRoundTrips() {
        for message in samples {
            XCTAssertEqual(CatalogMessage(decoding: message.encoded()), message)
        }
    }

    func testTruncatedExtendedOrUnknownMessagesDoNotDecode() {
        for message in samples {
            let bytes = message.encoded()
            for length in 0..<bytes.count {
                XCTAssertNil(CatalogMessage(decoding: Array(bytes.prefix(length))), "\(message) cut to \(length)")
            }
            XCTAssertNil(CatalogMessage(decoding: bytes + [0]), "\(message) with a trailing byte")
        }
        XCTAssertNil(CatalogMessage(decoding: [2, 2, 0, 0, 0, 0, 0, 0, 0, 0]), "unknown format version")
        XCTAssertNil(CatalogMessage(decoding: [1, 4]), "unknown kind")
        XCTAssertNil(CatalogMessage(decoding: [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9]), "unknown Paxos kind")
    }

    func testAHostileEntryCountOrLengthCostsNothing() {
        var writer = WireWriter()
        writer.byte(1); writer.byte(3)
        writer.integer(0, width: 8); writer.integer(5, width: 8)
        writer.integer(UInt64(UInt32.max), width: 4)
        XCTAssertNil(CatalogMessage(decoding: writer.bytes), "four billion entries announced, none there")
        writer = WireWriter()
        writer.byte(1); writer.byte(1); writer.integer(1, width: 8); writer.byte(6)
        writer.integer(UInt64(UInt32.max), width: 4)
        XCTAssertNil(CatalogMessage(decoding: writer.bytes), "a 4 GiB value announced, none there")
    }

    /// Seeded fuzzing: random bytes, and valid messages with random bytes flipped, cut or
    /// inserted. The decoder must return (a message or nil) for every input, and whatever it
    /// returns must encode back to a message that decodes to itself.
    func testSeededFuzzingNeverCrashesTheDecoder() {
        var random = SplitMix64(seed: 0xCA7A_1065)
        let valid = samples.map { $0.encoded() }
        var decoded = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8]
            if random.next(below: 4) == 0 {
                bytes = (0..<random.next(below: 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = valid[random.next(below: valid.count)]
                for _ in 0...random.next(below: 3) {
                    guard !bytes.isEmpty else { break }
                    let at = random.next(below: bytes.count)
                    switch random.next(below: 3) {
                    case 0: bytes[at] ^= UInt8(1 << random.next(below: 8))
                    case 1: bytes.removeSubrange(at...)
                    default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                    }
                }
            }
            if let message = CatalogMessage(decoding: bytes) {
                decoded += 1
                XCTAssertEqual(CatalogMessage(decoding: message.encoded()), message)
            }
        }
        XCTAssertGreaterThan(decoded, 100, "some mutations (a flipped timestamp bit) stay valid messages")
    }
}
