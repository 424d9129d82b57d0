import XCTest
@testable import TernCore

/// The expression tests draw from the suite's seeded SplitMix64 (TestSupport.swift).
typealias ExpressionRNG = SplitMix64

/// Random condition ASTs that DynamoDB's semantic rules accept.
struct ConditionGenerator {
    var rng: ExpressionRNG
    let names = ["a", "b", "c", "name", "x.y", "with space", "size", "AND", "é", "k0", "[0]", "#x"]
    let typeNames = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]

    mutating func path() -> DocumentPath {
        var elements: [PathElement] = [.name(rng.pick(names))]
        for _ in 0..<rng.below(3) {
            elements.append(rng.chance(2) ? .name(rng.pick(names)) : .index(rng.below(20)))
        }
        return DocumentPath(elements)
    }

    mutating func path(other excluded: DocumentPath?) -> DocumentPath {
        while true {
            let candidate = path()
            if candidate != excluded { return candidate }
        }
    }

    mutating func string() -> String {
        String(decoding: (0..<rng.below(6)).map { _ in UInt8(32 + rng.below(95)) }, as: UTF8.self)
    }

    mutating func number() -> DynamoNumber {
        let digits = String(rng.below(1_000_000))
        let text = (rng.chance(3) ? "-" : "") + digits + (rng.chance(2) ? "e\(rng.below(40) - 20)" : "")
        return (try? DynamoNumber(parsing: text)) ?? .zero
    }

    mutating func bytes() -> [UInt8] { (0..<rng.below(5)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    mutating func value(depth: Int = 0) -> AttributeValue {
        switch rng.below(depth > 1 ? 8 : 10) {
        case 0: return .s(string())
        case 1: return .n(number())
        case 2: return .b(bytes())
        case 3: return .bool(rng.chance(2))
        case 4: return .null
        case 5: return .ss(Array(Set((0..<1 + rng.below(3)).map { _ in string() })).sorted())
        case 6: return .ns(Array(Set((0..<1 + rng.below(3)).map { _ in number() })).sorted())
        case 7: return .bs(Array(Set((0..<1 + rng.below(3)).map { _ in bytes() })).sorted { $0.lexicographicallyPrecedes($1) })
        case 8: return .l((0..<rng.below(3)).map { _ in value(depth: depth + 1) })
        default: return .m(AttributeMap((0..<rng.below(3)).map { _ in (string(), value(depth: depth + 1)) }))
        }
    }

    mutating func orderedValue() -> AttributeValue {
        switch rng.below(3) {
        case 0: return .s(string())
        case 1: return .n(number())
        default: return .b(bytes())
        }
    }

    mutating func operand(other excluded: DocumentPath?) -> Operand {
        switch rng.below(3) {
        case 0: return .path(path(other: excluded))
        case 1: return .value(value())
        default: return .size(path())
        }
    }

    static func pathOf(_ operand: Operand) -> DocumentPath? {
        if case .path(let path) = operand { return path }
        return nil
    }

    mutating func leaf() -> Condition {
        switch rng.below(9) {
        case 0, 1:
            let left = operand(other: nil)
            return .compare(left, rng.pick(Comparator.allCases), operand(other: Self.pathOf(left)))
        case 2:
            let subject = operand(other: nil)
            let excluded = Self.pathOf(subject)
            if rng.chance(2) {
                var low = orderedValue()
                var high = low
                switch low {
                case .s: high = .s(string())
                case .n: high = .n(number())
                default: high = .b(bytes())
                }
                if ConditionEvaluator.order(low, high) == .greater { swap(&low, &high) }
                return .between(subject, .value(low), .value(high))
            }
            return .between(subject, .path(path(other: excluded)), operand(other: excluded))
        case 3:
            let subject = operand(other: nil)
            let excluded = Self.pathOf(subject)
            return .isIn(subject, (0..<1 + rng.below(4)).map { _ in operand(other: excluded) })
        case 4:
            return .attributeExists(path())
        case 5:
            return .attributeNotExists(path())
        case 6:
            return .attributeType(path(), rng.pick(typeNames))
        case 7:
            let first: Operand = rng.chance(3) ? .value(rng.chance(2) ? .s(string()) : .b(bytes())) : .path(path())
            let second: Operand = rng.chance(2) ? .value(rng.chance(2) ? .s(string()) : .b(bytes())) : .path(path(other: Self.pathOf(first)))
            return .beginsWith(first, second)
        default:
            let first = operand(other: nil)
            return .contains(first, operand(other: Self.pathOf(first)))
        }
    }

    mutating func condition(depth: Int) -> Condition {
        guard depth > 0, !rng.chance(4) else { return leaf() }
        switch rng.below(3) {
        case 0: return .and(condition(depth: depth - 1), condition(depth: depth - 1))
        case 1: return .or(condition(depth: depth - 1), condition(depth: depth - 1))
        default: return .not(condition(depth: depth - 1))
        }
    }
}

final class ExpressionPropertyTests: XCTestCase {
    func testRenderParseRoundTrip() throws {
        var generator = ConditionGenerator(rng: ExpressionRNG(seed: 0x5EED_0001))
        for index in 0..<1000 {
            let condition = generator.condition(depth: 4)
            let (text, names, values) = condition.render()
            var attributes = ExpressionAttributes(names: names, values: values)
            do {
                let parsed = try ConditionParser.parse(text, kind: "ConditionExpression", attributes: &attributes)
                XCTAssertEqual(parsed, condition, "case \(index): \(text)")
                XCTAssertNoThrow(try attributes.checkAllUsed(), "case \(index): \(text)")
            } catch {
                XCTFail("case \(index): \(text) failed to parse: \(error)")
            }
        }
    }

    func testRenderIsMinimalAndDeterministic() {
        let a = Condition.compare(.path(DocumentPath([.name("a")])), .equal, .value(.s("x")))
        let b = Condition.attributeExists(DocumentPath([.name("b"), .index(2), .name("a")]))
        let rendered = Condition.or(.and(a, .not(.or(b, a))), .and(a, .and(b, a))).render()
        XCTAssertEqual(rendered.text, "#n0 = :v0 AND NOT (attribute_exists(#n1[2].#n0) OR #n0 = :v0) OR #n0 = :v0 AND (attribute_exists(#n1[2].#n0) AND #n0 = :v0)")
        XCTAssertEqual(rendered.names, ["#n0": "a", "#n1": "b"])
        XCTAssertEqual(rendered.values, [":v0": .s("x")])
        XCTAssertEqual(Condition.attributeType(DocumentPath([.name("t")]), "SS").render().text, "attribute_type(#n0, :v0)")
        XCTAssertEqual(Condition.compare(.size(DocumentPath([.name("t")])), .less, .value(.n(DynamoNumber(3)))).render().text, "size(#n0) < :v0")
    }

    // MARK: - Fuzzing: the parsers never crash and only ever throw ValidationException

    let fuzzNames = ["#a": "x", "#b": "name", "#c": "pk"]
    let fuzzValues: [String: AttributeValue] = [
        ":s": .s("s"), ":n": .n(DynamoNumber(4)), ":l": .l([.s("e")]), ":ss": .ss(["a"]), ":ns": .ns([DynamoNumber(1)]),
        ":m": .m(AttributeMap([("k", .s("v"))])), ":t": .s("S"), ":b": .b([1]),
    ]
    let fuzzItem = AttributeMap([
        ("x", .n(DynamoNumber(1))), ("a", .l([.s("p"), .s("q")])), ("b", .m(AttributeMap([("c", .s("d"))]))), ("pk", .s("k")),
        ("name", .ss(["a", "b"])),
    ])

    struct Tally {
        var conditions = 0, updates = 0, keys = 0, projections = 0
    }

    func exercise(_ text: String, _ tally: inout Tally, file: StaticString = #filePath, line: UInt = #line) {
        func expectValidation(_ body: () throws -> Void) -> Bool {
            do {
                try body()
                return true
            } catch let error as DynamoDBError {
                XCTAssertEqual(error.code, "ValidationException", "\(text.debugDescription): \(error)", file: file, line: line)
            } catch {
                XCTFail("\(text.debugDescription): unexpected \(error)", file: file, line: line)
            }
            return false
        }
        if expectValidation({
            var attributes = ExpressionAttributes(names: fuzzNames, values: fuzzValues)
            let condition = try ConditionParser.parse(text, kind: "ConditionExpression", attributes: &attributes)
            _ = condition.evaluate(fuzzItem)
            _ = condition.evaluate(nil)
            let (rendered, names, values) = condition.render()
            var again = ExpressionAttributes(names: names, values: values)
            XCTAssertEqual(try ConditionParser.parse(rendered, kind: "ConditionExpression", attributes: &again), condition, text, file: file, line: line)
        }) { tally.conditions += 1 }
        if expectValidation({
            var attributes = ExpressionAttributes(names: fuzzNames, values: fuzzValues)
            let update = try UpdateParser.parse(text, attributes: &attributes)
            _ = expectValidation { _ = try update.apply(to: fuzzItem, keyAttributeNames: ["pk"]) }
            _ = expectValidation { _ = try update.apply(to: nil, keyAttributeNames: []) }
        }) { tally.updates += 1 }
        if expectValidation({
            var attributes = ExpressionAttributes(names: fuzzNames, values: fuzzValues)
            _ = try KeyConditionParser.parse(
                text, partitionKey: KeyAttribute(name: "pk", type: .string), sortKey: KeyAttribute(name: "x", type: .number),
                attributes: &attributes)
        }) { tally.keys += 1 }
        if expectValidation({
            var parser = ProjectionExpressionParser(text, names: fuzzNames)
            _ = try parser.parse()
        }) { tally.projections += 1 }
    }

    func testFuzzRandomBytes() {
        var rng = ExpressionRNG(seed: 0xF0F0_0002)
        var tally = Tally()
        for _ in 0..<5000 {
            let count = rng.below(80)
            let printable = rng.chance(2)
            let bytes = (0..<count).map { _ in printable ? UInt8(32 + rng.below(95)) : UInt8(truncatingIfNeeded: rng.next()) }
            exercise(String(decoding: bytes, as: UTF8.self), &tally)
        }
        // Random bytes almost never form an expression.
        XCTAssertLessThan(tally.conditions + tally.updates + tally.keys, 50)
    }

    func testFuzzTokenSoup() {
        let vocabulary = [
            "a", "b", "x", "pk", "name", "#a", "#b", "#c", "#zz", ":s", ":n", ":l", ":ss", ":ns", ":m", ":t", ":b", ":undefined",
            "=", "=", "<>", "<", "<=", ">", ">=", "(", "(", ")", ")", "[", "]", "0", "12", ",", ",", ".", "+", "-", "AND", "OR", "NOT",
            "BETWEEN", "IN", "SET", "SET", "REMOVE", "ADD", "DELETE", "size", "attribute_exists", "attribute_not_exists",
            "attribute_type", "begins_with", "contains", "if_not_exists", "list_append", "foo", "#", ":", "é", "\"", "'", ";", "!",
        ]
        // Fragments of well-formed expressions, so soups also reach the semantic checks and evaluators.
        let fragments = [
            "SET a = :n", "SET x = x + :n", "REMOVE a[1]", "ADD x :n", "DELETE name :ss", ", b = :s", ", a[3] = :l", "pk = :s",
            "x > :n", "begins_with(a, :s)", "attribute_exists(b.c)", "AND", "OR", "NOT", "AND pk = :s", "OR x = :n", "a.b[0]",
            "size(a) < :n", "x BETWEEN :n AND :n", "contains(name, :s)", "(", ")", ",", "a", "#b",
        ]
        let separators = [" ", " ", " ", "", "\t", "\n", "  "]
        var rng = ExpressionRNG(seed: 0x50_0903)
        var tally = Tally()
        for _ in 0..<5000 {
            var text = ""
            let fragmentOdds = rng.pick([0, 5, 10])  // out of 10: pure token soup, mixed, or fragments only
            for _ in 0..<1 + rng.below(fragmentOdds == 10 ? 4 : 12) {
                text += (rng.below(10) < fragmentOdds ? rng.pick(fragments) : rng.pick(vocabulary)) + rng.pick(separators)
            }
            exercise(text, &tally)
        }
        // The soups reach past the syntax checks: some of each kind parse.
        XCTAssertGreaterThan(tally.conditions, 50)
        XCTAssertGreaterThan(tally.updates, 30)
        XCTAssertGreaterThan(tally.keys, 5)
        XCTAssertGreaterThan(tally.projections, 50)
    }
}
