import TernCore
import XCTest

@testable import TernCluster

/// The peer frame codec: exact bytes, round trips, and totality under seeded fuzzing (random
/// bytes, truncations, bit flips, huge lengths): every input is a frame or a typed error.
final class PeerFrameTests: XCTestCase {
    let sample = PeerFrame(kind: .request, requestId: 0x0102_0304_0506_0708, deadlineMillis: 0x0A0B_0C0D, messageKind: 0x1234, payload: [0xAA, 0xBB, 0xCC])

    func testEncodesTheDocumentedLayoutBigEndian() {
        XCTAssertEqual(sample.encoded(), [
            0, 0, 0, 19,  // length of the rest: 16 + 3
            1,  // version
            4,  // request
            1, 2, 3, 4, 5, 6, 7, 8,  // request id
            0x0A, 0x0B, 0x0C, 0x0D,  // deadline
            0x12, 0x34,  // message kind
            0xAA, 0xBB, 0xCC,
        ])
    }

    func testEveryKindRoundTrips() throws {
        for kind in PeerFrame.Kind.allCases {
            let frame = PeerFrame(kind: kind, requestId: UInt64.max, deadlineMillis: UInt32.max, messageKind: UInt16.max, payload: Array(0..<200).map { UInt8($0) })
            var decoder = PeerFrameDecoder()
            decoder.append(frame.encoded())
            XCTAssertEqual(try decoder.next(), frame)
            XCTAssertNil(try decoder.next())
            XCTAssertEqual(decoder.bufferedBytes, 0)
        }
    }

    func testFramesSplitAtEveryByteBoundaryReassemble() throws {
        let frames = [sample, PeerFrame(kind: .ping, requestId: 9), PeerFrame(kind: .response, requestId: 3, messageKind: 2, payload: [1])]
        let stream = frames.flatMap { $0.encoded() }
        for split in 0...stream.count {
            var decoder = PeerFrameDecoder()
            var decoded: [PeerFrame] = []
            decoder.append(stream[..<split])
            while let frame = try decoder.next() { decoded.append(frame) }
            decoder.append(stream[split...])
            while let frame = try decoder.next() { decoded.append(frame) }
            XCTAssertEqual(decoded, frames, "split at \(split)")
        }
    }

    func testOversizedLengthIsRefusedFromTheFourPrefixBytesAlone() {
        var decoder = PeerFrameDecoder(maxFrameBytes: 1024)
        decoder.append([0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? PeerFrameError, .tooLarge(length: 0xFFFF_FFFF, max: 1024))
        }
        XCTAssertThrowsError(try decoder.next(), "the stream stays failed")
        XCTAssertThrowsError(try PeerFrame.bodyLength(prefix: 1025, maxFrameBytes: 1024))
        XCTAssertEqual(try PeerFrame.bodyLength(prefix: 1024, maxFrameBytes: 1024), 1024)
    }

    func testLengthShorterThanTheHeaderIsRefused() {
        var decoder = PeerFrameDecoder()
        decoder.append([0, 0, 0, 15] + Array(repeating: 0, count: 15))
        XCTAssertThrowsError(try decoder.next()) { error in
            XCTAssertEqual(error as? PeerFrameError, .tooShort(length: 15))
        }
    }

    func testUnknownVersionAndKindAreTypedErrors() {
        var wrongVersion = sample.encoded()
        wrongVersion[4] = 2
        var unknownKind = sample.encoded()
        unknownKind[5] = 0
        for (bytes, expected) in [(wrongVersion, PeerFrameError.unsupportedVersion(2)), (unknownKind, .unknownKind(0))] {
            var decoder = PeerFrameDecoder()
            decoder.append(bytes)
            XCTAssertThrowsError(try decoder.next()) { XCTAssertEqual($0 as? PeerFrameError, expected) }
        }
    }

    /// Drains a decoder over `bytes`, fed in pieces drawn from `random`; checks the bound on what
    /// it buffers. Returns the frames and the error that ended the stream, if any.
    func drain(_ bytes: [UInt8], maxFrameBytes: Int, random: inout SplitMix64) -> (frames: [PeerFrame], error: PeerFrameError?) {
        var decoder = PeerFrameDecoder(maxFrameBytes: maxFrameBytes)
        var frames: [PeerFrame] = []
        var offset = 0
        while offset < bytes.count {
            let piece = 1 + random.next(below: 64)
            let end = min(bytes.count, offset + piece)
            decoder.append(bytes[offset..<end])
            offset = end
            do {
                while let frame = try decoder.next() {
                    XCTAssertLessThanOrEqual(frame.bodyBytes, maxFrameBytes)
                    frames.append(frame)
                }
            } catch {
                return (frames, error)
            }
            XCTAssertLessThanOrEqual(decoder.bufferedBytes, maxFrameBytes + PeerFrame.lengthPrefixBytes + 64)
        }
        return (frames, nil)
    }

    func randomFrame(_ random: inout SplitMix64) -> PeerFrame {
        let kinds = PeerFrame.Kind.allCases
        return PeerFrame(
            kind: kinds[random.next(below: kinds.count)], requestId: random.next(), deadlineMillis: UInt32(truncatingIfNeeded: random.next()),
            messageKind: UInt16(truncatingIfNeeded: random.next()), payload: (0..<random.next(below: 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
    }

    func testFuzzRandomBytesNeverCrashAndStayBounded() {
        var random = SplitMix64(seed: 0x7E57_0001)
        for _ in 0..<3_000 {
            let bytes = (0..<random.next(below: 600)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let (frames, error) = drain(bytes, maxFrameBytes: 512, random: &random)
            // Random prefixes almost always announce more than 512 bytes; a stream is either a
            // clean sequence of frames or ends in one typed error.
            if error == nil { XCTAssertTrue(frames.allSatisfy { $0.bodyBytes <= 512 }) }
        }
    }

    func testFuzzValidStreamsWithBitFlipsAndTruncationsDecodeOrFailTyped() {
        var random = SplitMix64(seed: 0x7E57_0002)
        var failures = 0
        for _ in 0..<3_000 {
            let frames = (0..<(1 + random.next(below: 4))).map { _ in randomFrame(&random) }
            var bytes = frames.flatMap { $0.encoded() }
            let truncated = random.next(below: 3) == 0
            if truncated { bytes.removeLast(random.next(below: bytes.count)) }
            let flips = random.next(below: 3)
            for _ in 0..<flips {
                let bit = random.next(below: bytes.count * 8)
                bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            }
            let (decoded, error) = drain(bytes, maxFrameBytes: 4096, random: &random)
            if error != nil { failures += 1 }
            if flips == 0 && !truncated {
                XCTAssertNil(error)
                XCTAssertEqual(decoded, frames)
            } else if flips == 0 {
                XCTAssertEqual(decoded, Array(frames.prefix(decoded.count)), "a truncated stream yields a prefix of its frames")
            }
        }
        XCTAssertGreaterThan(failures, 100, "the flips must actually reach the error paths")
    }

    func testFuzzHugeLengthPrefixesAreRefusedWithoutBuffering() {
        var random = SplitMix64(seed: 0x7E57_0003)
        for _ in 0..<2_000 {
            let length = UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000  // ≥ 16 MiB
            var decoder = PeerFrameDecoder()
            decoder.append([UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)])
            XCTAssertThrowsError(try decoder.next()) { error in
                XCTAssertEqual(error as? PeerFrameError, .tooLarge(length: Int(length), max: PeerFrame.maxFrameBytesDefault))
            }
        }
    }

    func testDecodeOfAnyShortBodyIsTyped() {
        var random = SplitMix64(seed: 0x7E57_0004)
        for count in 0..<PeerFrame.headerBytes {
            let body = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            XCTAssertThrowsError(try PeerFrame.decode(body: body)) { XCTAssertEqual($0 as? PeerFrameError, .tooShort(length: count)) }
        }
    }
}

final class PeerHandshakeTests: XCTestCase {
    let nonceA = [UInt8](repeating: 1, count: 32)
    let nonceB = [UInt8](repeating: 2, count: 32)

    func testHelloAndChallengeRoundTrip() throws {
        let hello = PeerHandshake.Hello(node: "n1", nonce: nonceA)
        XCTAssertEqual(try PeerHandshake.decodeHello(PeerHandshake.encode(hello)), hello)
        let challenge = PeerHandshake.Challenge(node: "n-0123456789ab", nonce: nonceB, proof: Array(repeating: 9, count: 32))
        XCTAssertEqual(try PeerHandshake.decodeChallenge(PeerHandshake.encode(challenge)), challenge)
        let open = PeerHandshake.Challenge(node: "n2", nonce: nonceB, proof: [])
        XCTAssertEqual(try PeerHandshake.decodeChallenge(PeerHandshake.encode(open)), open)
    }

    func testMalformedHelloPayloadsAreTypedFailures() {
        let good = PeerHandshake.encode(PeerHandshake.Hello(node: "n1", nonce: nonceA))
        for cut in 0..<good.count {
            XCTAssertThrowsError(try PeerHandshake.decodeHello(Array(good[..<cut])), "cut at \(cut)")
        }
        XCTAssertThrowsError(try PeerHandshake.decodeHello(good + [0]), "trailing bytes")
        XCTAssertThrowsError(try PeerHandshake.decodeHello([0] + nonceA), "empty node id")
        XCTAssertThrowsError(try PeerHandshake.decodeHello([1, 0xFF] + nonceA), "invalid UTF-8")
    }

    func testFuzzRandomHandshakePayloadsNeverCrash() {
        var random = SplitMix64(seed: 0x7E57_0005)
        for _ in 0..<2_000 {
            let bytes = (0..<random.next(below: 120)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? PeerHandshake.decodeHello(bytes)
            _ = try? PeerHandshake.decodeChallenge(bytes)
        }
    }

    func testTranscriptsDifferByRoleNodesAndNonces() {
        let base = PeerHandshake.transcript(role: .client, client: "n1", server: "n2", clientNonce: nonceA, serverNonce: nonceB)
        XCTAssertNotEqual(base, PeerHandshake.transcript(role: .server, client: "n1", server: "n2", clientNonce: nonceA, serverNonce: nonceB))
        XCTAssertNotEqual(base, PeerHandshake.transcript(role: .client, client: "n2", server: "n1", clientNonce: nonceA, serverNonce: nonceB))
        XCTAssertNotEqual(base, PeerHandshake.transcript(role: .client, client: "n1", server: "n2", clientNonce: nonceB, serverNonce: nonceA))
        // Length prefixes keep ("n1", "2n") and ("n12", "n") apart.
        XCTAssertNotEqual(
            PeerHandshake.transcript(role: .client, client: "n1", server: "2n", clientNonce: nonceA, serverNonce: nonceB),
            PeerHandshake.transcript(role: .client, client: "n12", server: "n", clientNonce: nonceA, serverNonce: nonceB))
    }
}
