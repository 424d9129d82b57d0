import Foundation
import TernCore
import XCTest

@testable import TernBench

final class EndpointParsingTests: XCTestCase {
    func testSeveralEndpointsSpreadTheConnectionsRoundRobin() throws {
        let config = try BenchConfiguration(endpoint: "http://127.0.0.1:8001,http://127.0.0.1:8002,127.0.0.1:8003", operation: .put)
        XCTAssertEqual((0..<4).map { config.endpoint(for: $0).port }, [8001, 8002, 8003, 8001])
        XCTAssertEqual(config.port, 8001)
        XCTAssertThrowsError(try BenchConfiguration(endpoint: ",", operation: .put))
    }

    func testHostAndPort() throws {
        let parsed = try BenchConfiguration.parseEndpoint("http://127.0.0.1:8000")
        XCTAssertEqual(parsed.host, "127.0.0.1")
        XCTAssertEqual(parsed.port, 8000)
    }

    func testDefaultsPortTo80AndIgnoresPath() throws {
        let parsed = try BenchConfiguration.parseEndpoint("http://localhost/some/path?x=1")
        XCTAssertEqual(parsed.host, "localhost")
        XCTAssertEqual(parsed.port, 80)
    }

    func testSchemeIsOptionalAndCaseInsensitive() throws {
        XCTAssertEqual(try BenchConfiguration.parseEndpoint("db.local:9000").port, 9000)
        XCTAssertEqual(try BenchConfiguration.parseEndpoint("HTTP://db.local:9000/").host, "db.local")
        XCTAssertEqual(try BenchConfiguration.parseEndpoint("  http://h:1  ").host, "h")
    }

    func testIPv6Literal() throws {
        let parsed = try BenchConfiguration.parseEndpoint("http://[::1]:8000/")
        XCTAssertEqual(parsed.host, "::1")
        XCTAssertEqual(parsed.port, 8000)
        XCTAssertEqual(try BenchConfiguration.parseEndpoint("http://[fe80::1]").port, 80)
    }

    func testRejectsBadEndpoints() {
        for bad in [
            "https://127.0.0.1:8000", "ftp://h:1", "http://:8000", "http://h:0", "http://h:65536",
            "http://h:abc", "http://h:", "http://::1:8000", "http://[::1", "http://u@h:1", "",
        ] {
            XCTAssertThrowsError(try BenchConfiguration.parseEndpoint(bad), "accepted '\(bad)'")
        }
    }

    func testEndpointInitializerAndDefaults() throws {
        let config = try BenchConfiguration(endpoint: "http://10.0.0.2:8123", operation: .mix)
        XCTAssertEqual(config.host, "10.0.0.2")
        XCTAssertEqual(config.port, 8123)
        XCTAssertEqual(config.operation, .mix)
        XCTAssertEqual(config.connections, 16)
        XCTAssertEqual(config.seconds, 10)
        XCTAssertEqual(config.keyCount, 10_000)
        XCTAssertEqual(config.itemBytes, 100)
        XCTAssertEqual(config.tableName, "tern-bench")
        XCTAssertNoThrow(try config.validate())
    }

    func testValidationRejectsNonsense() {
        let base = BenchConfiguration()
        var config = base
        config.connections = 0
        XCTAssertThrowsError(try config.validate())
        config = base
        config.seconds = 0
        XCTAssertThrowsError(try config.validate())
        config = base
        config.keyCount = 0
        XCTAssertThrowsError(try config.validate())
        config = base
        config.tableName = "bad\"name"
        XCTAssertThrowsError(try config.validate())
        config = base
        config.tableName = "ab"
        XCTAssertThrowsError(try config.validate())
    }

    func testRunRejectsInvalidConfigurationWithoutNetwork() {
        var config = BenchConfiguration()
        config.connections = -1
        XCTAssertThrowsError(try Bench.run(config, log: { _ in })) { error in
            guard case BenchError.invalidConfiguration = error else { return XCTFail("got \(error)") }
        }
    }
}

final class LatencyHistogramTests: XCTestCase {
    func testBucketsRoundTripWithinOnePercent() {
        var value: UInt64 = 1
        while value <= LatencyHistogram.maxTrackable {
            let (low, width) = LatencyHistogram.range(ofBucket: LatencyHistogram.index(of: value))
            XCTAssertTrue(low <= value && value < low + width, "value \(value) not in [\(low), \(low + width))")
            if value < 128 {
                XCTAssertEqual(width, 1, "small values are recorded exactly")
            } else {
                XCTAssertLessThanOrEqual(Double(width) / Double(value), 1.0 / 64 + 1e-12, "bucket too wide at \(value)")
            }
            value = value * 3 / 2 + 1
        }
    }

    func testBucketIndexesAreContiguousAndMonotonic() {
        var previous = -1
        for value in UInt64(0)..<5_000 {
            let index = LatencyHistogram.index(of: value)
            XCTAssertTrue(index == previous || index == previous + 1, "gap at \(value)")
            previous = index
        }
    }

    func testUniformPercentiles() {
        var histogram = LatencyHistogram()
        // 1 µs ... 10 ms in 1 µs steps.
        for micros in UInt64(1)...10_000 { histogram.record(micros * 1_000) }
        XCTAssertEqual(histogram.count, 10_000)
        assertNear(histogram.percentile(0.50), 5_000_000)
        assertNear(histogram.percentile(0.99), 9_900_000)
        assertNear(histogram.percentile(0.999), 9_990_000)
        XCTAssertEqual(histogram.percentile(1.0), 10_000_000)
        XCTAssertEqual(histogram.max, 10_000_000)
        XCTAssertEqual(histogram.percentile(0), 1_000)
    }

    func testSkewedDistribution() {
        var histogram = LatencyHistogram()
        for _ in 0..<990 { histogram.record(200_000) }  // 0.2 ms
        for _ in 0..<10 { histogram.record(50_000_000) }  // 50 ms tail
        assertNear(histogram.percentile(0.50), 200_000)
        assertNear(histogram.percentile(0.99), 200_000)
        assertNear(histogram.percentile(0.991), 50_000_000)
        assertNear(histogram.percentile(0.999), 50_000_000)
    }

    func testSingleValueIsExact() {
        var histogram = LatencyHistogram()
        histogram.record(123_457)
        XCTAssertEqual(histogram.percentile(0.5), 123_457)
        XCTAssertEqual(histogram.percentile(0.999), 123_457)
    }

    func testEmptyIsZero() {
        let histogram = LatencyHistogram()
        XCTAssertEqual(histogram.percentile(0.5), 0)
        XCTAssertEqual(histogram.max, 0)
        XCTAssertEqual(histogram.count, 0)
    }

    func testHugeValuesClampButKeepExactMax() {
        var histogram = LatencyHistogram()
        histogram.record(1_000)
        histogram.record(30_000_000_000)  // 30 s, beyond the trackable range
        XCTAssertEqual(histogram.max, 30_000_000_000)
        XCTAssertEqual(histogram.percentile(1.0), 30_000_000_000)
        XCTAssertEqual(histogram.percentile(0.5), 1_000)
    }

    func testMergeEqualsRecordingEverything() {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        var all = LatencyHistogram()
        var random = SplitMix64(seed: 7)
        for i in 0..<20_000 {
            let value = 1_000 + random.next() % 5_000_000
            if i % 3 == 0 { a.record(value) } else { b.record(value) }
            all.record(value)
        }
        a.merge(b)
        XCTAssertEqual(a.count, all.count)
        XCTAssertEqual(a.max, all.max)
        for q in [0.5, 0.9, 0.99, 0.999] {
            XCTAssertEqual(a.percentile(q), all.percentile(q))
        }
        // Uniform on [1 µs, 5 ms]: the median is ~2.5 ms.
        assertNear(all.percentile(0.5), 2_500_000, tolerance: 0.03)
    }

    private func assertNear(
        _ actual: UInt64, _ expected: UInt64, tolerance: Double = 0.01, file: StaticString = #filePath, line: UInt = #line
    ) {
        let error = abs(Double(actual) - Double(expected)) / Double(expected)
        XCTAssertLessThanOrEqual(error, tolerance, "\(actual) is not within \(tolerance * 100)% of \(expected)", file: file, line: line)
    }
}

final class RequestFormattingTests: XCTestCase {
    let requests = DynamoRequests(tableName: "tern-bench", host: "127.0.0.1", port: 8000, keyCount: 10_000, itemBytes: 100)

    func testKeysArePaddedToFixedWidth() {
        XCTAssertEqual(requests.key(123), "key-000123")
        XCTAssertEqual(requests.key(0), "key-000000")
        let wide = DynamoRequests(tableName: "t01", host: "h", port: 1, keyCount: 10_000_000, itemBytes: 0)
        XCTAssertEqual(wide.key(42), "key-0000042")
    }

    func testPutItemBodyIsValidJSONOfTheRightShape() throws {
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(requests.putItemBody(key: 123).utf8)) as? [String: Any])
        XCTAssertEqual(json["TableName"] as? String, "tern-bench")
        let item = try XCTUnwrap(json["Item"] as? [String: [String: String]])
        XCTAssertEqual(item["pk"]?["S"], "key-000123")
        XCTAssertEqual(item["data"]?["S"]?.utf8.count, 100)
    }

    func testGetDescribeAndCreateBodiesAreValidJSON() throws {
        let get = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(requests.getItemBody(key: 7).utf8)) as? [String: Any])
        XCTAssertEqual((get["Key"] as? [String: [String: String]])?["pk"]?["S"], "key-000007")
        let describe = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(requests.describeTableBody().utf8)) as? [String: String])
        XCTAssertEqual(describe, ["TableName": "tern-bench"])
        let create = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(requests.createTableBody().utf8)) as? [String: Any])
        XCTAssertEqual(create["BillingMode"] as? String, "PAY_PER_REQUEST")
        let keySchema = try XCTUnwrap(create["KeySchema"] as? [[String: String]])
        XCTAssertEqual(keySchema, [["AttributeName": "pk", "KeyType": "HASH"]])
        let definitions = try XCTUnwrap(create["AttributeDefinitions"] as? [[String: String]])
        XCTAssertEqual(definitions, [["AttributeName": "pk", "AttributeType": "S"]])
    }

    func testRequestFraming() throws {
        let body = requests.getItemBody(key: 5)
        let text = String(decoding: requests.request(target: "GetItem", body: body, amzDate: "20260101T000000Z"), as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[1], body)
        let lines = parts[0].components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "POST / HTTP/1.1")
        let headers = Set(lines.dropFirst())
        XCTAssertTrue(headers.contains("Host: 127.0.0.1:8000"))
        XCTAssertTrue(headers.contains("Content-Type: application/x-amz-json-1.0"))
        XCTAssertTrue(headers.contains("X-Amz-Target: DynamoDB_20120810.GetItem"))
        XCTAssertTrue(headers.contains("X-Amz-Date: 20260101T000000Z"))
        XCTAssertTrue(headers.contains("Content-Length: \(body.utf8.count)"))
        XCTAssertTrue(
            headers.contains(
                "Authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/dynamodb/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
                    + String(repeating: "0", count: 64)))
    }

    func testBufferReuseReplacesPreviousRequest() {
        var buffer: [UInt8] = []
        requests.write(target: "PutItem", body: requests.putItemBody(key: 1), amzDate: "20260101T000000Z", into: &buffer)
        requests.write(target: "GetItem", body: "{}", amzDate: "20260101T000000Z", into: &buffer)
        XCTAssertEqual(buffer, requests.request(target: "GetItem", body: "{}", amzDate: "20260101T000000Z"))
    }

    func testIPv6HostHeaderIsBracketed() {
        let v6 = DynamoRequests(tableName: "t01", host: "::1", port: 8000, keyCount: 1, itemBytes: 0)
        XCTAssertEqual(v6.hostHeader, "[::1]:8000")
    }

    func testAmzDateFormat() {
        XCTAssertEqual(AmzDateClock.format(epochSeconds: 0), "19700101T000000Z")
        XCTAssertEqual(AmzDateClock.format(epochSeconds: 1_767_225_600), "20260101T000000Z")
        XCTAssertEqual(AmzDateClock.format(epochSeconds: 1_709_210_096), "20240229T123456Z")
        var clock = AmzDateClock()
        XCTAssertEqual(clock.now().utf8.count, 16)
    }
}

final class ResponseParsingTests: XCTestCase {
    private func parse(_ text: String, atEOF: Bool = false) throws -> HTTPResponseParser.Outcome {
        try HTTPResponseParser.parse(Array(text.utf8), atEOF: atEOF)
    }

    func testContentLengthResponse() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}"
        XCTAssertEqual(
            try parse(raw), .complete(HTTPResponse(status: 200, body: Array("{}".utf8), keepAlive: true), consumed: raw.utf8.count))
    }

    func testIncompleteUntilWholeBodyArrives() throws {
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Len"), .incomplete)
        XCTAssertEqual(try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), .incomplete)
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", atEOF: true))
    }

    func testConsumesOnlyTheFirstResponse() throws {
        let first = "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nabc"
        guard case .complete(let response, let consumed) = try parse(first + "HTTP/1.1 200 OK\r\n") else {
            return XCTFail("expected a complete response")
        }
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.bodyText, "abc")
        XCTAssertEqual(consumed, first.utf8.count)
    }

    func testChunkedBody() throws {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\n"
        XCTAssertEqual(try parse(String(raw.dropLast(2))), .incomplete)
        guard case .complete(let response, let consumed) = try parse(raw) else { return XCTFail("expected complete") }
        XCTAssertEqual(response.bodyText, "Wikipedia")
        XCTAssertEqual(consumed, raw.utf8.count)
    }

    func testConnectionCloseAndHTTP10DisableKeepAlive() throws {
        guard case .complete(let closing, _) = try parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
            case .complete(let old, _) = try parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
        else { return XCTFail("expected complete responses") }
        XCTAssertFalse(closing.keepAlive)
        XCTAssertFalse(old.keepAlive)
    }

    func testUnframedBodyEndsAtEOF() throws {
        let raw = "HTTP/1.1 500 Internal Server Error\r\n\r\noops"
        XCTAssertEqual(try parse(raw), .incomplete)
        XCTAssertEqual(
            try parse(raw, atEOF: true),
            .complete(HTTPResponse(status: 500, body: Array("oops".utf8), keepAlive: false), consumed: raw.utf8.count))
    }

    func testNoContentHasNoBody() throws {
        guard case .complete(let response, _) = try parse("HTTP/1.1 204 No Content\r\n\r\n") else {
            return XCTFail("expected complete")
        }
        XCTAssertEqual(response.status, 204)
        XCTAssertTrue(response.body.isEmpty)
    }

    func testMalformedResponsesThrow() {
        XCTAssertThrowsError(try parse("SSH-2.0-OpenSSH\r\n\r\n"))
        XCTAssertThrowsError(try parse("HTTP/1.1 2x0 OK\r\n\r\n"))
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
        XCTAssertThrowsError(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
        XCTAssertThrowsError(try parse(String(repeating: "x", count: HTTPResponseParser.maxHeaderBytes + 1)))
    }
}

final class SupportTests: XCTestCase {
    func testSplitMixIsDeterministicPerSeed() {
        var a = SplitMix64(seed: 3)
        var b = SplitMix64(seed: 3)
        var c = SplitMix64(seed: 4)
        let sequenceA = (0..<8).map { _ in a.next() }
        XCTAssertEqual(sequenceA, (0..<8).map { _ in b.next() })
        XCTAssertNotEqual(sequenceA, (0..<8).map { _ in c.next() })
        // Reference value of SplitMix64 seeded with 0.
        var zero = SplitMix64(seed: 0)
        XCTAssertEqual(zero.next(), 0xE220_A839_7B1D_CDAF)
    }

    func testNextBelowStaysInRangeAndCoversIt() {
        var random = SplitMix64(seed: 1)
        var seen = Set<Int>()
        for _ in 0..<1_000 {
            let value = random.next(below: 10)
            XCTAssertTrue((0..<10).contains(value))
            seen.insert(value)
        }
        XCTAssertEqual(seen.count, 10)
    }

    func testMixIsRoughlyHalfGets() {
        var random = SplitMix64(seed: 9)
        let gets = (0..<10_000).filter { _ in Bench.pick(.mix, &random) == .get }.count
        XCTAssertTrue((4_700...5_300).contains(gets), "\(gets) gets out of 10000")
        XCTAssertEqual(Bench.pick(.put, &random), .put)
    }

    func testRunOnThreadsReturnsResultsInOrder() {
        var polls = 0
        let results = runOnThreads(count: 8, poll: { polls += 1 }, body: { $0 * $0 })
        XCTAssertEqual(results, (0..<8).map { $0 * $0 })
        XCTAssertGreaterThan(polls, 0)
    }

    func testReport() {
        let result = BenchResult(
            configuration: BenchConfiguration(operation: .get), requests: 123_456, errors: 0, seconds: 10.0,
            requestsPerSecond: 12_345.6, p50Micros: 1_200, p99Micros: 3_400, p999Micros: 5_600, maxMicros: 9_800)
        XCTAssertEqual(
            result.report(),
            """
            op=get connections=16 seconds=10.0 keys=10000 item=100B
            requests=123456 errors=0 throughput=12345.6 req/s
            latency p50=1.20ms p99=3.40ms p99.9=5.60ms max=9.80ms
            """)
    }
}
