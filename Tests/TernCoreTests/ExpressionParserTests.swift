import XCTest
@testable import TernCore

/// Shorthands shared by the Expression*Tests files.
func exprPath(_ elements: PathElement...) -> DocumentPath { DocumentPath(elements) }
func exprPath(_ name: String) -> DocumentPath { DocumentPath([.name(name)]) }
func exprN(_ text: String) -> AttributeValue { .n(num(text)) }

func parseCondition(
    _ text: String, names: [String: String] = [:], values: [String: AttributeValue] = [:], kind: String = "ConditionExpression"
) throws -> Condition {
    var attributes = ExpressionAttributes(names: names, values: values)
    return try ConditionParser.parse(text, kind: kind, attributes: &attributes)
}

func parseUpdate(_ text: String, names: [String: String] = [:], values: [String: AttributeValue] = [:]) throws -> UpdateExpression {
    var attributes = ExpressionAttributes(names: names, values: values)
    return try UpdateParser.parse(text, attributes: &attributes)
}

final class ExpressionParserTests: XCTestCase {
    let values: [String: AttributeValue] = [
        ":v": .s("x"), ":w": .s("y"), ":n": exprN("5"), ":one": exprN("1"), ":b": .b([1, 2]), ":l": .l([.s("e")]),
        ":ss": .ss(["a", "b"]), ":ns": .ns([num("1")]), ":m": .m(item([("k", .s("v"))])), ":t": .s("SS"), ":bool": .bool(true),
        ":null": .null,
    ]

    func cond(_ text: String, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> Condition? {
        do {
            return try parseCondition(text, names: names, values: values)
        } catch {
            XCTFail("\(text) should parse: \(error)", file: file, line: line)
            return nil
        }
    }

    func assertCondition(
        _ text: String, _ message: String, names: [String: String] = [:], values extra: [String: AttributeValue]? = nil,
        kind: String = "ConditionExpression", file: StaticString = #filePath, line: UInt = #line
    ) {
        assertDynamoError(validationException, "Invalid \(kind): " + message, file: file, line: line) {
            try parseCondition(text, names: names, values: extra ?? values, kind: kind)
        }
    }

    func update(_ text: String, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> UpdateExpression? {
        do {
            return try parseUpdate(text, names: names, values: values)
        } catch {
            XCTFail("\(text) should parse: \(error)", file: file, line: line)
            return nil
        }
    }

    func assertUpdate(
        _ text: String, _ message: String, names: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line
    ) {
        assertDynamoError(validationException, "Invalid UpdateExpression: " + message, file: file, line: line) {
            try parseUpdate(text, names: names, values: values)
        }
    }

    let a = Operand.path(exprPath("a"))
    let b = Operand.path(exprPath("b"))
    let c = Operand.path(exprPath("c"))
    let v = Operand.value(.s("x"))

    // MARK: - Condition constructs

    func testComparators() {
        for comparator in Comparator.allCases {
            XCTAssertEqual(cond("a \(comparator.rawValue) :v"), .compare(a, comparator, v), comparator.rawValue)
            XCTAssertEqual(cond("a\(comparator.rawValue):v"), .compare(a, comparator, v), comparator.rawValue)
        }
        XCTAssertEqual(cond(":v = a"), .compare(v, .equal, a))
        XCTAssertEqual(cond("a <> b"), .compare(a, .notEqual, b))
        XCTAssertEqual(Comparator.less.mirrored, .greater)
        XCTAssertEqual(Comparator.greaterOrEqual.mirrored, .lessOrEqual)
        XCTAssertEqual(Comparator.notEqual.mirrored, .notEqual)
    }

    func testPathsAndPlaceholders() throws {
        let names = ["#s": "Status", "#d": "a.b", "#unused": "z"]
        XCTAssertEqual(
            cond("a.b[2].#s = :v", names: names),
            .compare(.path(exprPath(.name("a"), .name("b"), .index(2), .name("Status"))), .equal, v))
        XCTAssertEqual(cond("#d = :v", names: names), .compare(.path(exprPath("a.b")), .equal, v))
        XCTAssertEqual(cond("  a . b [ 0 ]\t=\n:v ", names: names), .compare(.path(exprPath(.name("a"), .name("b"), .index(0))), .equal, v))
        XCTAssertEqual(cond("_x1 = :v"), .compare(.path(exprPath("_x1")), .equal, v))

        var attributes = ExpressionAttributes(names: names, values: values)
        _ = try ConditionParser.parse("#s = :v AND #d < :n", kind: "ConditionExpression", attributes: &attributes)
        XCTAssertEqual(attributes.usedNames, ["#s", "#d"])
        XCTAssertEqual(attributes.usedValues, [":v", ":n"])
    }

    func testBetweenInAndFunctions() {
        XCTAssertEqual(cond("a BETWEEN :one AND :n"), .between(a, .value(exprN("1")), .value(exprN("5"))))
        XCTAssertEqual(cond("a between b and :n"), .between(a, b, .value(exprN("5"))))
        XCTAssertEqual(cond("a IN (:v)"), .isIn(a, [v]))
        XCTAssertEqual(cond("a in (:v, b,:n)"), .isIn(a, [v, b, .value(exprN("5"))]))
        XCTAssertEqual(cond("attribute_exists(a.b)"), .attributeExists(exprPath(.name("a"), .name("b"))))
        XCTAssertEqual(cond("attribute_not_exists (a[1])"), .attributeNotExists(exprPath(.name("a"), .index(1))))
        XCTAssertEqual(cond("attribute_type(a, :t)"), .attributeType(exprPath("a"), "SS"))
        XCTAssertEqual(cond("begins_with(a, :v)"), .beginsWith(a, v))
        XCTAssertEqual(cond("begins_with(a, :b)"), .beginsWith(a, .value(.b([1, 2]))))
        XCTAssertEqual(cond("contains(a, :n)"), .contains(a, .value(exprN("5"))))
        XCTAssertEqual(cond("contains(a, b)"), .contains(a, b))
        XCTAssertEqual(cond("size(a) > :n"), .compare(.size(exprPath("a")), .greater, .value(exprN("5"))))
        XCTAssertEqual(cond("size ( a.b ) BETWEEN :one AND :n"), .between(.size(exprPath(.name("a"), .name("b"))), .value(exprN("1")), .value(exprN("5"))))
        XCTAssertEqual(cond("a IN (size(b))"), .isIn(a, [.size(exprPath("b"))]))
        XCTAssertEqual(cond("(a) = :v"), .compare(a, .equal, v))
        XCTAssertEqual(cond("(size(a)) >= (:n)"), .compare(.size(exprPath("a")), .greaterOrEqual, .value(exprN("5"))))
        XCTAssertEqual(cond("(a) BETWEEN (:one) AND :n"), .between(a, .value(exprN("1")), .value(exprN("5"))))
        XCTAssertEqual(cond("(a) IN (:v)"), .isIn(a, [v]))
    }

    func testPrecedenceAndParentheses() {
        let A = Condition.compare(a, .equal, v)
        let B = Condition.compare(b, .equal, v)
        let C = Condition.compare(c, .equal, v)
        XCTAssertEqual(cond("a = :v OR b = :v AND c = :v"), .or(A, .and(B, C)))
        XCTAssertEqual(cond("a = :v AND b = :v OR c = :v"), .or(.and(A, B), C))
        XCTAssertEqual(cond("(a = :v OR b = :v) AND c = :v"), .and(.or(A, B), C))
        XCTAssertEqual(cond("a = :v AND (b = :v OR c = :v)"), .and(A, .or(B, C)))
        XCTAssertEqual(cond("a = :v AND b = :v AND c = :v"), .and(.and(A, B), C))
        XCTAssertEqual(cond("a = :v OR b = :v OR c = :v"), .or(.or(A, B), C))
        XCTAssertEqual(cond("NOT a = :v AND b = :v"), .and(.not(A), B))
        XCTAssertEqual(cond("NOT (a = :v AND b = :v)"), .not(.and(A, B)))
        XCTAssertEqual(cond("NOT a = :v OR NOT b = :v"), .or(.not(A), .not(B)))
        XCTAssertEqual(cond("not not a = :v"), .not(.not(A)))
        XCTAssertEqual(cond("a BETWEEN :one AND :n AND b = :v"), .and(.between(a, .value(exprN("1")), .value(exprN("5"))), B))
        XCTAssertEqual(cond("attribute_exists(a) AND NOT contains(b, :v)"), .and(.attributeExists(exprPath("a")), .not(.contains(b, v))))
        XCTAssertEqual(cond("(a = :v)"), A)
        XCTAssertEqual(cond("((a = :v) AND b = :v)"), .and(A, B))
        XCTAssertEqual(cond("a = :v And b = :v oR c = :v"), .or(.and(A, B), C))
    }

    // MARK: - Condition errors

    func testEmptyAndTooLong() {
        assertCondition("", "The expression can not be empty;")
        assertCondition(" \t\n", "The expression can not be empty;")
        let atLimit = "a = :v" + String(repeating: " ", count: 4096 - 6)
        XCTAssertNotNil(cond(atLimit))
        assertCondition(atLimit + " ", "Expression size has exceeded the maximum allowed size; expression size: 4097")
        assertCondition("", "The expression can not be empty;", kind: "FilterExpression")
    }

    func testSyntaxErrors() {
        assertCondition("a =", #"Syntax error; token: "<EOF>", near: "=""#)
        assertCondition("a = :v b", #"Syntax error; token: "b", near: ":v b""#)
        assertCondition("a = :v AND", #"Syntax error; token: "<EOF>", near: "AND""#)
        assertCondition("= :v", #"Syntax error; token: "=", near: "= :v""#)
        assertCondition("a == :v", #"Syntax error; token: "=", near: "== :v""#)
        assertCondition("attribute_type()", #"Syntax error; token: ")", near: "()""#)
        assertCondition("a[x] = :v", #"Syntax error; token: "x", near: "[x]""#)
        assertCondition("a = 5", #"Syntax error; token: "5", near: "= 5""#)
        assertCondition("1a = :v", #"Syntax error; token: "1a", near: "1a =""#)
        assertCondition("a = 'x'", #"Syntax error; token: "'", near: "= 'x""#)
        assertCondition("a", #"Syntax error; token: "<EOF>", near: "a""#)
        assertCondition("a = : v", #"Syntax error; token: ":", near: "= : v""#)
        assertCondition("# = :v", ##"Syntax error; token: "#", near: "# =""##)
        assertCondition("AND = :v", #"Syntax error; token: "AND", near: "AND =""#)
        assertCondition("a BETWEEN :v", #"Syntax error; token: "<EOF>", near: ":v""#)
        assertCondition("a IN :v", #"Syntax error; token: ":v", near: "IN :v""#)
        assertCondition("a IN ()", #"Syntax error; token: ")", near: "()""#)
        assertCondition("(a = :v", #"Syntax error; token: "<EOF>", near: ":v""#)
        assertCondition("a = :v)", #"Syntax error; token: ")", near: ":v)""#)
        assertCondition("a é :v", #"Syntax error; token: "é", near: "a é :v""#)
        for bad in ["a.", "a..b = :v", "a[-1] = :v", "a[] = :v", "[0] = :v", "a.[0] = :v", "NOT", "a = :v NOT b = :v", "a <=> :v", "a = ;"] {
            assertDynamoErrorPrefix(validationException, "Invalid ConditionExpression: Syntax error; token: ") {
                try parseCondition(bad, values: values)
            }
        }
    }

    func testReservedWordsAndPlaceholders() {
        assertCondition("name = :v", "Attribute name is a reserved keyword; reserved keyword: name")
        assertCondition("a.Status = :v", "Attribute name is a reserved keyword; reserved keyword: Status")
        assertCondition("attribute_exists(size)", "Attribute name is a reserved keyword; reserved keyword: size")
        XCTAssertEqual(cond("#n = :v", names: ["#n": "name"]), .compare(.path(exprPath("name")), .equal, v))
        assertCondition("#x = :v", "An expression attribute name used in the document path is not defined; attribute name: #x")
        assertCondition("a = :missing", "An expression attribute value used in expression is not defined; attribute value: :missing")
        assertCondition("a = :missing OR #x = :v", "An expression attribute value used in expression is not defined; attribute value: :missing")
        // A reserved word outranks an undefined placeholder.
        assertCondition("a = :missing OR name = :v", "Attribute name is a reserved keyword; reserved keyword: name")
        assertCondition("a = :v", "An expression attribute value used in expression is not defined; attribute value: :v", values: [:])
    }

    func testFunctionErrors() {
        assertCondition("foo(a)", "Invalid function name; function: foo")
        assertCondition("Begins_with(a, :v)", "Invalid function name; function: Begins_with")
        assertCondition("if_not_exists(a, :v) = :v", "The function is not allowed in a condition expression; function: if_not_exists")
        assertCondition("list_append(a, :l)", "The function is not allowed in a condition expression; function: list_append")
        assertCondition("begins_with(a, :v) = :w", "The function is not allowed to be used this way in an expression; function: begins_with")
        assertCondition("a IN (contains(b, :v))", "The function is not allowed to be used this way in an expression; function: contains")
        assertCondition("size(a)", "The function is not allowed to be used this way in an expression; function: size")
        assertCondition("a = :v AND size(a)", "The function is not allowed to be used this way in an expression; function: size")
        assertCondition("begins_with(a)", "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1")
        assertCondition("attribute_exists(a, b)", "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2")
        assertCondition("size(a, b) = :n", "Incorrect number of operands for operator or function; operator or function: size, number of operands: 2")
        assertCondition("attribute_exists(:v)", "Operator or function requires a document path; operator or function: attribute_exists")
        assertCondition("attribute_not_exists(size(a))", "Operator or function requires a document path; operator or function: attribute_not_exists")
        assertCondition("size(:v) = :n", "Operator or function requires a document path; operator or function: size")
        assertCondition("size(:n) = :n", "Incorrect operand type for operator or function; operator or function: size, operand type: N")
        assertCondition("attribute_type(a, :n)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N")
        assertCondition("attribute_type(a, b)", "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {NS,SS,L,BS,N,M,B,BOOL,NULL,S}")
        assertCondition("attribute_type(a, :v)", "Invalid attribute type name found; type: x, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
        for typeName in ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"] {
            XCTAssertEqual(try parseCondition("attribute_type(a, :t)", values: [":t": .s(typeName)]), .attributeType(exprPath("a"), typeName))
        }
        assertCondition("begins_with(a, :n)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
        assertCondition("begins_with(size(a), :v)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
        assertCondition("begins_with(a, :l)", "Incorrect operand type for operator or function; operator or function: begins_with, operand type: L")
    }

    func testDistinctOperands() {
        let prefix = "The first operand must be distinct from the remaining operands for this operator or function; "
        assertCondition("a = a", prefix + "operator: =, first operand: [a]")
        assertCondition("a.b[1] <> a.b[1]", prefix + "operator: <>, first operand: [a, b, [1]]")
        assertCondition("#x < a", prefix + "operator: <, first operand: [a]", names: ["#x": "a"])
        assertCondition("begins_with(a, a)", prefix + "operator: begins_with, first operand: [a]")
        assertCondition("contains(a, a)", prefix + "operator: contains, first operand: [a]")
        assertCondition("a BETWEEN :one AND a", prefix + "operator: BETWEEN, first operand: [a]")
        assertCondition("a IN (:v, a)", prefix + "operator: IN, first operand: [a]")
        XCTAssertNotNil(cond("a = a.b"))
        XCTAssertNotNil(cond("size(a) = a"))
    }

    func testBetweenBounds() {
        assertCondition(
            "a BETWEEN :n AND :one",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}")
        assertCondition(
            "a BETWEEN :n AND :v",
            "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:x}")
        assertCondition(
            "a BETWEEN :w AND :v",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:y}, upper bound operand: AttributeValue: {S:x}")
        XCTAssertNotNil(cond("a BETWEEN :v AND :v"))
        XCTAssertNotNil(cond("a BETWEEN :v AND :w"))
        XCTAssertNotNil(cond("a BETWEEN :bool AND :bool"))
    }

    func testInOperandLimit() {
        var values: [String: AttributeValue] = [:]
        for i in 0..<101 { values[":v\(i)"] = exprN("\(i)") }
        let hundred = (0..<100).map { ":v\($0)" }.joined(separator: ",")
        XCTAssertEqual(try parseCondition("a IN (\(hundred))", values: values.filter { $0.key != ":v100" }).isInCount, 100)
        assertCondition(
            "a IN (\(hundred),:v100)", "The IN operator is provided with too many operands; number of operands: 101", values: values)
    }

    func testRedundantParentheses() {
        assertCondition("((a = :v))", "The expression has redundant parentheses;")
        assertCondition("((a)) = :v", "The expression has redundant parentheses;")
        assertCondition("a = :v AND ((b = :v))", "The expression has redundant parentheses;")
        assertCondition("((foo(a)))", "The expression has redundant parentheses;")
        XCTAssertNotNil(cond("((a = :v) AND (b = :v))"))
        XCTAssertNotNil(cond("(NOT (a = :v))"))
    }

    func testPathDepthAndNestingLimits() {
        let thirtyTwo = "a" + String(repeating: ".b", count: 31)
        XCTAssertNotNil(cond("\(thirtyTwo) = :v"))
        assertCondition("\(thirtyTwo)[0] = :v", "The document path has too many nesting levels; nesting levels: 33")
        // Deep nesting is refused, never a stack overflow.
        for deep in [String(repeating: "(", count: 2000), String(repeating: "NOT ", count: 1000) + "a = :v",
                     String(repeating: "(", count: 150) + "a = :v" + String(repeating: ")", count: 150)] {
            assertDynamoErrorPrefix(validationException, "Invalid ConditionExpression: ") { try parseCondition(deep, values: values) }
        }
    }

    func testOperatorLimit() {
        let terms = { (n: Int) in (0..<n).map { "a\($0) = :v" }.joined(separator: " AND ") }
        XCTAssertNotNil(cond(terms(150)))  // 150 comparisons + 149 ANDs = 299 operators
        assertCondition(terms(151), "The expression contains too many operators; operator count: 301")
    }

    func testKindPrefix() {
        assertCondition("name = :v", "Attribute name is a reserved keyword; reserved keyword: name", kind: "FilterExpression")
        assertCondition("a = ", #"Syntax error; token: "<EOF>", near: "=""#, kind: "FilterExpression")
    }

    // MARK: - Placeholder bookkeeping

    func testUnusedPlaceholders() throws {
        var attributes = ExpressionAttributes(names: ["#b": "x", "#a": "y", "#c": "z"], values: [":z": .s("1"), ":y": .s("2")])
        XCTAssertThrowsError(try attributes.checkAllUsed())
        _ = try ConditionParser.parse("#c = :y", kind: "ConditionExpression", attributes: &attributes)
        assertDynamoError(validationException, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}") {
            try attributes.checkAllUsed()
        }
        _ = try UpdateParser.parse("SET #a = :y, #b = :y", attributes: &attributes)
        assertDynamoError(validationException, "Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}") {
            try attributes.checkAllUsed()
        }
        attributes.markNamesUsed(["#nope"])
        _ = try UpdateParser.parse("SET q = :z", attributes: &attributes)
        XCTAssertNoThrow(try attributes.checkAllUsed())
        XCTAssertNoThrow(try ExpressionAttributes(names: [:], values: [:]).checkAllUsed())
    }

    // MARK: - Update constructs

    func testUpdateActions() {
        let pa = exprPath("a")
        XCTAssertEqual(update("SET a = :v")?.actions, [.set(pa, .operand(.value(.s("x"))))])
        XCTAssertEqual(
            update("SET a = b + :n, c = :n - b")?.actions,
            [.set(pa, .plus(.path(exprPath("b")), .value(exprN("5")))), .set(exprPath("c"), .minus(.value(exprN("5")), .path(exprPath("b"))))])
        XCTAssertEqual(
            update("SET a = if_not_exists(a, :one) + :n")?.actions,
            [.set(pa, .plus(.ifNotExists(pa, .value(exprN("1"))), .value(exprN("5"))))])
        XCTAssertEqual(update("SET a = list_append(a, :l)")?.actions, [.set(pa, .operand(.listAppend(.path(pa), .value(.l([.s("e")])))))])
        XCTAssertEqual(update("SET a = list_append(:l, a)")?.actions, [.set(pa, .operand(.listAppend(.value(.l([.s("e")])), .path(pa))))])
        XCTAssertEqual(
            update("SET a = list_append(if_not_exists(a, :l), :l)")?.actions,
            [.set(pa, .operand(.listAppend(.ifNotExists(pa, .value(.l([.s("e")]))), .value(.l([.s("e")])))))])
        XCTAssertEqual(update("SET a = (b + :n)")?.actions, [.set(pa, .plus(.path(exprPath("b")), .value(exprN("5"))))])
        XCTAssertEqual(update("SET a = (b) - (:n)")?.actions, [.set(pa, .minus(.path(exprPath("b")), .value(exprN("5"))))])
        XCTAssertEqual(update("SET a = (b)")?.actions, [.set(pa, .operand(.path(exprPath("b"))))])
        XCTAssertEqual(update("REMOVE a, b.c[1]")?.actions, [.remove(pa), .remove(exprPath(.name("b"), .name("c"), .index(1)))])
        XCTAssertEqual(update("ADD a :n, b :ss")?.actions, [.add(pa, exprN("5")), .add(exprPath("b"), .ss(["a", "b"]))])
        XCTAssertEqual(update("DELETE a :ss, b.c :ns")?.actions, [.delete(pa, .ss(["a", "b"])), .delete(exprPath(.name("b"), .name("c")), .ns([num("1")]))])
        let all = update("set a = :v remove b add c :n delete d :ss")
        XCTAssertEqual(
            all?.actions,
            [.set(pa, .operand(.value(.s("x")))), .remove(exprPath("b")), .add(exprPath("c"), exprN("5")), .delete(exprPath("d"), .ss(["a", "b"]))])
        XCTAssertEqual(all?.updatedPaths, [pa, exprPath("b"), exprPath("c"), exprPath("d")])
        XCTAssertEqual(update("REMOVE b SET #n[3] = :v", names: ["#n": "name"])?.actions, [.remove(exprPath("b")), .set(exprPath(.name("name"), .index(3)), .operand(.value(.s("x"))))])
        XCTAssertEqual(update("SET a=b,c=a")?.actions, [.set(pa, .operand(.path(exprPath("b")))), .set(exprPath("c"), .operand(.path(pa)))])
    }

    func testUpdateErrors() {
        assertDynamoError(validationException, "Invalid UpdateExpression: The expression can not be empty;") { try parseUpdate("  ") }
        assertUpdate("SET", #"Syntax error; token: "<EOF>", near: "SET""#)
        assertUpdate("INVALID SYNTAX HERE", #"Syntax error; token: "INVALID", near: "INVALID SYNTAX""#)
        assertUpdate("ADD hits : incr", #"Syntax error; token: ":", near: "hits : incr""#)
        assertUpdate("SET a = b + c + d", #"Syntax error; token: "+", near: "c + d""#)
        assertUpdate("SET a :v", #"Syntax error; token: ":v", near: "a :v""#)
        assertUpdate("SET a = :v,", #"Syntax error; token: "<EOF>", near: ",""#)
        assertUpdate("SET a = 0", #"Syntax error; token: "0", near: "= 0""#)
        assertUpdate("SET a = b * c", #"Syntax error; token: "*", near: "b * c""#)
        assertUpdate("REMOVE a = :v", #"Syntax error; token: "=", near: "a = :v""#)
        assertUpdate("ADD a b", #"Syntax error; token: "b", near: "a b""#)
        assertUpdate("SET a = :v, REMOVE b", #"Syntax error; token: "REMOVE", near: ", REMOVE b""#)
        assertUpdate("SET a = ((b))", #"Syntax error; token: "(", near: "((b""#)

        assertUpdate("SET a = :v SET b = :v", "The \"SET\" section can only be used once in an update expression;")
        assertUpdate("remove a remove b", "The \"REMOVE\" section can only be used once in an update expression;")
        assertUpdate("ADD a :n DELETE b :ss ADD c :n", "The \"ADD\" section can only be used once in an update expression;")
        assertUpdate("SET name = :v", "Attribute name is a reserved keyword; reserved keyword: name")
        assertUpdate("SET a = :v SET name = :missing", "Attribute name is a reserved keyword; reserved keyword: name")
        assertUpdate("SET a = #x", "An expression attribute name used in the document path is not defined; attribute name: #x")
        assertUpdate("SET a = :missing", "An expression attribute value used in expression is not defined; attribute value: :missing")
        assertUpdate("SET a = :missing, #x = :v", "An expression attribute name used in the document path is not defined; attribute name: #x")

        assertUpdate("SET a = :v, a.b = :v", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")
        assertUpdate("SET a = :v REMOVE a", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]")
        assertUpdate("REMOVE a[1].b ADD a[1] :n", "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, [1], b], path two: [a, [1]]")
        assertUpdate("SET a.b = :v, a[0] = :v", "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]")
        XCTAssertNotNil(update("SET a.b = :v, a.c = :v, a.bb = b.a REMOVE a.d[0], a.d[1]"))

        assertUpdate("ADD a :v", "Incorrect operand type for operator or function; operator: ADD, operand type: STRING")
        assertUpdate("ADD a :l", "Incorrect operand type for operator or function; operator: ADD, operand type: LIST")
        assertUpdate("ADD a :m", "Incorrect operand type for operator or function; operator: ADD, operand type: MAP")
        assertUpdate("ADD a :bool", "Incorrect operand type for operator or function; operator: ADD, operand type: BOOLEAN")
        assertUpdate("DELETE a :n", "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER")
        assertUpdate("DELETE a :b", "Incorrect operand type for operator or function; operator: DELETE, operand type: BINARY")
        assertUpdate("DELETE a :null", "Incorrect operand type for operator or function; operator: DELETE, operand type: NULL")
        assertUpdate("SET a = b + :v", "Incorrect operand type for operator or function; operator or function: +, operand type: S")
        assertUpdate("SET a = :ss - b", "Incorrect operand type for operator or function; operator or function: -, operand type: SS")
        assertUpdate("SET a = list_append(:v, a)", "Incorrect operand type for operator or function; operator or function: list_append, operand type: S")
        assertUpdate("SET a = list_append(a)", "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1")
        assertUpdate("SET a = if_not_exists(a, :v, :w)", "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 3")
        assertUpdate("SET a = if_not_exists(:v, a)", "Operator or function requires a document path; operator or function: if_not_exists")
        assertUpdate("SET a = foo(b)", "Invalid function name; function: foo")
        assertUpdate("SET a = begins_with(b, :v)", "The function is not allowed in an update expression; function: begins_with")
        assertUpdate("SET a = size(b)", "The function is not allowed in an update expression; function: size")
    }

    func testUpdateLimits() {
        let thirtyTwo = "a" + String(repeating: "[0]", count: 31)
        XCTAssertNotNil(update("REMOVE \(thirtyTwo)"))
        assertUpdate("REMOVE \(thirtyTwo).b", "The document path has too many nesting levels; nesting levels: 33")
        let sets = { (n: Int) in "SET " + (0..<n).map { "a\($0)=b+:n" }.joined(separator: ",") }
        XCTAssertNotNil(update(sets(300)))
        assertUpdate(sets(301), "The expression contains too many operators; operator count: 301")
        assertUpdate("SET a = :v" + String(repeating: " ", count: 4087), "Expression size has exceeded the maximum allowed size; expression size: 4097")
    }

    // MARK: - Key conditions

    let pk = KeyAttribute(name: "pk", type: .string)
    let sk = KeyAttribute(name: "sk", type: .number)

    func key(_ text: String, sortKey: KeyAttribute?? = nil, names: [String: String] = [:], values: [String: AttributeValue]? = nil) throws -> KeyCondition {
        var attributes = ExpressionAttributes(names: names, values: values ?? [":p": .s("p"), ":s": exprN("1"), ":t": exprN("9"), ":str": .s("x"), ":b": .b([1])])
        return try KeyConditionParser.parse(text, partitionKey: pk, sortKey: sortKey ?? sk, attributes: &attributes)
    }

    func assertKey(_ text: String, _ message: String, sortKey: KeyAttribute?? = nil, file: StaticString = #filePath, line: UInt = #line) {
        assertDynamoError(validationException, message, file: file, line: line) { try key(text, sortKey: sortKey) }
    }

    func testKeyConditions() throws {
        XCTAssertEqual(try key("pk = :p"), KeyCondition(partitionKeyName: "pk", partitionKeyValue: .s("p")))
        XCTAssertEqual(try key("pk = :p", sortKey: .some(nil)), KeyCondition(partitionKeyName: "pk", partitionKeyValue: .s("p")))
        let one = exprN("1")
        let nine = exprN("9")
        let cases: [(String, KeyCondition.SortCondition)] = [
            ("pk = :p AND sk = :s", .equal(one)), ("pk = :p AND sk < :s", .less(one)), ("pk = :p AND sk <= :s", .lessOrEqual(one)),
            ("pk = :p AND sk > :s", .greater(one)), ("pk = :p AND sk >= :s", .greaterOrEqual(one)),
            ("pk = :p AND sk BETWEEN :s AND :t", .between(one, nine)), ("sk >= :s AND pk = :p", .greaterOrEqual(one)),
            ("(pk = :p) AND (sk > :s)", .greater(one)), ("pk = :p and :s < sk", .greater(one)), (":p = pk AND :s >= sk", .lessOrEqual(one)),
        ]
        for (text, sort) in cases {
            XCTAssertEqual(try key(text), KeyCondition(partitionKeyName: "pk", partitionKeyValue: .s("p"), sortKeyName: "sk", sortCondition: sort), text)
        }
        let stringSort = KeyAttribute(name: "sk", type: .string)
        XCTAssertEqual(
            try key("#p = :p AND begins_with(#s, :str)", sortKey: stringSort, names: ["#p": "pk", "#s": "sk"]),
            KeyCondition(partitionKeyName: "pk", partitionKeyValue: .s("p"), sortKeyName: "sk", sortCondition: .beginsWith(.s("x"))))
        let binarySort = KeyAttribute(name: "sk", type: .binary)
        XCTAssertEqual(try key("pk = :p AND begins_with(sk, :b)", sortKey: binarySort).sortCondition, .beginsWith(.b([1])))
    }

    func testKeyConditionErrors() {
        assertKey("sk = :s", "Query condition missed key schema element: pk")
        assertKey("pk > :p", "Query key condition not supported")
        assertKey("begins_with(pk, :p)", "Query key condition not supported")
        assertKey("pk BETWEEN :p AND :p", "Query key condition not supported")
        assertKey("pk = :p AND extra = :s", "Query condition missed key schema element: sk")
        assertKey("pk = :p AND extra = :s", "Query key condition not supported", sortKey: .some(nil))
        assertKey("pk = :p AND sk = :s AND sk > :t", "KeyConditionExpressions must only contain one condition per key")
        assertKey("pk = :p AND pk = :p", "KeyConditionExpressions must only contain one condition per key")
        assertKey("pk = :p OR sk = :s", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR")
        assertKey("NOT pk = :p", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: NOT")
        assertKey("pk IN (:p)", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: IN")
        assertKey("pk = :p AND sk <> :s", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: <>")
        assertKey("pk = :p AND attribute_exists(sk)", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: attribute_exists")
        assertKey("pk = :p AND contains(sk, :s)", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: contains")
        assertKey("pk = :p AND size(sk) = :s", "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: size")
        assertKey("pk = sk", "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
        assertKey("pk.x = :p", "KeyConditionExpressions cannot have conditions on nested attributes")
        assertKey("pk = :s", "One or more parameter values were invalid: Condition parameter type does not match schema type")
        assertKey("pk = :p AND sk > :str", "One or more parameter values were invalid: Condition parameter type does not match schema type")
        assertKey("pk = :p AND sk BETWEEN :s AND :str", "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:x}")
        assertKey("pk = :p AND begins_with(sk, :s)", "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
        assertKey("pk = ", #"Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "=""#)
        assertKey("", "Invalid KeyConditionExpression: The expression can not be empty;")
        assertKey("pk = :nope", "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope")
    }

    func testSortConditionMatching() {
        let three = exprN("3")
        XCTAssertTrue(KeyCondition.SortCondition.equal(three).matches(exprN("3.0")))
        XCTAssertTrue(KeyCondition.SortCondition.less(three).matches(exprN("-10")))
        XCTAssertFalse(KeyCondition.SortCondition.less(three).matches(three))
        XCTAssertTrue(KeyCondition.SortCondition.lessOrEqual(three).matches(three))
        XCTAssertTrue(KeyCondition.SortCondition.greater(three).matches(exprN("10")))
        XCTAssertTrue(KeyCondition.SortCondition.greaterOrEqual(three).matches(three))
        XCTAssertFalse(KeyCondition.SortCondition.greaterOrEqual(three).matches(.s("3")))
        XCTAssertTrue(KeyCondition.SortCondition.between(exprN("1"), three).matches(exprN("2.5")))
        XCTAssertTrue(KeyCondition.SortCondition.between(exprN("1"), three).matches(three))
        XCTAssertFalse(KeyCondition.SortCondition.between(exprN("1"), three).matches(exprN("3.01")))
        XCTAssertTrue(KeyCondition.SortCondition.beginsWith(.s("ab")).matches(.s("abc")))
        XCTAssertFalse(KeyCondition.SortCondition.beginsWith(.s("ab")).matches(.s("a")))
        XCTAssertTrue(KeyCondition.SortCondition.beginsWith(.b([1])).matches(.b([1, 2])))
        XCTAssertTrue(KeyCondition.SortCondition.less(.s("b")).matches(.s("a")))
        XCTAssertTrue(KeyCondition.SortCondition.greater(.s("z")).matches(.s("é")))
    }
}

extension Condition {
    var isInCount: Int? {
        if case .isIn(_, let list) = self { return list.count }
        return nil
    }
}
