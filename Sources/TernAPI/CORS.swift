import NIOHTTP1

/// Cross-origin access (the Fetch standard's CORS protocol), so that a web page can call the
/// endpoint as it calls DynamoDB. As DynamoDB does, responses carry the CORS headers only when the
/// request names an `Origin`; a preflight (`OPTIONS`) needs no signature, since browsers send it
/// without one.
enum CORS {
    /// Any origin: requests are authorised by their SigV4 signature, never by cookies, so the
    /// wildcard gives a page nothing its own credentials would not.
    static let allowOrigin = "*"
    static let allowMethods = "POST, GET, OPTIONS"
    /// The headers the AWS SDKs send, for a preflight that does not list the ones it wants.
    static let defaultAllowHeaders = "authorization, content-type, content-encoding, x-amz-target, x-amz-date, "
        + "x-amz-user-agent, x-amz-security-token, x-amz-content-sha256, amz-sdk-invocation-id, amz-sdk-request"
    /// What a page's script may read from a response: the request id, the checksum the SDKs verify,
    /// and Date, which the JavaScript SDK uses to correct clock skew.
    static let exposeHeaders = "x-amzn-RequestId, x-amz-crc32, Date"
    /// Two days, as DynamoDB answers; browsers cap it lower (Chromium at two hours).
    static let maxAgeSeconds = "172800"
    /// A requested-headers list longer than this is not echoed (the default list is sent instead).
    static let maxEchoedHeadersBytes = 4096

    /// The headers of the answer to a preflight request, besides the `Access-Control-Allow-Origin`
    /// and `-Expose-Headers` every cross-origin response carries.
    static func preflightHeaders(request: HTTPHeaders) -> [(String, String)] {
        var allowHeaders = defaultAllowHeaders
        if let requested = request.first(name: "access-control-request-headers"), isEchoable(requested) {
            allowHeaders = requested
        }
        return [
            ("Access-Control-Allow-Methods", allowMethods),
            ("Access-Control-Allow-Headers", allowHeaders),
            ("Access-Control-Max-Age", maxAgeSeconds),
            ("Vary", "Access-Control-Request-Headers"),
        ]
    }

    /// A comma-separated list of header names (tokens), of bounded length: safe to send back.
    static func isEchoable(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.count <= maxEchoedHeadersBytes
            && value.utf8.allSatisfy { AcceptEncoding.isTokenByte($0) || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: " ") }
    }
}
