/// A parsed HTTP/1.1 response: just what the bench needs.
struct HTTPResponse: Sendable, Equatable {
    var status: Int
    var body: [UInt8]
    /// False when the server asked to close, or the body was delimited by EOF.
    var keepAlive: Bool

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Incremental-by-reparsing HTTP/1.1 response parser, separate from the socket so it can
/// be unit-tested. The connection feeds it everything received so far; responses are
/// small, so parsing again from the start after each `recv` costs little and keeps the
/// code stateless. All sizes are bounded so a misbehaving server cannot exhaust memory.
enum HTTPResponseParser {
    static let maxHeaderBytes = 64 * 1024
    static let maxBodyBytes = 16 * 1024 * 1024

    enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        /// A full response occupying the first `consumed` bytes of the input.
        case complete(HTTPResponse, consumed: Int)
    }

    /// Parses `bytes`. `atEOF` says the peer has closed, which completes a response
    /// whose body has neither Content-Length nor chunked framing.
    static func parse(_ bytes: [UInt8], atEOF: Bool = false) throws -> Outcome {
        guard let headerEnd = find(crlfcrlf, in: bytes, from: 0) else {
            if bytes.count > maxHeaderBytes { throw protocolError("response headers exceed \(maxHeaderBytes) bytes") }
            if atEOF { throw protocolError("connection closed before the response headers ended") }
            return .incomplete
        }
        let head = try parseHead(bytes, end: headerEnd)
        let bodyStart = headerEnd + crlfcrlf.count

        // 1xx, 204 and 304 never carry a body.
        if head.status < 200 || head.status == 204 || head.status == 304 {
            return .complete(HTTPResponse(status: head.status, body: [], keepAlive: head.keepAlive), consumed: bodyStart)
        }
        if head.chunked {
            return try parseChunked(bytes, from: bodyStart, head: head, atEOF: atEOF)
        }
        if let length = head.contentLength {
            guard length <= maxBodyBytes else { throw protocolError("response body of \(length) bytes is too large") }
            guard bytes.count - bodyStart >= length else {
                if atEOF { throw protocolError("connection closed mid-body") }
                return .incomplete
            }
            let body = Array(bytes[bodyStart..<(bodyStart + length)])
            return .complete(HTTPResponse(status: head.status, body: body, keepAlive: head.keepAlive), consumed: bodyStart + length)
        }
        // No framing: the body runs until the server closes the connection.
        if bytes.count - bodyStart > maxBodyBytes { throw protocolError("unframed response body is too large") }
        guard atEOF else { return .incomplete }
        return .complete(HTTPResponse(status: head.status, body: Array(bytes[bodyStart...]), keepAlive: false), consumed: bytes.count)
    }

    // MARK: Head

    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked = false
        var keepAlive = true
    }

    /// Parses the status line and the few headers that matter, scanning bytes directly
    /// (no per-line String allocation: this runs once per request on the hot path).
    static func parseHead(_ bytes: [UInt8], end: Int) throws -> Head {
        var lineStart = 0
        var result: Head?
        while lineStart < end {
            let lineEnd = Swift.min(find(crlf, in: bytes, from: lineStart) ?? end, end)
            let line = bytes[lineStart..<lineEnd]
            if result == nil {
                result = try parseStatusLine(line)
            } else {
                try applyHeader(line, to: &result!)
            }
            lineStart = lineEnd + crlf.count
        }
        guard let result else { throw protocolError("empty response") }
        return result
    }

    /// "HTTP/1.1 200 OK" (the reason phrase is optional).
    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws -> Head {
        let text = { String(decoding: line.prefix(100), as: UTF8.self) }
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix), line[line.startIndex + 8] == UInt8(ascii: " "),
            let status = parseDecimal(line[(line.startIndex + 9)..<(line.startIndex + 12)]), status >= 100
        else { throw protocolError("malformed status line '\(text())'") }
        let http10 = line[line.startIndex + 7] == UInt8(ascii: "0")
        return Head(status: status, keepAlive: !http10)
    }

    private static func applyHeader(_ line: ArraySlice<UInt8>, to head: inout Head) throws {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = line[line.startIndex..<colon]
        let value = trimSpaces(line[(colon + 1)...])
        if equalsIgnoringCase(name, "content-length") {
            guard let length = parseDecimal(value) else {
                throw protocolError("bad Content-Length '\(String(decoding: value.prefix(40), as: UTF8.self))'")
            }
            head.contentLength = length
        } else if equalsIgnoringCase(name, "transfer-encoding") {
            head.chunked = lowercased(value).hasSuffix("chunked")
        } else if equalsIgnoringCase(name, "connection") {
            let tokens = lowercased(value)
            if tokens.contains("close") { head.keepAlive = false }
            if tokens.contains("keep-alive") { head.keepAlive = true }
        }
    }

    // MARK: Chunked bodies

    /// Decodes `size CRLF data CRLF ... 0 CRLF [trailers] CRLF`. Chunk extensions are ignored.
    private static func parseChunked(_ bytes: [UInt8], from start: Int, head: Head, atEOF: Bool) throws -> Outcome {
        var body: [UInt8] = []
        var cursor = start
        while true {
            guard let lineEnd = find(crlf, in: bytes, from: cursor) else { return try incomplete(atEOF) }
            let line = bytes[cursor..<lineEnd]
            let sizeField = trimSpaces(line.prefix(while: { $0 != UInt8(ascii: ";") }))
            guard let size = Int(String(decoding: sizeField, as: UTF8.self), radix: 16), size >= 0 else {
                throw protocolError("bad chunk size '\(String(decoding: line.prefix(20), as: UTF8.self))'")
            }
            cursor = lineEnd + crlf.count
            if size == 0 { break }
            guard body.count + size <= maxBodyBytes else { throw protocolError("chunked response body is too large") }
            guard bytes.count - cursor >= size + crlf.count else { return try incomplete(atEOF) }
            body.append(contentsOf: bytes[cursor..<(cursor + size)])
            cursor += size + crlf.count
        }
        // Skip trailer lines up to the empty line that ends the message.
        while true {
            guard let lineEnd = find(crlf, in: bytes, from: cursor) else { return try incomplete(atEOF) }
            let empty = lineEnd == cursor
            cursor = lineEnd + crlf.count
            if empty { break }
        }
        return .complete(HTTPResponse(status: head.status, body: body, keepAlive: head.keepAlive), consumed: cursor)
    }

    private static func incomplete(_ atEOF: Bool) throws -> Outcome {
        if atEOF { throw protocolError("connection closed mid-chunk") }
        return .incomplete
    }

    // MARK: Helpers

    private static let crlf: [UInt8] = Array("\r\n".utf8)
    private static let crlfcrlf: [UInt8] = Array("\r\n\r\n".utf8)

    /// Index of the first occurrence of `needle` in `haystack` at or after `from`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// Non-negative decimal with at most 15 digits (bounded, so it cannot overflow).
    static func parseDecimal(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func trimSpaces(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (b: UInt8) in b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return bytes[bytes.endIndex...] }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return bytes[first...last]
    }

    /// ASCII case-insensitive comparison of a header name with a lowercase literal.
    private static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { actual, wanted in asciiLower(actual) == wanted }
        }
    }

    private static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map(asciiLower), as: UTF8.self)
    }

    private static func asciiLower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    private static func protocolError(_ message: String) -> BenchError {
        .connection("HTTP protocol error: \(message)")
    }
}

