import Foundation
import TernCore
import XCTest

@testable import TernAPI

// Expected signatures here come from outside this code base, so a mistake in the verifier's
// canonicalisation or key derivation makes these tests fail:
//
// * `getVanilla` is the "get-vanilla" case of AWS's published aws-sig-v4-test-suite.
// * The `botocore*` vectors were produced with Python botocore 1.43.11: an `AWSRequest` with
//   the headers and body shown was signed by `botocore.auth.SigV4Auth(Credentials("AKIDEXAMPLE",
//   secret), service, region).add_auth(request)` while `botocore.auth.get_current_datetime` was
//   patched to return 2015-08-30 12:36:00 UTC; the resulting X-Amz-Date and Authorization
//   headers are copied verbatim.
final class SigV4VerifierTests: XCTestCase {
    static let accessKey = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z (Python: `calendar.timegm(datetime(2015, 8, 30, 12, 36).timetuple())`).
    static let signedAt: Int64 = 1_440_938_160
    static let mismatchMessage = "The request signature we calculated does not match the signature you provided. "
        + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

    let verifier = SigV4Verifier(credentials: SigV4Credentials([accessKey: secret]))

    // MARK: Vectors

    static let getVanilla = SigV4Request(
        method: "GET",
        path: "/",
        headers: [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    + "SignedHeaders=host;x-amz-date, "
                    + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            ),
        ]
    )

    /// A DynamoDB ListTables call as boto3 sends it.
    static let botocoreListTables = SigV4Request(
        headers: [
            ("Host", "localhost:8000"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/dynamodb/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                    + "Signature=b2507fc646f1df8f7a0ebd642983eb33c585488782c1a9305b5a1f05641be6a1"
            ),
        ],
        body: Array(#"{"Limit":10}"#.utf8)
    )

    /// botocore signed URL `http://localhost:8000/foo%20bar/./baz//qux?b=2&a=x%20y&a=1&flag`;
    /// its canonical request had URI "/foo%2520bar/baz/qux" and query "a=1&a=x%20y&b=2&flag=".
    static let botocorePathAndQuery = SigV4Request(
        method: "GET",
        path: "/foo%20bar/./baz//qux",
        query: "b=2&a=x%20y&a=1&flag",
        headers: [
            ("Host", "localhost:8000"),
            ("X-Amz-Date", "20150830T123600Z"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, "
                    + "SignedHeaders=host;x-amz-date, "
                    + "Signature=218a3d8ffff1fa2a3f897e60a1fea99271f607ca0bec992d91c992b480742706"
            ),
        ]
    )

    /// botocore signed `X-Tern-Note: "  spaced   out\tvalue  "` and `X-Tern-Multi: "first,second"`.
    static let botocoreGetItemHeaders: [(name: String, value: String)] = [
        ("Host", "localhost:8000"),
        ("Content-Type", "application/x-amz-json-1.0"),
        ("X-Amz-Target", "DynamoDB_20120810.GetItem"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/dynamodb/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-tern-multi;x-tern-note, "
                + "Signature=cf073c00102a104655eba6d3009f4ef3768023381dc7b02e0ee22d2252e50aec"
        ),
    ]
    static let botocoreGetItemBody = Array(#"{"TableName":"t","Key":{"pk":{"S":"a"}}}"#.utf8)

    // MARK: Helpers

    /// Runs `body` and checks it throws the DynamoDB error `code`, returning the error.
    @discardableResult
    func assertDynamoDBError(
        _ code: String,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () throws -> Void
    ) -> DynamoDBError? {
        do {
            try body()
            XCTFail("expected \(code), but nothing was thrown", file: file, line: line)
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected \(code), got \(error)", file: file, line: line)
        }
        return nil
    }

    func replacingHeader(_ name: String, with value: String?, in request: SigV4Request) -> SigV4Request {
        var copy = request
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { copy.headers.append((name, value)) }
        return copy
    }

    func authorization(_ request: SigV4Request) -> String {
        request.headers.first { $0.name == "Authorization" }!.value
    }

    // MARK: Valid signatures

    func testAWSTestSuiteGetVanillaIsAccepted() throws {
        let verifier = SigV4Verifier(credentials: SigV4Credentials([Self.accessKey: Self.secret]))
        XCTAssertNoThrow(try verifier.verify(Self.getVanilla, now: Self.signedAt))
    }

    func testSigningReproducesPublishedAndBotocoreSignatures() throws {
        let cases: [(SigV4Request, region: String, service: String, signed: [String])] = [
            (Self.getVanilla, "us-east-1", "service", ["host", "x-amz-date"]),
            (Self.botocoreListTables, "us-west-2", "dynamodb", ["content-type", "host", "x-amz-date", "x-amz-target"]),
            (Self.botocorePathAndQuery, "us-east-1", "dynamodb", ["x-amz-date", "Host"]),  // order/case normalised
        ]
        for (request, region, service, signed) in cases {
            let header = try SigV4Verifier.authorizationHeader(
                accessKey: Self.accessKey, secret: Self.secret, region: region, service: service,
                amzDate: "20150830T123600Z", request: request, signedHeaders: signed
            )
            XCTAssertEqual(header, authorization(request))
        }
    }

    func testBotocoreDynamoDBRequestIsAccepted() throws {
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: Self.signedAt))
    }

    func testBotocorePathAndQueryCanonicalisation() throws {
        XCTAssertEqual(SigV4Verifier.canonicalURI("/foo%20bar/./baz//qux"), "/foo%2520bar/baz/qux")
        XCTAssertEqual(SigV4Verifier.canonicalQueryString("b=2&a=x%20y&a=1&flag"), "a=1&a=x%20y&b=2&flag=")
        XCTAssertNoThrow(try verifier.verify(Self.botocorePathAndQuery, now: Self.signedAt))
    }

    func testQueryEscapesAreNormalisedToUppercaseRFC3986() {
        XCTAssertEqual(SigV4Verifier.canonicalQueryString("k=a%2fb&j=c d"), "j=c%20d&k=a%2Fb")
        XCTAssertEqual(SigV4Verifier.canonicalQueryString(""), "")
        XCTAssertEqual(SigV4Verifier.canonicalURI(""), "/")
        XCTAssertEqual(SigV4Verifier.canonicalURI("/a/b/../c/"), "/a/c/")
    }

    func testClockSkewBoundaryIsInclusive() {
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: Self.signedAt + 15 * 60))
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: Self.signedAt - 15 * 60))
    }

    // MARK: Header canonicalisation

    func testHeaderWhitespaceAndRepeatedHeadersAreCanonicalised() throws {
        // Header names in other cases, values padded differently, and the "first,second" header
        // split into two headers must all canonicalise to what botocore signed.
        var headers = Self.botocoreGetItemHeaders.map { header -> (name: String, value: String) in
            header.name == "Authorization" ? header : (header.name.uppercased(), "  \(header.value)\t ")
        }
        headers += [
            ("x-tern-note", "spaced \t out    value"),
            ("X-Tern-Multi", " first "),
            ("x-TERN-multi", "second"),
            ("User-Agent", "unsigned headers may be anything"),
        ]
        let request = SigV4Request(headers: headers, body: Self.botocoreGetItemBody)
        XCTAssertNoThrow(try verifier.verify(request, now: Self.signedAt))
        XCTAssertEqual(
            try SigV4Verifier.canonicalHeaders(request, signedHeaders: ["x-tern-multi", "x-tern-note"]),
            "x-tern-multi:first,second\nx-tern-note:spaced out value\n"
        )
    }

    func testRepeatedHeaderOrderMatters() {
        let headers = Self.botocoreGetItemHeaders + [
            ("X-Tern-Note", "spaced out value"), ("X-Tern-Multi", "second"), ("X-Tern-Multi", "first"),
        ]
        let request = SigV4Request(headers: headers, body: Self.botocoreGetItemBody)
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertEqual(error?.message, Self.mismatchMessage)
    }

    func testChangedSignedHeaderIsRejected() {
        let request = replacingHeader("X-Amz-Target", with: "DynamoDB_20120810.DeleteTable", in: Self.botocoreListTables)
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertEqual(error?.message, Self.mismatchMessage)
    }

    func testMissingSignedHeaderIsRejected() {
        let request = replacingHeader("X-Amz-Target", with: nil, in: Self.botocoreListTables)
        assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
    }

    // MARK: Invalid signatures

    func testWrongSecretIsRejected() {
        let verifier = SigV4Verifier(credentials: SigV4Credentials([Self.accessKey: "not-the-secret"]))
        let error = assertDynamoDBError("InvalidSignatureException") {
            try verifier.verify(Self.botocoreListTables, now: Self.signedAt)
        }
        XCTAssertEqual(error?.message, Self.mismatchMessage)
        XCTAssertEqual(error?.namespace, "com.amazon.coral.service")
        XCTAssertEqual(error?.httpStatus, 400)
    }

    func testTamperedBodyIsRejected() {
        var request = Self.botocoreListTables
        request.body = Array(#"{"Limit":11}"#.utf8)
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertEqual(error?.message, Self.mismatchMessage)
    }

    func testContentSHA256HeaderDoesNotReplaceBodyHash() {
        // Claiming the signed body's hash (sha256 of {"Limit":10}, from `sha256sum`) does not make
        // a different body acceptable: the verifier hashes the body it actually received.
        var request = Self.botocoreListTables
        request.headers.append(("X-Amz-Content-Sha256", "7323ae808f32f1a67f80c52911966937e5b960c236a8de953aec7c984492feb0"))
        request.body = Array(#"{"Limit":99}"#.utf8)
        assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
    }

    func testGarbageOrTruncatedSignatureIsRejected() {
        let original = authorization(Self.botocoreListTables)
        let corrupted = [
            original.replacingOccurrences(of: "Signature=b2507fc6", with: "Signature=zz507fc6"),
            String(original.dropLast(2)),  // valid hex, one byte short
        ]
        for header in corrupted {
            let request = replacingHeader("Authorization", with: header, in: Self.botocoreListTables)
            let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
            XCTAssertEqual(error?.message, Self.mismatchMessage)
        }
    }

    func testUnknownAccessKeyIsUnrecognizedClient() {
        let verifier = SigV4Verifier(credentials: SigV4Credentials(["SOMEONEELSE": Self.secret]))
        let error = assertDynamoDBError("UnrecognizedClientException") {
            try verifier.verify(Self.botocoreListTables, now: Self.signedAt)
        }
        XCTAssertEqual(error?.message, "The security token included in the request is invalid.")
    }

    func testStaleRequestHasExpired() {
        let error = assertDynamoDBError("InvalidSignatureException") {
            try verifier.verify(Self.botocoreListTables, now: Self.signedAt + 16 * 60)
        }
        XCTAssertEqual(
            error?.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"
        )
    }

    func testFutureRequestIsNotYetCurrent() {
        let error = assertDynamoDBError("InvalidSignatureException") {
            try verifier.verify(Self.botocoreListTables, now: Self.signedAt - 16 * 60)
        }
        XCTAssertEqual(
            error?.message,
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T122000Z + 15 min.)"
        )
    }

    func testCustomSkewWindow() {
        let verifier = SigV4Verifier(credentials: SigV4Credentials([Self.accessKey: Self.secret]), maxClockSkewSeconds: 60)
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: Self.signedAt + 60))
        let error = assertDynamoDBError("InvalidSignatureException") {
            try verifier.verify(Self.botocoreListTables, now: Self.signedAt + 61)
        }
        XCTAssertEqual(
            error?.message,
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T123701Z - 1 min.)"
        )
    }

    func testMissingDateIsRejected() {
        let request = replacingHeader("X-Amz-Date", with: nil, in: Self.getVanilla)
        // x-amz-date is also a signed header, but the missing date must be reported first.
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertEqual(
            error?.message, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    }

    func testMalformedDateIsRejected() {
        let request = replacingHeader("X-Amz-Date", with: "Sun, 30 Aug 2015 12:36:00 GMT", in: Self.getVanilla)
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertTrue(error?.message.hasPrefix("Date must be in ISO-8601 'basic format'") ?? false, "\(String(describing: error))")
    }

    func testCredentialScopeDateMustMatchRequestDate() {
        let request = replacingHeader("X-Amz-Date", with: "20150831T000000Z", in: Self.getVanilla)
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertEqual(
            error?.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                + "'20150830' != '20150831', from '20150831T000000Z'."
        )
    }

    func testHostMustBeSigned() throws {
        let request = SigV4Request(headers: [("Host", "localhost"), ("X-Amz-Date", "20150830T123600Z")])
        var signed = request
        signed.headers.append((
            "Authorization",
            try SigV4Verifier.authorizationHeader(
                accessKey: Self.accessKey, secret: Self.secret, region: "us-east-1", service: "dynamodb",
                amzDate: "20150830T123600Z", request: request, signedHeaders: ["x-amz-date"]
            )
        ))
        let error = assertDynamoDBError("InvalidSignatureException") { try verifier.verify(signed, now: Self.signedAt) }
        XCTAssertEqual(error?.message, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    }

    // MARK: Missing and malformed Authorization headers

    func testMissingAuthorizationIsMissingAuthenticationToken() {
        let request = replacingHeader("Authorization", with: nil, in: Self.botocoreListTables)
        for verifier in [verifier, SigV4Verifier(credentials: nil)] {
            let error = assertDynamoDBError("MissingAuthenticationTokenException") {
                try verifier.verify(request, now: Self.signedAt)
            }
            XCTAssertEqual(error?.message, "Request is missing Authentication Token")
        }
    }

    func testOtherAuthorizationSchemesCountAsMissing() {
        for value in ["Bearer abc", "AWS AKIDEXAMPLE:signature", "AWS4-HMAC-SHA256", ""] {
            let request = replacingHeader("Authorization", with: value, in: Self.botocoreListTables)
            assertDynamoDBError("MissingAuthenticationTokenException") { try verifier.verify(request, now: Self.signedAt) }
        }
    }

    func testHeaderMissingComponentsIsIncompleteSignature() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request"
        let request = replacingHeader("Authorization", with: header, in: Self.botocoreListTables)
        for verifier in [verifier, SigV4Verifier(credentials: nil)] {
            let error = assertDynamoDBError("IncompleteSignatureException") {
                try verifier.verify(request, now: Self.signedAt)
            }
            XCTAssertEqual(
                error?.message,
                "Authorization header requires 'Signature' parameter. "
                    + "Authorization header requires 'SignedHeaders' parameter. Authorization=\(header)"
            )
            XCTAssertEqual(error?.type, "com.amazon.coral.service#IncompleteSignatureException")
            XCTAssertEqual(error?.httpStatus, 400)
        }
    }

    func testEmptyComponentCountsAsMissing() {
        let header = "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=abcd"
        let request = replacingHeader("Authorization", with: header, in: Self.botocoreListTables)
        let error = assertDynamoDBError("IncompleteSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertTrue(error?.message.hasPrefix("Authorization header requires 'Credential' parameter. Authorization=") ?? false)
    }

    func testComponentWithoutEqualsSignIsIncompleteSignature() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, SignedHeaders"
        let request = replacingHeader("Authorization", with: header, in: Self.botocoreListTables)
        let error = assertDynamoDBError("IncompleteSignatureException") { try verifier.verify(request, now: Self.signedAt) }
        XCTAssertTrue(error?.message.hasPrefix("'SignedHeaders' not a valid key=value pair (missing equal-sign)") ?? false)
    }

    func testMalformedCredentialScopeIsInvalidSignature() {
        let badCredentials = [
            "AKIDEXAMPLE/20150830/us-east-1/aws4_request",
            "AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request/extra",
            "AKIDEXAMPLE/20150830//dynamodb/aws4_request",
            "AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws5_request",
        ]
        for credential in badCredentials {
            let header = "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host;x-amz-date, Signature=abcd"
            let request = replacingHeader("Authorization", with: header, in: Self.botocoreListTables)
            for verifier in [verifier, SigV4Verifier(credentials: nil)] {
                assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
            }
        }
    }

    func testTwoAuthorizationHeadersAreRejected() {
        var request = Self.botocoreListTables
        request.headers.append(("authorization", authorization(Self.getVanilla)))
        assertDynamoDBError("InvalidSignatureException") { try verifier.verify(request, now: Self.signedAt) }
    }

    // MARK: Authentication off

    func testAuthOffAcceptsAnyWellFormedHeader() {
        let verifier = SigV4Verifier(credentials: nil)
        // Unknown key, bogus signature, no date header, and a clock a year away: all fine.
        let header = "AWS4-HMAC-SHA256 Credential=anyone/20000101/local/dynamodb/aws4_request, "
            + "SignedHeaders=host, Signature=not-even-hex"
        let request = SigV4Request(headers: [("host", "localhost:8000"), ("Authorization", header)], body: [1, 2, 3])
        XCTAssertNoThrow(try verifier.verify(request, now: Self.signedAt + 365 * 86_400))
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: 0))
    }

    // MARK: Dates

    func testAmzDateParsingAndFormatting() {
        XCTAssertEqual(AmzDate("20150830T123600Z")?.secondsSince1970, Self.signedAt)
        XCTAssertEqual(AmzDate("19700101T000000Z")?.secondsSince1970, 0)
        // 2000-03-01 is 951868800 (Python: calendar.timegm), just after a leap day in a 400-year leap year.
        XCTAssertEqual(AmzDate("20000301T000000Z")?.secondsSince1970, 951_868_800)
        XCTAssertNotNil(AmzDate("20160229T235959Z"))
        for invalid in ["20150229T000000Z", "20151301T000000Z", "20150830T240000Z", "20150830T123660Z",
                        "2015-08-30T12:36:00Z", "20150830T123600", "20150830 123600Z", "2015083OT123600Z"] {
            XCTAssertNil(AmzDate(invalid), invalid)
        }
        XCTAssertEqual(AmzDate.format(Self.signedAt), "20150830T123600Z")
        XCTAssertEqual(AmzDate.format(0), "19700101T000000Z")
        XCTAssertEqual(AmzDate.format(951_868_800 - 1), "20000229T235959Z")
        XCTAssertEqual(AmzDate.format(-1), "19691231T235959Z")
    }

    // MARK: Credentials file

    func testCredentialsFileParsing() throws {
        let contents = """
            # Tern access keys
            AKIDEXAMPLE   wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

              second\tsecret-two\r
            #ignored also
            """
        let credentials = try SigV4Credentials.parse(fileContents: contents)
        XCTAssertEqual(credentials.secret(forAccessKey: "AKIDEXAMPLE"), Self.secret)
        XCTAssertEqual(credentials.secret(forAccessKey: "second"), "secret-two")
        XCTAssertNil(credentials.secret(forAccessKey: "#"))
        XCTAssertNil(credentials.secret(forAccessKey: "#ignored"))

        let verifier = SigV4Verifier(credentials: credentials)
        XCTAssertNoThrow(try verifier.verify(Self.botocoreListTables, now: Self.signedAt))
    }

    func testMalformedCredentialsFilesAreRejected() {
        let cases: [(contents: String, expected: String)] = [
            ("AKID1 secret1\nAKID2\n", "line 2: expected 'ACCESS_KEY SECRET' (2 whitespace-separated fields), found 1"),
            ("AKID1 secret one\n", "line 1: expected 'ACCESS_KEY SECRET' (2 whitespace-separated fields), found 3"),
            ("AKID1 a\n\nAKID1 b\n", "line 3: duplicate access key id 'AKID1'"),
            ("AK/ID secret\n", "line 1: access key id must not contain '/'"),
            ("# nothing here\n\n", "credentials file contains no 'ACCESS_KEY SECRET' pairs"),
        ]
        for (contents, expected) in cases {
            XCTAssertThrowsError(try SigV4Credentials.parse(fileContents: contents), contents) { error in
                XCTAssertEqual((error as? SigV4CredentialsError)?.message, expected, contents)
            }
        }
    }
}

/// The fast shape check used when authentication is off must never accept a header that the
/// full parser rejects.
final class SigV4FastPathTests: XCTestCase {
    func testFastShapeCheckNeverAcceptsWhatTheParserRejects() {
        let headers = [
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request,SignedHeaders=host,Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_requests, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a//us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Credential=a/20260101/us-east-1/dynamodb/aws4_request, Signature=1",
            "Basic dXNlcjpwYXNz",
            "",
            "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/aws4_request, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/b/c/aws4_request, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request/, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=1 2",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=",
            "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_reques, SignedHeaders=host, Signature=1",
            "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256",
        ]
        var accepted = 0
        for header in headers {
            let fast = SigV4Verifier.hasWellFormedShape(header)
            let request = SigV4Request(headers: [(name: "Authorization", value: header)])
            let full = (try? SigV4Verifier(credentials: nil).verify(request, now: 0)) != nil
            if fast {
                accepted += 1
                XCTAssertTrue(full, "fast path accepted a header the parser rejects: \(header)")
            }
        }
        XCTAssertEqual(accepted, 2, "the two canonical shapes take the fast path")
    }
}
