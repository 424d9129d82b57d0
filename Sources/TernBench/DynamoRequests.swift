#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds raw HTTP/1.1 DynamoDB requests by plain string formatting.
///
/// JSON is written by hand because every dynamic piece is ASCII that needs no escaping
/// (validated table names, `key-NNNNNN` keys, an alphanumeric payload), and because
/// `JSONSerialization` would dominate the client's CPU on the hot path.
struct DynamoRequests: Sendable {
    let tableName: String
    /// `Host` header value, e.g. `127.0.0.1:8000` or `[::1]:8000`.
    let hostHeader: String
    /// Zero-padding width of key numbers, so every key has the same length.
    let keyWidth: Int
    /// The `data` attribute value, built once.
    let payload: String

    init(tableName: String, host: String, port: Int, keyCount: Int, itemBytes: Int) {
        self.tableName = tableName
        self.hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.keyWidth = Swift.max(6, String(Swift.max(keyCount - 1, 0)).count)
        self.payload = Self.makePayload(bytes: itemBytes)
    }

    init(_ config: BenchConfiguration) {
        self.init(
            tableName: config.tableName, host: config.host, port: config.port,
            keyCount: config.keyCount, itemBytes: config.itemBytes)
    }

    // MARK: Bodies

    func key(_ index: Int) -> String {
        let digits = String(index)
        return "key-" + String(repeating: "0", count: Swift.max(0, keyWidth - digits.count)) + digits
    }

    func putItemBody(key index: Int) -> String {
        #"{"TableName":"\#(tableName)","Item":{"pk":{"S":"\#(key(index))"},"data":{"S":"\#(payload)"}}}"#
    }

    func getItemBody(key index: Int) -> String {
        #"{"TableName":"\#(tableName)","Key":{"pk":{"S":"\#(key(index))"}}}"#
    }

    func describeTableBody() -> String {
        #"{"TableName":"\#(tableName)"}"#
    }

    func createTableBody() -> String {
        #"{"TableName":"\#(tableName)","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"#
            + #""AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"#
            + #""BillingMode":"PAY_PER_REQUEST"}"#
    }

    // MARK: HTTP framing

    /// Writes a complete request into `buffer` (cleared first, capacity kept, so a
    /// thread's steady state allocates no new request buffers).
    func write(target: String, body: String, amzDate: String, into buffer: inout [UInt8]) {
        buffer.removeAll(keepingCapacity: true)
        let head =
            "POST / HTTP/1.1\r\n"
            + "Host: \(hostHeader)\r\n"
            + "Content-Type: application/x-amz-json-1.0\r\n"
            + "X-Amz-Target: DynamoDB_20120810.\(target)\r\n"
            + "X-Amz-Date: \(amzDate)\r\n"
            + "Authorization: \(Self.authorization(amzDate: amzDate))\r\n"
            + "Content-Length: \(body.utf8.count)\r\n"
            + "\r\n"
        buffer.append(contentsOf: head.utf8)
        buffer.append(contentsOf: body.utf8)
    }

    func request(target: String, body: String, amzDate: String) -> [UInt8] {
        var buffer: [UInt8] = []
        write(target: target, body: body, amzDate: amzDate, into: &buffer)
        return buffer
    }

    /// A syntactically valid SigV4 header with an all-zero signature: benches run against
    /// a server with auth off, and real signing would only measure the client's HMAC.
    /// The credential scope date is taken from `amzDate` so the two stay consistent.
    static func authorization(amzDate: String) -> String {
        let day = amzDate.prefix(8)
        return "AWS4-HMAC-SHA256 Credential=bench/\(day)/us-east-1/dynamodb/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
            + "Signature=" + String(repeating: "0", count: 64)
    }

    /// Deterministic alphanumeric filler (no JSON escaping needed, not trivially compressible).
    private static func makePayload(bytes: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        let bytes = (0..<bytes).map { alphabet[$0 % alphabet.count] }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Formats `X-Amz-Date` (`yyyyMMdd'T'HHmmss'Z'`, UTC), re-formatting at most once per
/// second because the value only changes that often. One per thread (it is mutable).
struct AmzDateClock {
    private var cachedSecond: Int = -1
    private var cached = ""

    mutating func now() -> String {
        let second = time(nil)
        if second != cachedSecond {
            cachedSecond = second
            cached = Self.format(epochSeconds: second)
        }
        return cached
    }

    static func format(epochSeconds: Int) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + pad(Int(parts.tm_mon) + 1, 2) + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + pad(Int(parts.tm_min), 2) + pad(Int(parts.tm_sec), 2) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}
