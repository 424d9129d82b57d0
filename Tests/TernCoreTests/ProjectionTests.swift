import XCTest
@testable import TernCore

final class ProjectionTests: XCTestCase {
    private func parse(_ expression: String, names: [String: String] = [:]) throws -> [DocumentPath] {
        var parser = ProjectionExpressionParser(expression, names: names)
        return try parser.parse()
    }

    private func paths(_ expression: String, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> [String] {
        do {
            return try parse(expression, names: names).map(\.description)
        } catch {
            XCTFail("\(expression) should parse: \(error)", file: file, line: line)
            return []
        }
    }

    private func assertInvalid(_ expression: String, _ message: String, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) {
        assertDynamoError(validationException, "Invalid ProjectionExpression: " + message, file: file, line: line) { try parse(expression, names: names) }
    }

    // MARK: Parser

    func testSimpleAndNestedPaths() {
        XCTAssertEqual(paths("a"), ["[a]"])
        XCTAssertEqual(paths("a, b"), ["[a]", "[b]"])
        XCTAssertEqual(paths("a.b.c"), ["[a, b, c]"])
        XCTAssertEqual(paths("a[0]"), ["[a, [0]]"])
        XCTAssertEqual(paths("a[12][3].b"), ["[a, [12], [3], b]"])
        XCTAssertEqual(paths("a.b[1].c, d"), ["[a, b, [1], c]", "[d]"])
        XCTAssertEqual(paths("  a . b [ 2 ] ,\tc\n"), ["[a, b, [2]]", "[c]"])
        XCTAssertEqual(paths("_x, A1_b, x9"), ["[_x]", "[A1_b]", "[x9]"])
        let parsed = try? parse("a.b[3]")
        XCTAssertEqual(parsed, [DocumentPath([.name("a"), .name("b"), .index(3)])])
    }

    func testPlaceholders() throws {
        var parser = ProjectionExpressionParser("#n, #s.#n[0], extra", names: ["#n": "name", "#s": "Status", "#unused": "x"])
        let parsed = try parser.parse()
        XCTAssertEqual(parsed, [DocumentPath([.name("name")]), DocumentPath([.name("Status"), .name("name"), .index(0)]), DocumentPath([.name("extra")])])
        XCTAssertEqual(parser.usedNames, ["#n", "#s"])
        // A placeholder may stand for any text, even with dots, brackets or reserved words.
        XCTAssertEqual(try parse("#a", names: ["#a": "x.y[0]"]), [DocumentPath([.name("x.y[0]")])])
        XCTAssertEqual(try parse("#0_9", names: ["#0_9": "v"]), [DocumentPath([.name("v")])])
    }

    func testReservedWordsRejected() {
        assertInvalid("name", "Attribute name is a reserved keyword; reserved keyword: name")
        assertInvalid("a, Status", "Attribute name is a reserved keyword; reserved keyword: Status")
        assertInvalid("a.size", "Attribute name is a reserved keyword; reserved keyword: size")
        assertInvalid("TIMESTAMP", "Attribute name is a reserved keyword; reserved keyword: TIMESTAMP")
        XCTAssertEqual(paths("fullname, statuses, #x", names: ["#x": "name"]), ["[fullname]", "[statuses]", "[name]"])
        XCTAssertEqual(ReservedWords.all.count, 573)
        for word in ["name", "NAME", "Name", "status", "select", "count", "value", "key", "data", "date", "user"] {
            XCTAssertTrue(ReservedWords.contains(word), word)
        }
        for word in ["id", "pk", "sk", "email", "price", "statuses"] {
            XCTAssertFalse(ReservedWords.contains(word), word)
        }
        XCTAssertTrue(ReservedWords.all.allSatisfy { $0 == $0.uppercased() })
    }

    func testUndefinedPlaceholder() {
        assertInvalid("#n", "An expression attribute name used in the document path is not defined; attribute name: #n")
        assertInvalid("a.#missing", "An expression attribute name used in the document path is not defined; attribute name: #missing", names: ["#n": "x"])
    }

    func testSyntaxErrors() {
        assertInvalid("", "The expression can not be empty;")
        assertInvalid("   ", "The expression can not be empty;")
        assertInvalid("a b", #"Syntax error; token: "b", near: "a b""#)
        assertInvalid("a,", #"Syntax error; token: "<EOF>", near: "a,""#)
        for bad in [",a", "a,,b", "a..b", "a.", "a[", "a[]", "a[x]", "a[-1]", "a[1", "1a", "a-b", "#", "# n", "a.[0]", "[0]", "a]", "a.b c", "a;b", "é"] {
            assertDynamoErrorPrefix(validationException, "Invalid ProjectionExpression: Syntax error; token: ") { try parse(bad, names: ["#n": "x"]) }
        }
    }

    func testExpressionSizeLimit() {
        let atLimit = "a" + String(repeating: ",a", count: 0) + String(repeating: " ", count: 4095)
        XCTAssertEqual(paths(atLimit), ["[a]"])
        assertInvalid(atLimit + " ", "Expression size has exceeded the maximum allowed size; expression size: 4097")
    }

    func testOverlappingAndConflictingPaths() {
        assertInvalid("a, a.b", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")
        assertInvalid("a.b, a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]")
        assertInvalid("a, a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]")
        assertInvalid("x, a[0], y, a[0].c", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [0]], path two: [a, [0], c]")
        assertInvalid("#n, a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]", names: ["#n": "a"])
        assertInvalid("a.b, a[0]", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]")
        assertInvalid("a[1].x, a[1][2]", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [1], x], path two: [a, [1], [2]]")
        // Siblings neither overlap nor conflict.
        XCTAssertEqual(paths("a.b, a.c, a.bb"), ["[a, b]", "[a, c]", "[a, bb]"])
        XCTAssertEqual(paths("a[0], a[1], a[10].x"), ["[a, [0]]", "[a, [1]]", "[a, [10], x]"])
        XCTAssertEqual(paths("ab, a"), ["[ab]", "[a]"])
    }

    func testPathDepthLimit() {
        let thirtyTwo = "a" + String(repeating: ".b", count: 31)
        XCTAssertEqual(try parse(thirtyTwo).first?.elements.count, 32)
        let withIndexes = "a" + String(repeating: "[0]", count: 31)
        XCTAssertEqual(try parse(withIndexes).first?.elements.count, 32)
        assertInvalid(thirtyTwo + ".c", "The document path has too many nesting levels; nesting levels: 33")
        assertInvalid(withIndexes + "[0]", "The document path has too many nesting levels; nesting levels: 33")
    }

    func testHugeIndexIsClampedNotTrapping() throws {
        let parsed = try parse("a[99999999999999999999999999]")
        XCTAssertEqual(parsed.first?.elements.last, .index(Int(Int32.max)))
    }

    // MARK: Document paths

    let sample = item([
        ("a", .m(item([("b", .s("ab")), ("c", .l([.n(num("0")), .m(item([("d", .s("acd"))])), .s("a2")]))]))),
        ("l", .l([.s("l0"), .s("l1"), .s("l2"), .s("l3")])),
        ("s", .s("top")),
        ("ll", .l([.l([.s("x00"), .s("x01")]), .l([.s("x10")])])),
    ])

    func testDocumentPathValue() {
        XCTAssertEqual(DocumentPath([.name("s")]).value(in: sample), .s("top"))
        XCTAssertEqual(DocumentPath([.name("a"), .name("c"), .index(1), .name("d")]).value(in: sample), .s("acd"))
        XCTAssertEqual(DocumentPath([.name("ll"), .index(0), .index(1)]).value(in: sample), .s("x01"))
        XCTAssertNil(DocumentPath([.name("missing")]).value(in: sample))
        XCTAssertNil(DocumentPath([.name("l"), .index(4)]).value(in: sample))
        XCTAssertNil(DocumentPath([.name("l"), .name("x")]).value(in: sample))
        XCTAssertNil(DocumentPath([.name("a"), .index(0)]).value(in: sample))
        XCTAssertNil(DocumentPath([.name("s"), .name("x")]).value(in: sample))
        XCTAssertNil(DocumentPath([.index(0)]).value(in: sample))
        XCTAssertEqual(DocumentPath([.name("a"), .index(3), .name("b")]).description, "[a, [3], b]")
    }

    // MARK: Projection.apply

    private func project(_ expression: String, _ target: Item? = nil, file: StaticString = #filePath, line: UInt = #line) -> Item {
        do {
            return Projection.apply(try parse(expression), to: target ?? sample)
        } catch {
            XCTFail("\(expression): \(error)", file: file, line: line)
            return AttributeMap()
        }
    }

    func testApplyTopLevel() {
        XCTAssertEqual(project("s"), item([("s", .s("top"))]))
        XCTAssertEqual(project("s, l"), item([("s", .s("top")), ("l", sample["l"]!)]))
        XCTAssertEqual(project("nope"), AttributeMap())
        XCTAssertEqual(project("nope, s"), item([("s", .s("top"))]))
        XCTAssertEqual(Projection.apply([], to: sample), AttributeMap())
    }

    func testApplyNested() {
        XCTAssertEqual(project("a.b"), item([("a", .m(item([("b", .s("ab"))])))]))
        XCTAssertEqual(project("a.c[1].d"), item([("a", .m(item([("c", .l([.m(item([("d", .s("acd"))]))]))])))]))
        XCTAssertEqual(project("a.b, a.c[2]"), item([("a", .m(item([("b", .s("ab")), ("c", .l([.s("a2")]))])))]))
        XCTAssertEqual(project("a.nope"), AttributeMap(), "a path naming nothing adds nothing, not an empty map")
        XCTAssertEqual(project("a.b.c"), AttributeMap(), "a string has no members")
        XCTAssertEqual(project("s[0]"), AttributeMap())
        XCTAssertEqual(project("a[0]"), AttributeMap(), "a map has no elements")
        XCTAssertEqual(project("l.x"), AttributeMap(), "a list has no members")
    }

    func testApplyListElementsCompactedInIndexOrder() {
        XCTAssertEqual(project("l[3], l[1]"), item([("l", .l([.s("l1"), .s("l3")]))]))
        XCTAssertEqual(project("l[2], l[0], l[9]"), item([("l", .l([.s("l0"), .s("l2")]))]))
        XCTAssertEqual(project("l[9]"), AttributeMap())
        XCTAssertEqual(project("ll[1][0], ll[0][1]"), item([("ll", .l([.l([.s("x01")]), .l([.s("x10")])]))]))
        XCTAssertEqual(project("a.c[1].d, a.c[1].zz, a.c[0].d"), item([("a", .m(item([("c", .l([.m(item([("d", .s("acd"))]))]))])))]),
                       "a[0] is a number, so a.c[0].d selects nothing and the list holds only the element from index 1")
    }

    func testApplyMixed() {
        let target = item([
            ("id", .s("1")),
            ("info", .m(item([("tags", .ss(["x", "y"])), ("dims", .l([.n(num("1")), .n(num("2")), .n(num("3"))])), ("vacant", .m(AttributeMap()))]))),
            ("other", .bool(true)),
        ])
        let result = project("id, info.dims[2], info.dims[0], info.tags, info.vacant, nope.x", target)
        XCTAssertEqual(result, item([
            ("id", .s("1")),
            ("info", .m(item([("dims", .l([.n(num("1")), .n(num("3"))])), ("vacant", .m(AttributeMap())), ("tags", .ss(["x", "y"]))]))),
        ]))
        // Duplicate paths (AttributesToGet may repeat a name) select once.
        XCTAssertEqual(Projection.apply([DocumentPath([.name("id")]), DocumentPath([.name("id")])], to: target), item([("id", .s("1"))]))
        // A whole-attribute path wins over a nested one for the same attribute.
        XCTAssertEqual(Projection.apply([DocumentPath([.name("info"), .name("tags")]), DocumentPath([.name("info")])], to: target), item([("info", target["info"]!)]))
    }
}
