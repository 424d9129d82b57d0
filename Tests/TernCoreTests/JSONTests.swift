import XCTest
@testable import TernCore

final class JSONTests: XCTestCase {
    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSON? {
        do {
            return try JSON.parse(text)
        } catch {
            XCTFail("\(text.debugDescription) should parse: \(error)", file: file, line: line)
            return nil
        }
    }

    private func assertRejects(_ bytes: [UInt8], _ message: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let value = try JSON.parse(bytes)
            XCTFail("\(hex(bytes)) should be rejected, parsed as \(value)", file: file, line: line)
        } catch {
            if let message { XCTAssertEqual(error.message, message, file: file, line: line) }
            XCTAssert((0...bytes.count).contains(error.offset), "offset \(error.offset) out of range", file: file, line: line)
        }
    }

    private func assertRejects(_ text: String, _ message: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        assertRejects(utf8(text), message, file: file, line: line)
    }

    // MARK: Parsing

    func testParsesEveryKind() {
        let doc = parse(#" { "a" : [1, -2.5e+3, true, false, null, "x"], "b": {}, "c": [] } "#)
        XCTAssertEqual(doc, .object([
            ("a", .array([.number("1"), .number("-2.5e+3"), .bool(true), .bool(false), .null, .string("x")])),
            ("b", .object([])),
            ("c", .array([])),
        ]))
        XCTAssertEqual(doc?["a"]?.arrayValue?.count, 6)
        XCTAssertEqual(doc?["b"]?.objectMembers?.count, 0)
        XCTAssertNil(doc?["zzz"])
        XCTAssertEqual(parse("\"s\"")?.stringValue, "s")
        XCTAssertEqual(parse("true")?.boolValue, true)
        XCTAssertNil(parse("1")?.stringValue)
    }

    func testObjectKeepsMemberOrderAndSubscriptReturnsLastRepeat() {
        let doc = parse(#"{"z":1,"a":2,"z":3}"#)
        XCTAssertEqual(doc?.objectMembers?.map(\.0), ["z", "a", "z"])
        XCTAssertEqual(doc?["z"], .number("3"))
        XCTAssertEqual(doc?.serializedString, #"{"z":1,"a":2,"z":3}"#)
    }

    func testNumbersAreKeptAsText() {
        for text in ["0", "-0", "1.50", "1E+2", "1e-3", "123456789012345678901234567890123456789012345", "-0.000", "9.99e125", "1e999999"] {
            XCTAssertEqual(parse(text), .number(text), text)
            XCTAssertEqual(parse("[\(text)]"), .array([.number(text)]), text)
            XCTAssertEqual(JSON.number(text).serializedString, text)
        }
        XCTAssertNotEqual(JSON.number("1.0"), JSON.number("1"), "numbers compare as text")
    }

    func testInvalidNumbersRejected() {
        for text in ["-", "1.", ".5", "+1", "1e", "1e+", "1E-", "--1", "1.2.3", "0x10", "NaN", "Infinity", "-Infinity", "1..2", "- 1"] {
            assertRejects(text)
        }
    }

    func testLiteralsAndStructureErrors() {
        for text in ["tru", "nul", "fals", "True", "nulll", "[1,]", "[,1]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}",
                     "{\"a\":1,}", "[1 2]", "{\"a\":1 \"b\":2}", "[", "{", "\"abc", "", "   ", "'a'", "[1]]", "{}}"] {
            assertRejects(text)
        }
        assertRejects("", "Unexpected end of input")
        assertRejects("[1,]", "Unexpected character")
        assertRejects("{\"a\"}", "Expected ':'")
        assertRejects("[1 2]", "Expected ',' or ']'")
        assertRejects("{\"a\":1 \"b\":2}", "Expected ',' or '}'")
        assertRejects("{1:2}", "Expected a member name")
        assertRejects("\"abc", "Unterminated string")
    }

    func testTrailingGarbageRejected() {
        for text in ["{} x", "1 2", "[]]", "nullnull", "\"a\"\"b\"", "{}{}", "true,", "0 0", "[] /", "1\u{0}"] {
            assertRejects(text, "Unexpected character after the document")
        }
        XCTAssertEqual(parse(" \t\r\n{} \t\r\n"), .object([]), "surrounding whitespace is fine")
    }

    // MARK: Strings

    func testSimpleEscapes() {
        XCTAssertEqual(parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), .string("a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti"))
        XCTAssertEqual(parse(#""\u0041\u00e9\u00E9\u20ac\u0000""#), .string("Aéé€\u{0}"))
        assertRejects(#""\x""#, "Invalid escape")
        assertRejects(#""\'""#, "Invalid escape")
        assertRejects(#""\u12""#, "Invalid unicode escape")
        assertRejects(#""\u12g4""#, "Invalid unicode escape")
        assertRejects(#""\"#)
        assertRejects(#""abc\"#)
    }

    func testSurrogatePairs() {
        XCTAssertEqual(parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(parse(#""x\uD834\uDD1Ey""#), .string("x𝄞y"))
        XCTAssertEqual(parse(#""\udbff\udfff""#), .string("\u{10FFFF}"))
        XCTAssertEqual(parse(#""\ud800\udc00""#), .string("\u{10000}"))
        assertRejects(#""\ud83d""#, "Unpaired surrogate")
        assertRejects(#""\ud83dx""#, "Unpaired surrogate")
        assertRejects(#""\ud83d\u0041""#, "Unpaired surrogate")
        assertRejects(#""\ud83d\ud83d""#, "Unpaired surrogate")
        assertRejects(#""\ude00""#, "Invalid unicode escape")
        assertRejects(#""\ude00\ud83d""#)
    }

    func testInvalidUTF8Rejected() {
        let bad: [[UInt8]] = [
            [0xFF], [0xC3], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80],
        ]
        for sequence in bad {
            // Fast path (no escapes) and slow path (an escape before the bad bytes).
            assertRejects([0x22] + sequence + [0x22], "Invalid UTF-8 in string")
            assertRejects([0x22, 0x5C, 0x6E] + sequence + [0x22], "Invalid UTF-8 in string")
            assertRejects([0x7B, 0x22] + sequence + [0x22, 0x3A, 0x31, 0x7D], "Invalid UTF-8 in string")
        }
        // Valid multi-byte sequences pass in both paths.
        XCTAssertEqual(try? JSON.parse([0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22]), .string("é😀"))
        XCTAssertEqual(try? JSON.parse([0x22, 0x5C, 0x74, 0xC3, 0xA9, 0x22]), .string("\té"))
    }

    func testRawControlCharactersRejected() {
        for byte in UInt8(0)..<0x20 {
            assertRejects([0x22, 0x61, byte, 0x22], "Control character in string")
            assertRejects([0x22, 0x5C, 0x6E, byte, 0x22], "Control character in string")
        }
        XCTAssertEqual(try? JSON.parse([0x22, 0x7F, 0x22]), .string("\u{7F}"), "DEL is not a control character in JSON")
    }

    // MARK: Depth

    func testDepthLimit() {
        XCTAssertEqual(JSON.maxDepth, 100)
        func nestedArrays(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        func nestedObjects(_ depth: Int) -> String { String(repeating: "{\"a\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1) }
        XCTAssertNotNil(try? JSON.parse(nestedArrays(100)))
        XCTAssertNotNil(try? JSON.parse(nestedObjects(100)))
        assertRejects(nestedArrays(101), "Nesting too deep")
        assertRejects(nestedObjects(101), "Nesting too deep")
        assertRejects(nestedArrays(100_000), "Nesting too deep")
        // Depth is about nesting, not about how many containers a document holds.
        let wide = "[" + Array(repeating: nestedArrays(60), count: 200).joined(separator: ",") + "]"
        XCTAssertNotNil(try? JSON.parse(wide))
    }

    // MARK: Writing

    func testSerialisesCompactly() {
        let doc = JSON.object([
            ("a", .array([.number("1"), .string("x\"y"), .null, .bool(true), .bool(false)])),
            ("b\\", .object([])),
            ("", .array([])),
        ])
        XCTAssertEqual(doc.serializedString, #"{"a":[1,"x\"y",null,true,false],"b\\":{},"":[]}"#)
    }

    func testWriterEscapesEveryControlCharacter() {
        for byte in UInt8(0)..<0x20 {
            let text = String(decoding: [0x61, byte, 0x62], as: UTF8.self)
            let written = JSON.string(text).serializedString
            XCTAssertFalse(written.utf8.contains(where: { $0 < 0x20 }), "raw control byte \(byte) written")
            XCTAssertEqual(try? JSON.parse(written), .string(text), "byte \(byte)")
        }
        XCTAssertEqual(JSON.string("\u{0}\u{1F}\n\r\t\u{8}\u{C}\"\\/").serializedString, #""\u0000\u001f\n\r\t\b\f\"\\/""#)
        XCTAssertEqual(JSON.string("é😀").serialized(), [0x22, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0x22], "non-ASCII written as UTF-8")
    }

    func testWriterPrimitives() {
        var writer = JSONWriter()
        writer.raw("{")
        writer.key("k")
        writer.rawString("1")
        writer.comma()
        writer.key("s")
        writer.string("v")
        writer.raw("}")
        XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self), #"{"k":1,"s":"v"}"#)
    }

    func testKindDescriptions() {
        XCTAssertEqual(JSON.null.kindDescription, "null")
        XCTAssertEqual(JSON.bool(true).kindDescription, "boolean")
        XCTAssertEqual(JSON.number("1").kindDescription, "number")
        XCTAssertEqual(JSON.string("").kindDescription, "string")
        XCTAssertEqual(JSON.array([]).kindDescription, "list")
        XCTAssertEqual(JSON.object([]).kindDescription, "structure or map")
    }

    func testErrorDescription() {
        XCTAssertEqual(JSONParseError(message: "Oops", offset: 3).description, "Oops at offset 3")
    }

    // MARK: Round trips

    static func randomString(_ rng: inout SplitMix64) -> String {
        let pool: [String] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{2028}", "\u{FFFF}", "\u{10FFFF}", "key"]
        return (0..<rng.below(8)).map { _ in rng.pick(pool) }.joined()
    }

    static func randomNumberText(_ rng: inout SplitMix64) -> String {
        var text = rng.oneIn(3) ? "-" : ""
        text += rng.oneIn(4) ? "0" : String(rng.int(1...9)) + (0..<rng.below(20)).map { _ in String(rng.below(10)) }.joined()
        if rng.bool() { text += "." + (0..<rng.int(1...5)).map { _ in String(rng.below(10)) }.joined() }
        if rng.bool() { text += rng.pick(["e", "E"]) + rng.pick(["", "+", "-"]) + String(rng.below(400)) }
        return text
    }

    static func randomJSON(_ rng: inout SplitMix64, depth: Int = 0) -> JSON {
        let kind = depth >= 6 ? rng.below(4) : rng.below(6)
        switch kind {
        case 0: return rng.pick([JSON.null, .bool(true), .bool(false)])
        case 1: return .number(randomNumberText(&rng))
        case 2, 3: return .string(randomString(&rng))
        case 4: return .array((0..<rng.below(5)).map { _ in randomJSON(&rng, depth: depth + 1) })
        default: return .object((0..<rng.below(5)).map { _ in (randomString(&rng), randomJSON(&rng, depth: depth + 1)) })
        }
    }

    /// The same document with random insignificant whitespace.
    static func prettyPrinted(_ json: JSON, _ rng: inout SplitMix64) -> String {
        func ws() -> String { (0..<rng.below(3)).map { _ in rng.pick([" ", "\n", "\t", "\r"]) }.joined() }
        switch json {
        case .array(let elements):
            return "[" + ws() + elements.map { prettyPrinted($0, &rng) + ws() }.joined(separator: "," + ws()) + "]"
        case .object(let members):
            return "{" + ws() + members.map { JSON.string($0.0).serializedString + ws() + ":" + ws() + prettyPrinted($0.1, &rng) + ws() }.joined(separator: "," + ws()) + "}"
        default:
            return json.serializedString
        }
    }

    func testSeededRoundTrips() throws {
        var rng = SplitMix64(seed: 0x15_0A_2024)
        for i in 0..<2_000 {
            let doc = JSONTests.randomJSON(&rng)
            let compact = doc.serialized()
            XCTAssertEqual(try JSON.parse(compact), doc, "case \(i): \(String(decoding: compact, as: UTF8.self))")
            let pretty = JSONTests.prettyPrinted(doc, &rng)
            XCTAssertEqual(try JSON.parse(pretty), doc, "case \(i) pretty: \(pretty)")
            XCTAssertEqual(try JSON.parse(pretty).serialized(), compact)
        }
    }

    // MARK: Fuzz

    /// Parsing arbitrary bytes never traps: it returns a document (which then round-trips) or
    /// throws a JSONParseError whose offset lies inside the input.
    private func checkArbitrary(_ bytes: [UInt8]) -> Bool {
        do {
            let doc = try JSON.parse(bytes)
            XCTAssertEqual(try? JSON.parse(doc.serialized()), doc, "re-parse of \(hex(bytes))")
            return true
        } catch {
            XCTAssert((0...bytes.count).contains(error.offset), "offset \(error.offset) of \(bytes.count)")
            XCTAssertFalse(error.message.isEmpty)
            return false
        }
    }

    func testFuzzRandomBytes() {
        var rng = SplitMix64(seed: 0xF022_0001)
        let alphabet: [UInt8] = Array("{}[],:\"\\ntrufalsenu0123456789-+.eE /bu".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        var parsed = 0
        for _ in 0..<5_000 {
            let count = rng.below(40)
            let bytes: [UInt8] = (0..<count).map { _ in rng.oneIn(4) ? rng.byte() : rng.pick(alphabet) }
            if checkArbitrary(bytes) { parsed += 1 }
        }
        XCTAssertLessThan(parsed, 5_000, "random bytes are mostly not JSON")
    }

    func testFuzzMutatedDocuments() {
        var rng = SplitMix64(seed: 0xF022_0002)
        var parsed = 0
        var rejected = 0
        for _ in 0..<5_000 {
            var bytes = JSONTests.randomJSON(&rng).serialized()
            for _ in 0..<rng.int(1...3) {
                switch rng.below(5) {
                case 0 where !bytes.isEmpty: bytes[rng.below(bytes.count)] = rng.byte()
                case 1 where !bytes.isEmpty: bytes.remove(at: rng.below(bytes.count))
                case 2: bytes.insert(rng.pick(Array("{}[],:\"\\0-e.".utf8) + [rng.byte()]), at: rng.below(bytes.count + 1))
                case 3 where !bytes.isEmpty: bytes.removeLast(rng.int(1...bytes.count))
                default:
                    if !bytes.isEmpty { bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8)) }
                }
            }
            if checkArbitrary(bytes) { parsed += 1 } else { rejected += 1 }
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertGreaterThan(rejected, 0)
    }

    // MARK: Known bugs

    /// RFC 8259 §6: `int = zero / ( digit1-9 *DIGIT )`: a leading zero is not allowed.
    func testLeadingZerosInNumbersRejected() throws {
        for text in ["01", "-007", "[00]", "{\"a\":012}"] {
            XCTAssertThrowsError(try JSON.parse(text), "\(text) must be rejected")
        }
        for text in ["0", "-0", "0.5", "10", "[0,0]", "0e5"] {
            XCTAssertNoThrow(try JSON.parse(text), "\(text) must parse")
        }
    }
}
