import XCTest
@testable import TernCore

final class ExpressionEvaluatorTests: XCTestCase {
    let sample = item([
        ("s", .s("hello")), ("n", exprN("10")), ("neg", exprN("-1")), ("b", .b([0x01, 0x02, 0x03])), ("t", .bool(true)),
        ("f", .bool(false)), ("z", .null), ("ss", .ss(["a", "b", "c"])), ("ns", .ns([num("1"), num("2.5")])),
        ("bs", .bs([[0x01], [0x02, 0x03]])), ("l", .l([.s("x"), exprN("1"), .m(item([("k", .s("v"))]))])),
        ("m", .m(item([("inn", .m(item([("deep", .s("d"))]))), ("st", .ss(["p", "q"])), ("lst", .l([exprN("7")]))]))),
        ("u", .s("é𝄞")), ("blank", .s("")),
    ])

    let values: [String: AttributeValue] = [
        ":s": .s("hello"), ":he": .s("he"), ":ell": .s("ell"), ":x": .s("x"), ":a": .s("a"), ":zz": .s("zz"), ":z": .s("z"),
        ":e": .s("é"), ":n10": exprN("10"), ":n9": exprN("9"), ":n10x0": exprN("10.00"), ":n1": exprN("1"), ":n2x5": exprN("2.5"),
        ":n3": exprN("3"), ":n100": exprN("100"), ":nm1": exprN("-1"), ":b": .b([0x01, 0x02, 0x03]), ":b12": .b([0x01, 0x02]),
        ":b23": .b([0x02, 0x03]), ":bff": .b([0xFF]), ":true": .bool(true), ":false": .bool(false), ":null": .null,
        ":ss": .ss(["c", "a", "b"]), ":ss2": .ss(["a", "b"]), ":ns": .ns([num("2.50"), num("1")]), ":bs": .bs([[0x02, 0x03], [0x01]]),
        ":l": .l([.s("x"), exprN("1"), .m(item([("k", .s("v"))]))]), ":lrev": .l([exprN("1"), .s("x")]),
        ":m": .m(item([("inn", .m(item([("deep", .s("d"))]))), ("st", .ss(["q", "p"])), ("lst", .l([exprN("7.0")]))])),
        ":kv": .m(item([("k", .s("v"))])), ":s1": .s("1"), ":n0": exprN("0"), ":n5": exprN("5"), ":n6": exprN("6"), ":n7": exprN("7"),
        ":n2": exprN("2"), ":n3x1": exprN("3"), ":S": .s("S"), ":N": .s("N"), ":B": .s("B"), ":BOOL": .s("BOOL"), ":NULL": .s("NULL"),
        ":SS": .s("SS"), ":NS": .s("NS"), ":BS": .s("BS"), ":L": .s("L"), ":M": .s("M"), ":empty": .s(""),
    ]

    func check(_ text: String, _ expected: Bool, on target: Item? = nil, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) {
        do {
            let condition = try parseCondition(text, names: names, values: values)
            XCTAssertEqual(condition.evaluate(target ?? sample), expected, text, file: file, line: line)
        } catch {
            XCTFail("\(text) should parse: \(error)", file: file, line: line)
        }
    }

    func testEqualityAcrossTypes() {
        check("s = :s", true)
        check("s = :x", false)
        check("n = :n10x0", true)  // numeric equality, not textual
        check("n = :s1", false)
        check("b = :b", true)
        check("t = :true", true)
        check("t = :false", false)
        check("z = :null", true)
        check("ss = :ss", true)  // set order does not matter
        check("ss = :ss2", false)
        check("ns = :ns", true)
        check("bs = :bs", true)
        check("l = :l", true)
        check("l = :lrev", false)  // list order matters
        check("m = :m", true)  // deep, with nested set order and number forms ignored
        check("l[2] = :kv", true)
        check("s = n", false)
        check("t = z", false)
        check("s <> :x", true)
        check("s <> :s", false)
        check("n <> :s1", true)  // different types are unequal
        check("ss <> :ss2", true)
        check("m <> :m", false)
    }

    func testOrderingOnlyForScalarsOfOneType() {
        check("n > :n9", true)  // 10 > 9 numerically (textually "10" < "9")
        check("n >= :n10x0", true)
        check("n < :n100", true)
        check("neg < :n1", true)
        check("neg <= :nm1", true)
        check("s > :he", true)
        check("s < :zz", true)
        check(":z < :e", true)  // UTF-8 byte order: "z" (7A) < "é" (C3 A9)
        check("b < :bff", true)
        check("b > :b12", true)
        check("b <= :b", true)
        // Mismatched or unordered types are false, never errors.
        for op in ["<", "<=", ">", ">="] {
            check("n \(op) :s1", false)
            check("s \(op) :n1", false)
            check("t \(op) :true", false)
            check("z \(op) :null", false)
            check("ss \(op) :ss", false)
            check("l \(op) :l", false)
            check("m \(op) :m", false)
            check("absent \(op) :n1", false)
        }
    }

    func testMissingAttributes() {
        check("absent = :s", false)
        check("absent <> :s", true)
        check("NOT absent = :s", true)
        check("absent BETWEEN :n1 AND :n3", false)
        check("absent IN (:s, :n1)", false)
        check("begins_with(absent, :he)", false)
        check("contains(absent, :he)", false)
        check("size(absent) = :n0", false)
        check("m.nope.deeper = :s", false)
        check("l[9] = :s", false)
        check("s.x = :s", false)
        check("s[0] = :s", false)
    }

    func testBetweenAndIn() {
        check("n BETWEEN :n9 AND :n100", true)
        check("n BETWEEN :n10 AND :n10x0", true)  // inclusive
        check("n BETWEEN :n1 AND :n9", false)
        check("s BETWEEN :he AND :s", true)
        check("b BETWEEN :b12 AND :bff", true)
        check("n BETWEEN :s1 AND :s", false)  // bounds of another type
        check("t BETWEEN :true AND :true", false)
        check("s IN (:x, :s)", true)
        check("n IN (:s1, :n10x0)", true)
        check("n IN (:s1, :n9)", false)
        check("ss IN (:ss2, :ss)", true)
        check("s IN (n, :s)", true)
    }

    func testFunctions() {
        check("attribute_exists(s)", true)
        check("attribute_exists(m.inn.deep)", true)
        check("attribute_exists(l[2].k)", true)
        check("attribute_exists(l[3])", false)
        check("attribute_not_exists(absent)", true)
        check("attribute_not_exists(m.inn)", false)
        check("attribute_exists(z)", true)  // a NULL attribute exists
        let types = [("s", "S"), ("n", "N"), ("b", "B"), ("t", "BOOL"), ("z", "NULL"), ("ss", "SS"), ("ns", "NS"), ("bs", "BS"), ("l", "L"), ("m", "M")]
        for (attribute, type) in types {
            for (_, other) in types {
                check("attribute_type(\(attribute), :\(other))", type == other)
            }
        }
        check("attribute_type(absent, :S)", false)
        check("begins_with(s, :he)", true)
        check("begins_with(s, :ell)", false)
        check("begins_with(s, :empty)", true)
        check("begins_with(b, :b12)", true)
        check("begins_with(b, :b23)", false)
        check("begins_with(n, :s1)", false)
        check("begins_with(s, :b12)", false)
        check("contains(s, :ell)", true)
        check("contains(s, :x)", false)
        check("contains(b, :b23)", true)
        check("contains(ss, :a)", true)
        check("contains(ss, :x)", false)
        check("contains(ss, :n1)", false)
        check("contains(ns, :n2x5)", true)
        check("contains(ns, :n3)", false)
        check("contains(bs, :b23)", true)
        check("contains(l, :x)", true)
        check("contains(l, :n1)", true)
        check("contains(l, :kv)", true)
        check("contains(l, :s1)", false)
        check("contains(m, :s)", false)
        check("contains(n, :n1)", false)
        check("contains(m.st, :a)", false)
    }

    func testSize() {
        check("size(s) = :n5", true)
        check("size(u) = :n3", true)  // UTF-16 code units: é is 1, 𝄞 is 2
        check("size(blank) = :n0", true)
        check("size(b) = :n3", true)
        check("size(ss) = :n3", true)
        check("size(ns) = :n2", true)
        check("size(bs) = :n2", true)
        check("size(l) = :n3", true)
        check("size(m) = :n3", true)
        check("size(m.lst) = :n1", true)
        check("size(n) = :n2", false)
        check("size(n) <> :n2", true)
        check("size(t) >= :n0", false)
        check("size(s) BETWEEN :n1 AND :n5", true)
        check("size(s) > size(b)", true)
        check("size(l) IN (:n1, :n3)", true)
    }

    func testLogicAndPrecedence() {
        // a OR b AND c parses as a OR (b AND c): true with a true, b and c false.
        check("s = :s OR n = :n1 AND t = :false", true)
        check("(s = :s OR n = :n1) AND t = :false", false)
        check("s = :x AND n = :n10 OR t = :true", true)
        check("s = :x AND (n = :n10 OR t = :true)", false)
        check("NOT s = :x", true)
        check("NOT s = :s OR t = :true", true)
        check("NOT (s = :s OR t = :true)", false)
        check("NOT NOT s = :s", true)
        check("NOT attribute_exists(absent) AND NOT contains(ss, :x)", true)
    }

    func testMissingItemIsEmpty() throws {
        let exists = try parseCondition("attribute_exists(a)", values: [:])
        XCTAssertFalse(exists.evaluate(nil))
        XCTAssertTrue(try parseCondition("attribute_not_exists(a)", values: [:]).evaluate(nil))
        XCTAssertTrue(try parseCondition("a <> :v", values: [":v": .s("x")]).evaluate(nil))
        XCTAssertFalse(try parseCondition("a = :v", values: [":v": .s("x")]).evaluate(nil))
        XCTAssertTrue(try parseCondition(":v = :v", values: [":v": .s("x")]).evaluate(nil))
    }

    func testPlaceholderNamesEvaluate() {
        check("#a.#b = :s", true, on: item([("x.y", .m(item([("name", .s("hello"))])))]), names: ["#a": "x.y", "#b": "name"])
        check("#a.#b = :s", false, on: item([("x", .m(item([("y", .m(item([("name", .s("hello"))])))])))]), names: ["#a": "x.y", "#b": "name"])
    }
}
