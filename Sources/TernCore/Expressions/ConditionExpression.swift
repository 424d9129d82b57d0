/// An operand of a condition: a document path, a literal value (from a `:placeholder`), or `size(path)`.
public indirect enum Operand: Sendable, Equatable {
    case path(DocumentPath)
    case value(AttributeValue)
    case size(DocumentPath)
}

/// A comparison operator of condition expressions.
public enum Comparator: String, Sendable, Equatable, CaseIterable {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    public var mirrored: Comparator {
        switch self {
        case .equal, .notEqual: return self
        case .less: return .greater
        case .lessOrEqual: return .greaterOrEqual
        case .greater: return .less
        case .greaterOrEqual: return .lessOrEqual
        }
    }
}

/// A parsed ConditionExpression, FilterExpression or KeyConditionExpression.
public indirect enum Condition: Sendable, Equatable {
    case compare(Operand, Comparator, Operand)
    /// `operand BETWEEN low AND high`
    case between(Operand, Operand, Operand)
    /// `operand IN (candidates…)`
    case isIn(Operand, [Operand])
    case and(Condition, Condition)
    case or(Condition, Condition)
    case not(Condition)
    case attributeExists(DocumentPath)
    case attributeNotExists(DocumentPath)
    /// `attribute_type(path, :t)`; the type name ("S", "SS", "M", …) already validated.
    case attributeType(DocumentPath, String)
    case beginsWith(Operand, Operand)
    case contains(Operand, Operand)
}

/// A condition as written, before placeholders are resolved and functions checked.
indirect enum RawCondition: Sendable {
    case compare(RawOperand, Comparator, RawOperand)
    case between(RawOperand, RawOperand, RawOperand)
    case isIn(RawOperand, [RawOperand])
    case call(String, [RawOperand])
    case and(RawCondition, RawCondition)
    case or(RawCondition, RawCondition)
    case not(RawCondition)
}

public enum ConditionParser {
    static let keywords: Set<String> = ["AND", "OR", "NOT", "BETWEEN", "IN"]
    static let maxInOperands = 100

    /// Parses a condition. `kind` is the parameter name used in messages:
    /// "ConditionExpression", "FilterExpression" or "KeyConditionExpression".
    public static func parse(_ text: String, kind: String, attributes: inout ExpressionAttributes) throws(DynamoDBError) -> Condition {
        var syntax = try ConditionSyntax(text, kind: kind)
        let raw = try syntax.parseAll()
        var resolver = ConditionResolver(kind: kind, redundantParens: syntax.redundantParens)
        let condition = resolver.resolve(raw, attributes: &attributes)
        if let message = resolver.errors.first() { throw DynamoDBError.validation("Invalid \(kind): \(message)") }
        return condition
    }
}

/// Recursive-descent parser for the condition grammar. Precedence, loosest first:
/// OR, AND, NOT, then comparisons, BETWEEN, IN and functions; parentheses group.
struct ConditionSyntax {
    var core: ExpressionParserCore
    var redundantParens = false

    init(_ text: String, kind: String) throws(DynamoDBError) {
        core = try ExpressionParserCore(text, kind: kind, keywords: ConditionParser.keywords)
    }

    mutating func parseAll() throws(DynamoDBError) -> RawCondition {
        let (condition, _) = try parseOr()
        guard core.atEnd else { throw core.syntaxError() }
        return condition
    }

    /// Each level returns whether the result is exactly one parenthesized group, to spot `((…))`.
    mutating func parseOr() throws(DynamoDBError) -> (RawCondition, Bool) {
        var (left, wrapped) = try parseAnd()
        while core.isKeyword("OR") {
            core.advance()
            try core.countOperator()
            let (right, _) = try parseAnd()
            left = .or(left, right)
            wrapped = false
        }
        return (left, wrapped)
    }

    mutating func parseAnd() throws(DynamoDBError) -> (RawCondition, Bool) {
        var (left, wrapped) = try parseNot()
        while core.isKeyword("AND") {
            core.advance()
            try core.countOperator()
            let (right, _) = try parseNot()
            left = .and(left, right)
            wrapped = false
        }
        return (left, wrapped)
    }

    mutating func parseNot() throws(DynamoDBError) -> (RawCondition, Bool) {
        guard core.isKeyword("NOT") else { return try parsePrimary() }
        core.advance()
        try core.countOperator()
        try core.enterNesting()
        let (inner, _) = try parseNot()
        core.leaveNesting()
        return (.not(inner), false)
    }

    /// After a `(` at the current token: is it a parenthesized operand (followed by a comparator, BETWEEN or IN)?
    func parenthesizedOperandAhead() -> Bool {
        guard let close = core.matchingParen(core.position) else { return false }
        let after = core.tokens[min(close + 1, core.tokens.count - 1)]
        if after.kind == .punct, Comparator(rawValue: after.text) != nil { return true }
        return ExpressionParserCore.isKeyword(after, "BETWEEN") || ExpressionParserCore.isKeyword(after, "IN")
    }

    mutating func parsePrimary() throws(DynamoDBError) -> (RawCondition, Bool) {
        if core.isPunct("("), !parenthesizedOperandAhead() {
            core.advance()
            try core.enterNesting()
            let (inner, innerWrapped) = try parseOr()
            try core.expectPunct(")")
            core.leaveNesting()
            if innerWrapped { redundantParens = true }
            return (inner, true)
        }
        let (left, _) = try parseOperand()
        if core.current.kind == .punct, let comparator = Comparator(rawValue: core.current.text) {
            core.advance()
            try core.countOperator()
            let (right, _) = try parseOperand()
            return (.compare(left, comparator, right), false)
        }
        if core.isKeyword("BETWEEN") {
            core.advance()
            try core.countOperator()
            let (low, _) = try parseOperand()
            try core.expectKeyword("AND")
            let (high, _) = try parseOperand()
            return (.between(left, low, high), false)
        }
        if core.isKeyword("IN") {
            core.advance()
            try core.countOperator()
            try core.expectPunct("(")
            var candidates: [RawOperand] = [try parseOperand().0]
            while core.isPunct(",") {
                core.advance()
                candidates.append(try parseOperand().0)
            }
            try core.expectPunct(")")
            return (.isIn(left, candidates), false)
        }
        if case .call(let name, let args) = left { return (.call(name, args), false) }
        throw core.syntaxError()
    }

    /// path | :value | name(args) | ( operand )
    mutating func parseOperand() throws(DynamoDBError) -> (RawOperand, Bool) {
        if core.isPunct("(") {
            core.advance()
            try core.enterNesting()
            let (inner, innerWrapped) = try parseOperand()
            try core.expectPunct(")")
            core.leaveNesting()
            if innerWrapped { redundantParens = true }
            return (inner, true)
        }
        if core.current.kind == .valuePlaceholder {
            let placeholder = core.current.text
            core.advance()
            return (.value(placeholder), false)
        }
        if core.atFunctionCall() {
            let name = core.current.text
            core.advance()
            core.advance()
            try core.countOperator()
            try core.enterNesting()
            var args: [RawOperand] = [try parseOperand().0]
            while core.isPunct(",") {
                core.advance()
                args.append(try parseOperand().0)
            }
            try core.expectPunct(")")
            core.leaveNesting()
            return (.call(name, args), false)
        }
        return (.path(try core.parsePath()), false)
    }
}

/// Resolves placeholders and applies DynamoDB's semantic checks, reporting by DynamoDB's priority.
struct ConditionResolver {
    // Error categories, highest priority first.
    static let parens = 0, unknownFunction = 1, misusedFunction = 2, reserved = 3
    static let undefined = 4, operandCount = 5, distinct = 6, function = 7

    static let conditionFunctions: [String: Int] = [
        "attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2, "size": 1,
    ]
    static let updateFunctions: Set<String> = ["if_not_exists", "list_append"]

    let kind: String
    var errors = ExpressionErrors(categories: 8)

    init(kind: String, redundantParens: Bool) {
        self.kind = kind
        if redundantParens { errors.note(Self.parens, "The expression has redundant parentheses;") }
    }

    mutating func resolve(_ raw: RawCondition, attributes: inout ExpressionAttributes) -> Condition {
        switch raw {
        case .and(let l, let r):
            let left = resolve(l, attributes: &attributes)
            return .and(left, resolve(r, attributes: &attributes))
        case .or(let l, let r):
            let left = resolve(l, attributes: &attributes)
            return .or(left, resolve(r, attributes: &attributes))
        case .not(let inner):
            return .not(resolve(inner, attributes: &attributes))
        case .compare(let l, let comparator, let r):
            let left = operand(l, attributes: &attributes)
            let right = operand(r, attributes: &attributes)
            checkDistinct(comparator.rawValue, left, [right])
            return .compare(left, comparator, right)
        case .between(let x, let lo, let hi):
            let subject = operand(x, attributes: &attributes)
            let low = operand(lo, attributes: &attributes)
            let high = operand(hi, attributes: &attributes)
            checkDistinct("BETWEEN", subject, [low, high])
            if case .value(let a) = low, case .value(let b) = high {
                if a.typeName != b.typeName {
                    errors.note(Self.function, "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: \(ExpressionSupport.brief(a)), upper bound operand: AttributeValue: \(ExpressionSupport.brief(b))")
                } else if ConditionEvaluator.order(a, b) == .greater {
                    errors.note(Self.function, "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: \(ExpressionSupport.brief(a)), upper bound operand: AttributeValue: \(ExpressionSupport.brief(b))")
                }
            }
            return .between(subject, low, high)
        case .isIn(let x, let list):
            let subject = operand(x, attributes: &attributes)
            let candidates = list.map { operand($0, attributes: &attributes) }
            if candidates.count > ConditionParser.maxInOperands {
                errors.note(Self.function, "The IN operator is provided with too many operands; number of operands: \(candidates.count)")
            }
            checkDistinct("IN", subject, candidates)
            return .isIn(subject, candidates)
        case .call(let name, let args):
            return function(name, args, attributes: &attributes)
        }
    }

    /// Resolves an operand in a comparison, BETWEEN or IN: only `size` may appear there.
    mutating func operand(_ raw: RawOperand, attributes: inout ExpressionAttributes) -> Operand {
        switch raw {
        case .path(let path):
            return .path(resolvePath(path, attributes: &attributes))
        case .value(let placeholder):
            return .value(resolveValue(placeholder, attributes: &attributes))
        case .call(let name, let args):
            if name != "size" {
                if checkKnown(name) {
                    errors.note(Self.misusedFunction, "The function is not allowed to be used this way in an expression; function: \(name)")
                }
                _ = args.map { argument($0, attributes: &attributes) }
                return .value(.null)
            }
            return sizeOperand(args, attributes: &attributes)
        }
    }

    /// An argument of a function: like an operand, but reports misuse of non-size functions too.
    mutating func argument(_ raw: RawOperand, attributes: inout ExpressionAttributes) -> Operand {
        operand(raw, attributes: &attributes)
    }

    mutating func sizeOperand(_ args: [RawOperand], attributes: inout ExpressionAttributes) -> Operand {
        let resolved = args.map { argument($0, attributes: &attributes) }
        guard checkCount("size", resolved.count) else { return .value(.null) }
        switch resolved[0] {
        case .path(let path):
            return .size(path)
        case .value(let value):
            if ["N", "BOOL", "NULL"].contains(value.typeName) {
                errors.note(Self.function, "Incorrect operand type for operator or function; operator or function: size, operand type: \(value.typeName)")
            } else {
                errors.note(Self.function, "Operator or function requires a document path; operator or function: size")
            }
            return .value(.null)
        case .size:
            errors.note(Self.function, "Operator or function requires a document path; operator or function: size")
            return .value(.null)
        }
    }

    /// Whether `name` is a condition function; notes the right error otherwise.
    mutating func checkKnown(_ name: String) -> Bool {
        if Self.conditionFunctions[name] != nil { return true }
        if Self.updateFunctions.contains(name) {
            errors.note(Self.unknownFunction, "The function is not allowed in a condition expression; function: \(name)")
        } else {
            errors.note(Self.unknownFunction, "Invalid function name; function: \(name)")
        }
        return false
    }

    mutating func checkCount(_ name: String, _ count: Int) -> Bool {
        guard let expected = Self.conditionFunctions[name], expected != count else { return true }
        errors.note(Self.operandCount, "Incorrect number of operands for operator or function; operator or function: \(name), number of operands: \(count)")
        return false
    }

    /// The type an operand is known to have before evaluation (values, and size → N).
    static func staticType(_ operand: Operand) -> String? {
        switch operand {
        case .value(let value): return value.typeName
        case .size: return "N"
        case .path: return nil
        }
    }

    mutating func function(_ name: String, _ rawArgs: [RawOperand], attributes: inout ExpressionAttributes) -> Condition {
        let placeholder = Condition.attributeExists(DocumentPath([.name("")]))
        guard checkKnown(name) else {
            _ = rawArgs.map { argument($0, attributes: &attributes) }
            return placeholder
        }
        if name == "size" {
            errors.note(Self.misusedFunction, "The function is not allowed to be used this way in an expression; function: size")
            _ = sizeOperand(rawArgs, attributes: &attributes)
            return placeholder
        }
        let args = rawArgs.map { argument($0, attributes: &attributes) }
        guard checkCount(name, args.count) else { return placeholder }
        if args.count == 2 { checkDistinct(name, args[0], [args[1]]) }
        switch name {
        case "attribute_exists", "attribute_not_exists":
            guard case .path(let path) = args[0] else {
                errors.note(Self.function, "Operator or function requires a document path; operator or function: \(name)")
                return placeholder
            }
            return name == "attribute_exists" ? .attributeExists(path) : .attributeNotExists(path)
        case "attribute_type":
            guard case .path(let path) = args[0] else {
                errors.note(Self.function, "Operator or function requires a document path; operator or function: \(name)")
                return placeholder
            }
            guard case .value(.s(let typeName)) = args[1] else {
                let type = Self.staticType(args[1]) ?? "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
                errors.note(Self.function, "Incorrect operand type for operator or function; operator or function: \(name), operand type: \(type)")
                return placeholder
            }
            guard ExpressionSupport.typeNames.contains(typeName) else {
                errors.note(Self.function, "Invalid attribute type name found; type: \(typeName), valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}")
                return placeholder
            }
            return .attributeType(path, typeName)
        case "begins_with":
            for arg in args {
                if let type = Self.staticType(arg), type != "S", type != "B" {
                    errors.note(Self.function, "Incorrect operand type for operator or function; operator or function: \(name), operand type: \(type)")
                    return placeholder
                }
            }
            return .beginsWith(args[0], args[1])
        default:  // contains
            return .contains(args[0], args[1])
        }
    }

    mutating func checkDistinct(_ operatorName: String, _ first: Operand, _ rest: [Operand]) {
        guard case .path(let path) = first else { return }
        for other in rest {
            if case .path(let otherPath) = other, otherPath == path {
                errors.note(Self.distinct, "The first operand must be distinct from the remaining operands for this operator or function; operator: \(operatorName), first operand: \(path)")
                return
            }
        }
    }

    mutating func resolvePath(_ raw: RawPath, attributes: inout ExpressionAttributes) -> DocumentPath {
        ExpressionSupport.resolve(raw, attributes: &attributes, errors: &errors, reservedCategory: Self.reserved, undefinedCategory: Self.undefined)
    }

    mutating func resolveValue(_ placeholder: String, attributes: inout ExpressionAttributes) -> AttributeValue {
        if let value = attributes.resolveValue(placeholder) { return value }
        errors.note(Self.undefined, "An expression attribute value used in expression is not defined; attribute value: \(placeholder)")
        return .null
    }
}
