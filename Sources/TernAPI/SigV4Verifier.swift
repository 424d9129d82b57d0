import Crypto
import TernCore

// AWS Signature Version 4 verification for incoming DynamoDB requests.
//
// The server recomputes the signature the client must have produced (canonical request →
// string to sign → HMAC with a key derived from the secret) and compares it in constant time.
// Only the `Authorization: AWS4-HMAC-SHA256 ...` header form is supported; presigned query
// strings are not (DynamoDB clients never use them).

// MARK: - Credentials

/// The access keys the server accepts: access key id → secret access key.
public struct SigV4Credentials: Sendable {
    private let secrets: [String: String]

    public init(_ secrets: [String: String]) {
        self.secrets = secrets
    }

    /// The secret for `accessKey`, or nil when the key is unknown.
    public func secret(forAccessKey accessKey: String) -> String? {
        secrets[accessKey]
    }

    /// Parses a credentials file: one `ACCESS_KEY SECRET` pair per line (whitespace separated);
    /// blank lines and lines starting with `#` are ignored. Throws `SigV4CredentialsError` for
    /// malformed lines, duplicate keys, or a file with no pairs at all (which would otherwise
    /// silently reject every request).
    public static func parse(fileContents: String) throws -> SigV4Credentials {
        var secrets: [String: String] = [:]
        // `isNewline` also matches "\r\n", which Swift treats as a single Character.
        let lines = fileContents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            // Error messages never echo the line itself: it may hold a secret.
            guard fields.count == 2 else {
                throw SigV4CredentialsError(
                    "line \(lineNumber): expected 'ACCESS_KEY SECRET' (2 whitespace-separated fields), found \(fields.count)"
                )
            }
            let accessKey = String(fields[0])
            // The credential scope is '/'-separated, so such a key could never be presented.
            guard !accessKey.contains("/") else {
                throw SigV4CredentialsError("line \(lineNumber): access key id must not contain '/'")
            }
            guard secrets[accessKey] == nil else {
                throw SigV4CredentialsError("line \(lineNumber): duplicate access key id '\(accessKey)'")
            }
            secrets[accessKey] = String(fields[1])
        }
        guard !secrets.isEmpty else {
            throw SigV4CredentialsError("credentials file contains no 'ACCESS_KEY SECRET' pairs")
        }
        return SigV4Credentials(secrets)
    }
}

/// A credentials file could not be parsed.
public struct SigV4CredentialsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "invalid credentials file: \(message)" }
}

// MARK: - Request

/// The parts of an HTTP request that SigV4 covers, as received on the wire.
public struct SigV4Request: Sendable {
    /// The HTTP method, e.g. "POST".
    public var method: String
    /// The raw request path, e.g. "/" (may contain %-escapes).
    public var path: String
    /// The raw query string without "?", usually "".
    public var query: String
    /// Headers as received: any case, possibly repeated.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        method: String = "POST",
        path: String = "/",
        query: String = "",
        headers: [(name: String, value: String)],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The values of every header called `name` (case-insensitively), in received order.
    /// `name` must be lower-case. Compares ASCII case-insensitively without allocating: this
    /// runs on every request.
    func headerValues(_ name: String) -> [String] {
        headers.filter { asciiCaseInsensitiveEquals($0.name, lowercased: name) }.map(\.value)
    }
}

// MARK: - Errors

extension DynamoDBError {
    /// DynamoDB's error for an Authorization header that lacks required parts.
    static func incompleteSignature(_ message: String) -> DynamoDBError {
        // `DynamoDBError.coralService` is internal to TernCore, hence the literal.
        DynamoDBError(code: "IncompleteSignatureException", namespace: "com.amazon.coral.service", message: message)
    }

    static let signatureMismatch = DynamoDBError.invalidSignature(
        "The request signature we calculated does not match the signature you provided. "
            + "Check your AWS Secret Access Key and signing method. "
            + "Consult the service documentation for details."
    )
}

// MARK: - Verifier

public struct SigV4Verifier: Sendable {
    static let algorithm = "AWS4-HMAC-SHA256"

    /// nil disables authentication (like DynamoDB Local): any well-formed header is accepted.
    public let credentials: SigV4Credentials?
    public let maxClockSkewSeconds: Int

    public init(credentials: SigV4Credentials?, maxClockSkewSeconds: Int = 900) {
        precondition(maxClockSkewSeconds >= 0, "maxClockSkewSeconds must not be negative")
        self.credentials = credentials
        self.maxClockSkewSeconds = maxClockSkewSeconds
    }

    /// Throws DynamoDBError on failure. `now` is seconds since 1970 (injected so tests are deterministic).
    public func verify(_ request: SigV4Request, now: Int64) throws {
        // Authentication off: a header whose shape is right needs no further work. This fast
        // check runs on every request; anything it does not accept takes the full parse below,
        // which gives the exact error.
        if credentials == nil, let header = Self.singleAuthorizationHeader(request), Self.hasWellFormedShape(header) {
            return
        }
        let authorization = try Self.authorization(of: request)
        guard let credentials else { return }

        guard let secret = credentials.secret(forAccessKey: authorization.accessKey) else {
            throw DynamoDBError.unrecognizedClient()
        }
        let date = try Self.requestDate(of: request)
        try Self.checkScopeDate(authorization, matches: date)
        try checkClockSkew(date, now: now)
        try Self.checkHostIsSigned(authorization)

        let canonicalRequest = try Self.canonicalRequest(request, signedHeaders: authorization.signedHeaders)
        let stringToSign = Self.stringToSign(amzDate: date.text, scope: authorization.scope, canonicalRequest: canonicalRequest)
        let signingKey = Self.signingKey(secret: secret, scope: authorization.scope)
        guard let provided = decodeHex(authorization.signature),
              HMAC<SHA256>.isValidAuthenticationCode(provided, authenticating: Array(stringToSign.utf8), using: signingKey)
        else {
            // `isValidAuthenticationCode` compares in constant time, so timing reveals nothing
            // about how much of a forged signature was right.
            throw DynamoDBError.signatureMismatch
        }
    }

    /// Computes the `Authorization` header value a client would send for `request`.
    ///
    /// `request` must already carry every header in `signedHeaders` (typically `host` and
    /// `x-amz-date`, whose value should equal `amzDate`). Used by tests and the benchmark client.
    /// Throws `DynamoDBError.invalidSignature` if a signed header is absent from `request`.
    public static func authorizationHeader(
        accessKey: String,
        secret: String,
        region: String,
        service: String,
        amzDate: String,
        request: SigV4Request,
        signedHeaders: [String]
    ) throws -> String {
        let scope = CredentialScope(date: String(amzDate.prefix(8)), region: region, service: service)
        let names = canonicalSignedHeaderNames(signedHeaders)
        let canonicalRequest = try canonicalRequest(request, signedHeaders: names)
        let stringToSign = stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonicalRequest)
        let signature = HMAC<SHA256>.authenticationCode(
            for: Array(stringToSign.utf8), using: signingKey(secret: secret, scope: scope)
        )
        return "\(algorithm) Credential=\(accessKey)/\(scope.text), "
            + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(hex(signature))"
    }
}

// MARK: - Authorization header

/// `<date>/<region>/<service>/aws4_request`: what a signature is valid for.
struct CredentialScope: Equatable {
    var date: String
    var region: String
    var service: String

    var text: String { "\(date)/\(region)/\(service)/aws4_request" }
}

/// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct SigV4Authorization: Equatable {
    var accessKey: String
    var scope: CredentialScope
    /// Lowercased, sorted and de-duplicated, as they appear in the canonical request.
    var signedHeaders: [String]
    var signature: String
}

extension SigV4Verifier {
    static func singleAuthorizationHeader(_ request: SigV4Request) -> String? {
        var found: String?
        for header in request.headers where asciiCaseInsensitiveEquals(header.name, lowercased: "authorization") {
            if found != nil { return nil }
            found = header.value
        }
        return found
    }

    /// `AWS4-HMAC-SHA256 Credential=<5 non-empty parts ending aws4_request>, SignedHeaders=<…>,
    /// Signature=<…>` in that order, checked on the bytes without building strings (it runs on
    /// every request: an index walk over the contiguous UTF-8 takes a fraction of what slicing
    /// the string's UTF-8 view took).
    static func hasWellFormedShape(_ header: String) -> Bool {
        var header = header
        return header.withUTF8(hasWellFormedShape(bytes:))
    }

    static func hasWellFormedShape(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let comma = UInt8(ascii: ","), space = UInt8(ascii: " "), slash = UInt8(ascii: "/")
        var position = 0
        func consume(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - position >= count else { return false }
            for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { return false }
            position += count
            return true
        }
        /// The bytes up to the next comma (or the end).
        func value() -> Range<Int> {
            let start = position
            while position < bytes.count, bytes[position] != comma { position += 1 }
            return start..<position
        }
        func skipSeparator() {
            while position < bytes.count, bytes[position] == comma || bytes[position] == space { position += 1 }
        }
        func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
            range.count == literal.utf8CodeUnitCount
                && range.indices.allSatisfy { bytes[$0] == literal.utf8Start[$0 - range.lowerBound] }
        }
        guard consume("AWS4-HMAC-SHA256 Credential=") else { return false }
        let credential = value()
        // Five non-empty parts separated by "/", the last one `aws4_request`.
        var parts = 0
        var partStart = credential.lowerBound
        for index in credential.lowerBound...credential.upperBound where index == credential.upperBound || bytes[index] == slash {
            guard index > partStart else { return false }
            parts += 1
            if parts == 5, !equals(partStart..<index, "aws4_request") { return false }
            partStart = index + 1
        }
        guard parts == 5 else { return false }
        skipSeparator()
        guard consume("SignedHeaders="), !value().isEmpty else { return false }
        skipSeparator()
        guard consume("Signature=") else { return false }
        let signature = value()
        return !signature.isEmpty && position == bytes.count && !signature.contains { bytes[$0] == space }
    }

    /// Finds and parses the request's Authorization header.
    static func authorization(of request: SigV4Request) throws -> SigV4Authorization {
        let values = request.headerValues("authorization")
        guard let first = values.first else { throw DynamoDBError.missingAuthenticationToken() }
        // Two headers would make it ambiguous which one was verified.
        guard values.count == 1 else {
            throw DynamoDBError.invalidSignature("Request contains more than one Authorization header.")
        }
        let header = trimmed(first)
        // Other schemes (and query-string presigning) count as no SigV4 authentication at all.
        guard header.hasPrefix(algorithm + " ") else { throw DynamoDBError.missingAuthenticationToken() }
        return try parseAuthorization(header)
    }

    static func parseAuthorization(_ header: String) throws -> SigV4Authorization {
        let parameters = try authorizationParameters(header)

        // Report every missing part at once, in the order DynamoDB does.
        let required = ["Credential", "Signature", "SignedHeaders"]
        let missing = required.filter { (parameters[$0] ?? "").isEmpty }
        guard missing.isEmpty else {
            let reasons = missing.map { "Authorization header requires '\($0)' parameter." }
            throw DynamoDBError.incompleteSignature((reasons + ["Authorization=\(header)"]).joined(separator: " "))
        }

        let (accessKey, scope) = try parseCredential(parameters["Credential"]!)
        let signedHeaders = canonicalSignedHeaderNames(parameters["SignedHeaders"]!.split(separator: ";").map(String.init))
        return SigV4Authorization(
            accessKey: accessKey, scope: scope, signedHeaders: signedHeaders, signature: parameters["Signature"]!
        )
    }

    /// Splits `Key=value, Key=value, ...` (after the algorithm name) into a dictionary.
    /// The first occurrence of a key wins; unknown keys are ignored.
    static func authorizationParameters(_ header: String) throws -> [String: String] {
        // Byte-wise on purpose: this runs on every request, and Character-based splitting and
        // trimming showed up as a quarter of GetItem's CPU time in profiles.
        var parameters: [String: String] = [:]
        let bytes = Array(header.utf8)
        let comma = UInt8(ascii: ","), equals = UInt8(ascii: "=")
        for component in bytes[(algorithm.utf8.count + 1)...].split(separator: comma) {
            let pair = trimmedASCII(component)
            if pair.isEmpty { continue }
            guard let equalsIndex = pair.firstIndex(of: equals) else {
                throw DynamoDBError.incompleteSignature(
                    "'\(String(decoding: pair, as: UTF8.self))' not a valid key=value pair (missing equal-sign) in Authorization header: '\(header)'."
                )
            }
            let key = String(decoding: trimmedASCII(pair[..<equalsIndex]), as: UTF8.self)
            let value = String(decoding: trimmedASCII(pair[(equalsIndex + 1)...]), as: UTF8.self)
            if parameters[key] == nil { parameters[key] = value }
        }
        return parameters
    }

    /// Parses `AKID/20150830/us-east-1/dynamodb/aws4_request`.
    ///
    /// Region and service are not checked: a Tern server answers for whatever region its
    /// clients are configured with, and the signature covers the scope either way.
    static func parseCredential(_ credential: String) throws -> (String, CredentialScope) {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, !parts.contains(where: \.isEmpty) else {
            throw DynamoDBError.invalidSignature(
                "Credential should be scoped as '<access key>/<yyyyMMdd>/<region>/<service>/aws4_request', "
                    + "got '\(credential)'."
            )
        }
        guard parts[4] == "aws4_request" else {
            throw DynamoDBError.invalidSignature(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '\(parts[4])'."
            )
        }
        return (parts[0], CredentialScope(date: parts[1], region: parts[2], service: parts[3]))
    }

    /// Lowercases, sorts and de-duplicates header names, as the canonical request lists them.
    static func canonicalSignedHeaderNames(_ names: [String]) -> [String] {
        Array(Set(names.map { asciiLowercased(trimmed($0)) }.filter { !$0.isEmpty })).sorted()
    }
}

// MARK: - Date and clock checks

extension SigV4Verifier {
    /// The request's signing time: `X-Amz-Date`, falling back to `Date` as AWS does.
    static func requestDate(of request: SigV4Request) throws -> AmzDate {
        guard let text = (request.headerValues("x-amz-date").first ?? request.headerValues("date").first)
            .map(trimmed)
        else {
            throw DynamoDBError.invalidSignature(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            )
        }
        guard let date = AmzDate(text) else {
            throw DynamoDBError.invalidSignature(
                "Date must be in ISO-8601 'basic format'. Got '\(text)'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        }
        return date
    }

    /// A signature is only valid on the day named in its scope, so the scope must match the date signed.
    static func checkScopeDate(_ authorization: SigV4Authorization, matches date: AmzDate) throws {
        let day = String(date.text.prefix(8))
        guard authorization.scope.date == day else {
            throw DynamoDBError.invalidSignature(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                    + "'\(authorization.scope.date)' != '\(day)', from '\(date.text)'."
            )
        }
    }

    /// Bounds replay: a captured request stops working once its date leaves the skew window.
    func checkClockSkew(_ date: AmzDate, now: Int64) throws {
        let skew = Int64(maxClockSkewSeconds)
        let window = skewDescription
        if date.secondsSince1970 < now - skew {
            throw DynamoDBError.invalidSignature(
                "Signature expired: \(date.text) is now earlier than \(AmzDate.format(now - skew)) "
                    + "(\(AmzDate.format(now)) - \(window))"
            )
        }
        if date.secondsSince1970 > now + skew {
            throw DynamoDBError.invalidSignature(
                "Signature not yet current: \(date.text) is still later than \(AmzDate.format(now + skew)) "
                    + "(\(AmzDate.format(now)) + \(window))"
            )
        }
    }

    /// "15 min." for the default window, as DynamoDB words it.
    var skewDescription: String {
        maxClockSkewSeconds % 60 == 0 ? "\(maxClockSkewSeconds / 60) min." : "\(maxClockSkewSeconds) sec."
    }

    /// SigV4 requires the Host header to be signed, so a signature cannot be replayed to another host.
    static func checkHostIsSigned(_ authorization: SigV4Authorization) throws {
        guard authorization.signedHeaders.contains("host") else {
            throw DynamoDBError.invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }
    }
}

/// A SigV4 timestamp, `yyyyMMdd'T'HHmmss'Z'` (always UTC).
struct AmzDate: Equatable {
    /// The timestamp exactly as received; it is what the client signed.
    let text: String
    let secondsSince1970: Int64

    init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...Self.daysInMonth(year: year, month: month)).contains(day),
              hour < 24, minute < 60, second < 60
        else { return nil }
        self.text = text
        self.secondsSince1970 = Self.daysSince1970(year: year, month: month, day: day) * 86_400
            + hour * 3600 + minute * 60 + second
    }

    /// Formats seconds since 1970 as `yyyyMMdd'T'HHmmss'Z'`.
    static func format(_ secondsSince1970: Int64) -> String {
        let days = secondsSince1970.floorDiv(86_400)
        let secondOfDay = secondsSince1970 - days * 86_400
        let (year, month, day) = civilDate(daysSince1970: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T"
            + pad(secondOfDay / 3600, 2) + pad(secondOfDay % 3600 / 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func isLeapYear(_ year: Int64) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    // The two conversions below are the proleptic Gregorian calendar algorithms described by
    // Howard Hinnant ("chrono-compatible low-level date algorithms"): eras of 400 years, with
    // the year starting in March so the leap day falls at its end.

    static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDiv(400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSince1970 + 719_468
        let era = z.floorDiv(146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Division rounding towards negative infinity (Swift's `/` truncates towards zero).
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

// MARK: - Canonical request and signing

extension SigV4Verifier {
    /// The SigV4 canonical request: method, URI, query, headers, signed header list, payload hash.
    static func canonicalRequest(_ request: SigV4Request, signedHeaders: [String]) throws -> String {
        [
            request.method,
            canonicalURI(request.path),
            canonicalQueryString(request.query),
            try canonicalHeaders(request, signedHeaders: signedHeaders),
            signedHeaders.joined(separator: ";"),
            // Always hashed from the body itself: an x-amz-content-sha256 header is only a claim.
            hex(SHA256.hash(data: request.body)),
        ].joined(separator: "\n")
    }

    /// Removes "." / ".." / empty segments (as AWS SDKs do before signing) and then encodes
    /// the path as received once more, so an escape like "%20" is signed as "%2520".
    /// Works on UTF-8 bytes so that "/" always splits, whatever characters follow it.
    static func canonicalURI(_ path: String) -> String {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return "/" }
        var segments: [ArraySlice<UInt8>] = []
        for segment in bytes.split(separator: slash) {
            if segment.elementsEqual([dot]) { continue }
            if segment.elementsEqual([dot, dot]) {
                _ = segments.popLast()
            } else {
                segments.append(segment)
            }
        }
        var normalized: [UInt8] = bytes.first == slash ? [slash] : []
        normalized += Array(segments.joined(separator: [slash]))
        if bytes.last == slash && !segments.isEmpty { normalized.append(slash) }
        return uriEncode(normalized, keepSlash: true)
    }

    /// Pairs sorted by key then value, each side decoded and re-encoded with RFC 3986
    /// escaping, so clients that escape differently (e.g. lowercase hex) still match.
    static func canonicalQueryString(_ query: String) -> String {
        let pairs: [(key: String, value: String)] = query.utf8.split(separator: UInt8(ascii: "&")).map { pair in
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let value = equals == pair.endIndex ? pair[equals...] : pair[pair.index(after: equals)...]
            return (
                uriEncode(percentDecode(pair[..<equals]), keepSlash: false),
                uriEncode(percentDecode(value), keepSlash: false)
            )
        }
        return pairs
            .sorted { $0.key != $1.key ? $0.key < $1.key : $0.value < $1.value }
            .map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
    }

    /// One `name:value` line per signed header (each followed by a newline, so the canonical
    /// request has the blank line SigV4 expects). Repeated headers are joined with ",".
    static func canonicalHeaders(_ request: SigV4Request, signedHeaders: [String]) throws -> String {
        var lines = ""
        for name in signedHeaders {
            let values = request.headerValues(name)
            guard !values.isEmpty else {
                throw DynamoDBError.invalidSignature("Signed header '\(name)' is not present in the request.")
            }
            lines += name + ":" + values.map(collapsingWhitespace).joined(separator: ",") + "\n"
        }
        return lines
    }

    static func stringToSign(amzDate: String, scope: CredentialScope, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope.text, hex(SHA256.hash(data: Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")
    }

    /// The HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
    static func signingKey(secret: String, scope: CredentialScope) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secret)".utf8))
        for part in [scope.date, scope.region, scope.service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }
}

// MARK: - Encoding helpers

/// Lowercase hex, as SigV4 uses for hashes and signatures.
private func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Decodes hex of either case; nil if the text is not whole bytes of hex.
private func decodeHex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(chars.count / 2)
    var index = 0
    while index < chars.count {
        guard let high = hexValue(chars[index]), let low = hexValue(chars[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

private func hexValue(_ char: UInt8) -> UInt8? {
    switch char {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return char - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return char - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return char - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// RFC 3986 encoding: everything but unreserved characters (and "/" in paths) becomes %XX
/// with uppercase hex. Works on bytes so that decoded escapes which are not valid UTF-8
/// are re-encoded exactly as they arrived.
private func uriEncode<Bytes: Sequence>(_ bytes: Bytes, keepSlash: Bool) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        let isUnreserved = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
        if isUnreserved || (keepSlash && byte == UInt8(ascii: "/")) {
            out.append(byte)
        } else {
            out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Decodes %XX escapes; a "%" not followed by two hex digits is kept literally. "+" is not
/// a space here: SigV4 query strings are RFC 3986, not form-encoded.
private func percentDecode<Bytes: Collection>(_ text: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    let bytes = Array(text)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
           let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
            out.append(high << 4 | low)
            index += 3
        } else {
            out.append(bytes[index])
            index += 1
        }
    }
    return out
}

/// Trims and collapses runs of whitespace to one space ("Trimall" in the SigV4 spec).
private func collapsingWhitespace(_ value: String) -> String {
    value.split(whereSeparator: \.isWhitespace).joined(separator: " ")
}

private func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
}

/// Trims ASCII whitespace (the only whitespace SigV4 headers carry) without Character processing.
private func trimmedASCII(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    guard let start = bytes.firstIndex(where: { !isASCIIWhitespace($0) }),
          let end = bytes.lastIndex(where: { !isASCIIWhitespace($0) }) else { return bytes[bytes.startIndex..<bytes.startIndex] }
    return bytes[start...end]
}

private func trimmed<S: StringProtocol>(_ text: S) -> String {
    String(decoding: trimmedASCII(ArraySlice(text.utf8)), as: UTF8.self)
}

private func asciiLowercased(_ text: String) -> String {
    String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
}

/// Whether `name` equals `lowercased` ignoring ASCII case.
private func asciiCaseInsensitiveEquals(_ name: String, lowercased: String) -> Bool {
    guard name.utf8.count == lowercased.utf8.count else { return false }
    return zip(name.utf8, lowercased.utf8).allSatisfy { a, b in (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) == b }
}
