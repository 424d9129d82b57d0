import XCTest
@testable import TernCore

final class ExpressionUpdateApplyTests: XCTestCase {
    let values: [String: AttributeValue] = [
        ":one": exprN("1"), ":two": exprN("2"), ":zero": exprN("0"), ":half": exprN("0.5"), ":v": .s("v"), ":w": .s("w"),
        ":l": .l([.s("new")]), ":l2": .l([.s("n1"), .s("n2")]), ":ss": .ss(["b", "c"]), ":ssAll": .ss(["a", "b", "x"]),
        ":ns": .ns([num("1"), num("3")]), ":bs": .bs([[9]]), ":big": exprN("9.9999999999999999999999999999999999999E+125"),
        ":e125": exprN("1E+125"), ":m": .m(item([("k", .s("v"))])),
    ]

    let base = item([
        ("pk", .s("p")), ("sk", exprN("1")), ("n", exprN("5")), ("s", .s("str")), ("arr", .l([.s("a"), .s("b"), .s("c"), .s("d")])),
        ("m", .m(item([("x", .m(item([("y", exprN("1"))]))), ("l", .l([.m(item([("q", .s("q0"))]))]))]))),
        ("tags", .ss(["a", "b"])), ("nums", .ns([num("1"), num("2")])), ("bins", .bs([[1], [2]])),
    ])

    func apply(_ text: String, to target: Item?? = nil, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> Item? {
        do {
            var attributes = ExpressionAttributes(names: names, values: values)
            let expression = try UpdateParser.parse(text, attributes: &attributes)
            return try expression.apply(to: target ?? base, keyAttributeNames: ["pk", "sk"])
        } catch {
            XCTFail("\(text) should apply: \(error)", file: file, line: line)
            return nil
        }
    }

    func assertApplyError(_ text: String, _ message: String, to target: Item?? = nil, file: StaticString = #filePath, line: UInt = #line) {
        assertDynamoError(validationException, message, file: file, line: line) {
            var attributes = ExpressionAttributes(names: [:], values: values)
            return try UpdateParser.parse(text, attributes: &attributes).apply(to: target ?? base, keyAttributeNames: ["pk", "sk"])
        }
    }

    func member(_ value: AttributeValue?, _ name: String) -> AttributeValue? {
        if case .m(let map)? = value { return map[name] }
        return nil
    }

    let incorrectType = "An operand in the update expression has an incorrect data type"
    let invalidPath = "The document path provided in the update expression is invalid for update"

    func testSetArithmetic() {
        XCTAssertEqual(apply("SET n = n + :one")?["n"], exprN("6"))
        XCTAssertEqual(apply("SET n = n - :half")?["n"], exprN("4.5"))
        XCTAssertEqual(apply("SET c = :two - n")?["c"], exprN("-3"))
        XCTAssertEqual(apply("SET c = n + n")?["c"], exprN("10"))
        XCTAssertEqual(apply("SET m.x.y = m.x.y + :two")?["m"], .m(item([("x", .m(item([("y", exprN("3"))]))), ("l", .l([.m(item([("q", .s("q0"))]))]))])))
        assertApplyError("SET a = b + :one", "The provided expression refers to an attribute that does not exist in the item")
        assertApplyError("SET a = b", "The provided expression refers to an attribute that does not exist in the item")
        assertApplyError("SET a = list_append(b, :l)", "The provided expression refers to an attribute that does not exist in the item")
        assertApplyError("SET n = s + :one", incorrectType)
        assertApplyError("SET n = :one - s", incorrectType)
        assertApplyError("SET n = :big + :e125", "Number overflow. Attempting to store a number with magnitude larger than supported range")
        // Every SET reads the old item.
        let swapped = apply("SET n = s, s = n")
        XCTAssertEqual(swapped?["n"], .s("str"))
        XCTAssertEqual(swapped?["s"], exprN("5"))
    }

    func testIfNotExistsAndListAppend() {
        XCTAssertEqual(apply("SET c = if_not_exists(c, :zero) + :one")?["c"], exprN("1"))
        XCTAssertEqual(apply("SET n = if_not_exists(n, :zero) + :one")?["n"], exprN("6"))
        XCTAssertEqual(apply("SET s = if_not_exists(s, :v)")?["s"], .s("str"))
        XCTAssertEqual(apply("SET c = if_not_exists(m.x.nope, :v)")?["c"], .s("v"))
        XCTAssertEqual(apply("SET arr = list_append(arr, :l)")?["arr"], .l([.s("a"), .s("b"), .s("c"), .s("d"), .s("new")]))
        XCTAssertEqual(apply("SET arr = list_append(:l, arr)")?["arr"], .l([.s("new"), .s("a"), .s("b"), .s("c"), .s("d")]))
        XCTAssertEqual(apply("SET c = list_append(if_not_exists(c, :l2), :l)")?["c"], .l([.s("n1"), .s("n2"), .s("new")]))
        assertApplyError("SET c = list_append(s, :l)", incorrectType)
        assertApplyError("SET c = list_append(:l, tags)", incorrectType)
    }

    func testNestedPaths() {
        let result = apply("SET m.x.z = :v, m.w = :w, m.l[0].q = :w, m.l[0].r = :v")
        XCTAssertEqual(
            result?["m"],
            .m(item([
                ("x", .m(item([("y", exprN("1")), ("z", .s("v"))]))), ("w", .s("w")),
                ("l", .l([.m(item([("q", .s("w")), ("r", .s("v"))]))])),
            ])))
        XCTAssertEqual(apply("SET m.x = :v")?["m"], .m(item([("x", .s("v")), ("l", .l([.m(item([("q", .s("q0"))]))]))])))
        XCTAssertEqual(member(apply("SET #a.#b = :v", names: ["#a": "m", "#b": "a.b"])?["m"], "a.b"), .s("v"))
        assertApplyError("SET nope.x = :v", invalidPath)
        assertApplyError("SET m.nope.x = :v", invalidPath)
        assertApplyError("SET s.x = :v", invalidPath)
        assertApplyError("SET m[0] = :v", invalidPath)
        assertApplyError("SET arr.x = :v", invalidPath)
        assertApplyError("SET arr[9].x = :v", invalidPath)
        assertApplyError("REMOVE nope.x", invalidPath)
    }

    func testListIndexes() {
        XCTAssertEqual(apply("SET arr[1] = :v")?["arr"], .l([.s("a"), .s("v"), .s("c"), .s("d")]))
        XCTAssertEqual(apply("SET arr[10] = :v")?["arr"], .l([.s("a"), .s("b"), .s("c"), .s("d"), .s("v")]))
        XCTAssertEqual(apply("SET arr[10] = :v, arr[7] = :w")?["arr"], .l([.s("a"), .s("b"), .s("c"), .s("d"), .s("w"), .s("v")]))
        XCTAssertEqual(apply("SET arr[4] = :v")?["arr"], .l([.s("a"), .s("b"), .s("c"), .s("d"), .s("v")]))
        XCTAssertEqual(apply("REMOVE arr[0], arr[2]")?["arr"], .l([.s("b"), .s("d")]))
        XCTAssertEqual(apply("REMOVE arr[2], arr[0]")?["arr"], .l([.s("b"), .s("d")]))
        XCTAssertEqual(apply("REMOVE arr[1] SET arr[3] = :v")?["arr"], .l([.s("a"), .s("c"), .s("v")]))
        XCTAssertEqual(apply("REMOVE arr[9]")?["arr"], base["arr"])
        XCTAssertEqual(apply("REMOVE arr[0], arr[1], arr[2], arr[3]")?["arr"], .l([]))
        XCTAssertEqual(apply("ADD arr[9] :one")?["arr"], .l([.s("a"), .s("b"), .s("c"), .s("d"), exprN("1")]))
    }

    func testRemove() {
        let removed = apply("REMOVE s, m.x.y, absent, m.nope")
        XCTAssertNil(removed?["s"])
        XCTAssertEqual(removed?["m"], .m(item([("x", .m(item([]))), ("l", .l([.m(item([("q", .s("q0"))]))]))])))
        XCTAssertEqual(removed?.count, base.count - 1)
        XCTAssertEqual(apply("REMOVE absent"), base)
    }

    func testAdd() {
        XCTAssertEqual(apply("ADD n :one")?["n"], exprN("6"))
        XCTAssertEqual(apply("ADD n :half")?["n"], exprN("5.5"))
        XCTAssertEqual(apply("ADD c :two")?["c"], exprN("2"))
        XCTAssertEqual(apply("ADD tags :ss")?["tags"], .ss(["a", "b", "c"]))
        XCTAssertEqual(apply("ADD nums :ns")?["nums"], .ns([num("1"), num("2"), num("3")]))
        XCTAssertEqual(apply("ADD bins :bs")?["bins"], .bs([[1], [2], [9]]))
        XCTAssertEqual(apply("ADD newset :ss")?["newset"], .ss(["b", "c"]))
        XCTAssertEqual(member(apply("ADD m.x.y :one")?["m"], "x"), .m(item([("y", exprN("2"))])))
        XCTAssertEqual(apply("ADD c :one", to: .some(nil)), item([("c", exprN("1"))]))
        assertApplyError("ADD s :one", incorrectType)
        assertApplyError("ADD tags :ns", incorrectType)
        assertApplyError("ADD n :ss", incorrectType)
        assertApplyError("ADD arr :ss", incorrectType)
        assertApplyError("ADD m.nope.x :one", invalidPath)
    }

    func testDelete() {
        XCTAssertEqual(apply("DELETE tags :ss")?["tags"], .ss(["a"]))
        XCTAssertEqual(apply("DELETE nums :ns")?["nums"], .ns([num("2")]))
        XCTAssertNil(apply("DELETE tags :ssAll")?["tags"])  // removing every element removes the attribute
        XCTAssertEqual(apply("DELETE bins :bs")?["bins"], .bs([[1], [2]]))
        XCTAssertEqual(apply("DELETE absent :ss"), base)
        assertApplyError("DELETE tags :ns", incorrectType)
        assertApplyError("DELETE s :ss", incorrectType)
        assertApplyError("DELETE n :ns", incorrectType)
    }

    func testKeyAttributesAreProtected() {
        for text in ["SET pk = :v", "REMOVE sk", "ADD sk :one", "SET a = :v, pk = :w"] {
            let key = text.contains("sk") ? "sk" : "pk"
            assertApplyError(text, "One or more parameter values were invalid: Cannot update attribute \(key). This attribute is part of the key")
        }
        assertDynamoError(validationException, "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key") {
            var attributes = ExpressionAttributes(names: ["#k": "pk"], values: values)
            return try UpdateParser.parse("SET #k = :v", attributes: &attributes).apply(to: nil, keyAttributeNames: ["pk"])
        }
        // Reading a key attribute is fine.
        XCTAssertEqual(apply("SET dup = pk")?["dup"], .s("p"))
    }

    func testMissingItemStartsEmpty() {
        XCTAssertEqual(apply("SET a = :v, b = if_not_exists(b, :one)", to: .some(nil)), item([("a", .s("v")), ("b", exprN("1"))]))
        XCTAssertEqual(apply("REMOVE a", to: .some(nil)), Item())
        XCTAssertEqual(apply("DELETE a :ss", to: .some(nil)), Item())
    }

    func testUpdatedPaths() throws {
        var attributes = ExpressionAttributes(names: [:], values: values)
        let expression = try UpdateParser.parse("SET a.b = :v REMOVE c[1] ADD d :one DELETE e :ss", attributes: &attributes)
        XCTAssertEqual(
            expression.updatedPaths,
            [exprPath(.name("a"), .name("b")), exprPath(.name("c"), .index(1)), exprPath("d"), exprPath("e")])
    }

    // MARK: - Exact decimal arithmetic

    func sum(_ a: String, _ b: String) throws -> String { try (num(a) + num(b)).description }
    func difference(_ a: String, _ b: String) throws -> String { try (num(a) - num(b)).description }

    func testDecimalArithmetic() throws {
        XCTAssertEqual(try sum("1.5", "2.25"), "3.75")
        XCTAssertEqual(try difference("0.3", "0.1"), "0.2")
        XCTAssertEqual(try difference("100000000000000000000.00000001", "1"), "99999999999999999999.00000001")
        XCTAssertEqual(try sum("-5", "3"), "-2")
        XCTAssertEqual(try sum("5", "-5"), "0")
        XCTAssertEqual(try difference("5", "5"), "0")
        XCTAssertEqual(try sum("0", "-7.5"), "-7.5")
        XCTAssertEqual(try difference("0", "7.5"), "-7.5")
        XCTAssertEqual(try sum("999", "1"), "1000")
        XCTAssertEqual(try difference("1000", "0.001"), "999.999")
        XCTAssertEqual(try sum("1E+100", "1E+100"), "2" + String(repeating: "0", count: 100))
        XCTAssertEqual(try difference("-1", "-1"), "0")
        XCTAssertEqual(try difference("-1", "1"), "-2")
        assertDynamoError(validationException, "Number overflow. Attempting to store a number with magnitude larger than supported range") {
            try sum("9.9999999999999999999999999999999999999E+125", "1E+125")
        }
        assertDynamoError(validationException, "Number underflow. Attempting to store a number with magnitude smaller than supported range") {
            try difference("1.2345E-130", "1.2344E-130")
        }
        assertDynamoError(validationException, "Attempting to store more than 38 significant digits in a Number") {
            try sum("1E+30", "1E-10")
        }
        XCTAssertEqual(try sum("12345678901234567890123456789012345678", "0"), "12345678901234567890123456789012345678")
    }

    func testDecimalArithmeticMatchesIntegers() throws {
        var random = ExpressionRNG(seed: 0xA11CE)
        for _ in 0..<2000 {
            let x = Int(random.next() % 2_000_000_000_000) - 1_000_000_000_000
            let y = Int(random.next() % 2_000_000_000_000) - 1_000_000_000_000
            let scale = Int(random.next() % 6)
            func text(_ value: Int) -> String {
                let magnitude = String(abs(value))
                let padded = String(repeating: "0", count: max(0, scale + 1 - magnitude.count)) + magnitude
                let split = padded.index(padded.endIndex, offsetBy: -scale)
                let body = scale == 0 ? padded : String(padded[..<split]) + "." + String(padded[split...])
                return (value < 0 ? "-" : "") + body
            }
            XCTAssertEqual(try num(text(x)) + num(text(y)), num(text(x + y)), "\(text(x)) + \(text(y))")
            XCTAssertEqual(try num(text(x)) - num(text(y)), num(text(x - y)), "\(text(x)) - \(text(y))")
        }
    }
}
