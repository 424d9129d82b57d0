import TernCore
import XCTest

@testable import TernAPI

/// zlib behind `HTTPCompression`, Accept-Encoding negotiation and the Date header format, in process.
/// The client tests in tests/test_http_compression.py and test_http_headers.py cover them over HTTP.
final class HTTPCompressionTests: XCTestCase {
    let json = Array(#"{"TableName":"things","Item":{"pk":{"S":"a"},"v":{"S":"\#(String(repeating: "xyz", count: 2000))"}}}"#.utf8)

    func testRoundTripsBothCodings() throws {
        for coding in [ContentCoding.gzip, .deflate] {
            let compressed = try XCTUnwrap(HTTPCompression.compress(json, coding: coding, level: 1))
            XCTAssertLessThan(compressed.count, json.count / 10)
            XCTAssertEqual(try HTTPCompression.decompress(compressed, coding: coding, limit: json.count), json)
        }
    }

    func testGzipAndZlibWrappersAreTheStandardOnes() throws {
        let gzip = try XCTUnwrap(HTTPCompression.compress(json, coding: .gzip, level: 1))
        XCTAssertEqual(Array(gzip.prefix(3)), [0x1F, 0x8B, 0x08])  // RFC 1952 magic and method
        let zlib = try XCTUnwrap(HTTPCompression.compress(json, coding: .deflate, level: 1))
        XCTAssertTrue(HTTPCompression.hasZlibHeader(zlib))
    }

    func testOutputOneByteOverTheLimitIsTooLarge() throws {
        let compressed = try XCTUnwrap(HTTPCompression.compress(json, coding: .gzip, level: 9))
        XCTAssertEqual(try HTTPCompression.decompress(compressed, coding: .gzip, limit: json.count), json)
        XCTAssertThrowsError(try HTTPCompression.decompress(compressed, coding: .gzip, limit: json.count - 1)) {
            XCTAssertEqual($0 as? DecompressionFailure, .tooLarge)
        }
    }

    func testBombStopsAtTheBound() throws {
        // 64 MiB of zeros in about 64 KB: decoding stops after the first step past 1 MiB.
        let zeros = [UInt8](repeating: 0, count: 64 * 1024 * 1024)
        let bomb = try XCTUnwrap(HTTPCompression.compress(zeros, coding: .gzip, level: 9))
        XCTAssertLessThan(bomb.count, 100_000)
        XCTAssertThrowsError(try HTTPCompression.decompress(bomb, coding: .gzip, limit: 1024 * 1024)) {
            XCTAssertEqual($0 as? DecompressionFailure, .tooLarge)
        }
    }

    func testMalformedStreamsAreReported() throws {
        let gzip = try XCTUnwrap(HTTPCompression.compress(json, coding: .gzip, level: 1))
        let cases: [(String, [UInt8], ContentCoding)] = [
            ("empty", [], .gzip),
            ("plain text", json, .gzip),
            ("truncated", Array(gzip.dropLast(8)), .gzip),
            ("trailing junk", gzip + Array("junk".utf8), .gzip),
            ("deflate with trailing data", try XCTUnwrap(HTTPCompression.compress(json, coding: .deflate, level: 1)) + [0], .deflate),
        ]
        for (name, input, coding) in cases {
            XCTAssertThrowsError(try HTTPCompression.decompress(input, coding: coding, limit: 1 << 20), name) { error in
                guard case .malformed = error as? DecompressionFailure else { return XCTFail("\(name): \(error)") }
            }
        }
    }

    func testConcatenatedGzipMembersDecodeAsOneBody() throws {
        let first = try XCTUnwrap(HTTPCompression.compress(Array(json.prefix(100)), coding: .gzip, level: 1))
        let second = try XCTUnwrap(HTTPCompression.compress(Array(json.dropFirst(100)), coding: .gzip, level: 1))
        XCTAssertEqual(try HTTPCompression.decompress(first + second, coding: .gzip, limit: json.count), json)
    }

    func testResponsesBelowTheThresholdOrIncompressibleStayPlain() {
        let small = APIResponse(status: 200, body: Array(json.prefix(4095)))
        XCTAssertNil(WireResponse(small, contentType: "t", coding: .gzip).contentCoding)
        let large = APIResponse(status: 200, body: Array(json.prefix(4096)))
        XCTAssertEqual(WireResponse(large, contentType: "t", coding: .gzip).contentCoding, .gzip)
        XCTAssertNil(WireResponse(large, contentType: "t", coding: nil).contentCoding)
        var generator = SplitMix64(seed: 42)
        let noise = APIResponse(status: 200, body: (0..<8192).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        let wire = WireResponse(noise, contentType: "t", coding: .gzip)
        XCTAssertNil(wire.contentCoding)
        XCTAssertEqual(wire.body, noise.body)
    }

    func testContentEncodingHeaderNamesOneCoding() throws {
        XCTAssertNil(try RequestBodyCoding.coding(of: nil))
        XCTAssertNil(try RequestBodyCoding.coding(of: "identity"))
        XCTAssertEqual(try RequestBodyCoding.coding(of: "GZip"), .gzip)
        XCTAssertEqual(try RequestBodyCoding.coding(of: "x-gzip"), .gzip)
        XCTAssertEqual(try RequestBodyCoding.coding(of: "identity, deflate"), .deflate)
        XCTAssertThrowsError(try RequestBodyCoding.coding(of: "gzip, gzip"))
        XCTAssertThrowsError(try RequestBodyCoding.coding(of: "br"))
    }

    func testAcceptEncodingNegotiation() {
        let cases: [(String, ContentCoding?)] = [
            ("gzip", .gzip), ("deflate", .deflate), ("identity", nil), ("", nil), ("br", nil), ("x-gzip", nil),
            ("gzip, deflate", .gzip), ("br, identity, deflate, gzip", .deflate), ("*", .gzip), ("*, deflate", .deflate),
            ("*, gzip;q=0.5", .deflate), ("gzip;q=0", nil), ("*;q=0", nil), ("gzip;q=31,deflate;q=51", .gzip),
            ("deflate;q=0.5,gzip;q=0.", .deflate), ("deflate;q=0.5,gzip;q=0.x", .gzip), ("deflate;q=-0.5,gzip;q=0.2", .gzip),
            ("gzip;q=0, gzip;q=1, gzip;q=0", .gzip), ("gzip br", nil), ("\"gzip\"", nil),
        ]
        for (header, expected) in cases {
            XCTAssertEqual(AcceptEncoding.preferredCoding(header), expected, header)
        }
    }

    func testDateHeaderFormat() {
        let cases: [(Int64, String)] = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),  // RFC 9110 §5.6.7's example
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
            (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ]
        for (seconds, expected) in cases {
            XCTAssertEqual(HTTPDate.imfFixdate(epochSeconds: seconds), expected)
        }
    }
}
