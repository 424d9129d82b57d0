/// A parsed UpdateExpression: SET, REMOVE, ADD and DELETE actions in the order written.
public struct UpdateExpression: Sendable, Equatable {
    /// A value operand of SET: a path, a literal, `if_not_exists(path, operand)` or `list_append(a, b)`.
    public indirect enum Operand: Sendable, Equatable {
        case path(DocumentPath)
        case value(AttributeValue)
        case ifNotExists(DocumentPath, Operand)
        case listAppend(Operand, Operand)
    }

    /// The right-hand side of `SET path = …`.
    public enum SetValue: Sendable, Equatable {
        case operand(Operand)
        case plus(Operand, Operand)
        case minus(Operand, Operand)
    }

    public enum Action: Sendable, Equatable {
        case set(DocumentPath, SetValue)
        case remove(DocumentPath)
        /// ADD path :v — `:v` is a number or a set (checked when parsed).
        case add(DocumentPath, AttributeValue)
        /// DELETE path :v — `:v` is a set (checked when parsed).
        case delete(DocumentPath, AttributeValue)

        public var path: DocumentPath {
            switch self {
            case .set(let path, _), .remove(let path), .add(let path, _), .delete(let path, _): return path
            }
        }
    }

    public var actions: [Action]

    public init(actions: [Action]) {
        self.actions = actions
    }

    /// The paths the expression writes, in the order written (for ReturnValues UPDATED_OLD / UPDATED_NEW).
    public var updatedPaths: [DocumentPath] { actions.map(\.path) }
}

public enum UpdateParser {
    static let keywords: Set<String> = ["SET", "REMOVE", "ADD", "DELETE"]

    public static func parse(_ text: String, attributes: inout ExpressionAttributes) throws(DynamoDBError) -> UpdateExpression {
        var syntax = try UpdateSyntax(text)
        let raw = try syntax.parseAll()
        var resolver = UpdateResolver()
        let expression = resolver.resolve(raw, duplicateSection: syntax.duplicateSection, attributes: &attributes)
        if let message = resolver.errors.first() { throw DynamoDBError.validation("Invalid UpdateExpression: \(message)") }
        return expression
    }
}

/// Update actions as written.
enum RawUpdateValue {
    case operand(RawOperand)
    case plus(RawOperand, RawOperand)
    case minus(RawOperand, RawOperand)
}

enum RawUpdateAction {
    case set(RawPath, RawUpdateValue)
    case remove(RawPath)
    case add(RawPath, String)
    case delete(RawPath, String)
}

struct UpdateSyntax {
    var core: ExpressionParserCore
    var seenSections: Set<String> = []
    var duplicateSection: String? = nil

    init(_ text: String) throws(DynamoDBError) {
        core = try ExpressionParserCore(text, kind: "UpdateExpression", keywords: UpdateParser.keywords)
    }

    mutating func parseAll() throws(DynamoDBError) -> [RawUpdateAction] {
        var actions: [RawUpdateAction] = []
        repeat {
            guard core.current.kind == .word, UpdateParser.keywords.contains(core.current.text.uppercased()) else {
                throw core.syntaxError()
            }
            let section = core.current.text.uppercased()
            core.advance()
            if seenSections.contains(section), duplicateSection == nil { duplicateSection = section }
            seenSections.insert(section)
            actions.append(try parseAction(section))
            while core.isPunct(",") {
                core.advance()
                actions.append(try parseAction(section))
            }
        } while !core.atEnd
        return actions
    }

    mutating func parseAction(_ section: String) throws(DynamoDBError) -> RawUpdateAction {
        let path = try core.parsePath()
        switch section {
        case "SET":
            try core.expectPunct("=")
            return .set(path, try parseSetValue())
        case "REMOVE":
            return .remove(path)
        default:
            guard core.current.kind == .valuePlaceholder else { throw core.syntaxError() }
            let placeholder = core.current.text
            core.advance()
            return section == "ADD" ? .add(path, placeholder) : .delete(path, placeholder)
        }
    }

    /// operand [('+' | '-') operand], optionally wrapped in one pair of parentheses.
    mutating func parseSetValue() throws(DynamoDBError) -> RawUpdateValue {
        var left: RawOperand
        if core.isPunct("(") {
            core.advance()
            left = try parseBareOperand()
            if let arithmetic = try parseArithmeticTail(left) {
                try core.expectPunct(")")
                return arithmetic
            }
            try core.expectPunct(")")
        } else {
            left = try parseBareOperand()
        }
        return try parseArithmeticTail(left) ?? .operand(left)
    }

    mutating func parseArithmeticTail(_ left: RawOperand) throws(DynamoDBError) -> RawUpdateValue? {
        guard core.isPunct("+") || core.isPunct("-") else { return nil }
        let plus = core.isPunct("+")
        core.advance()
        try core.countOperator()
        let right = try parseOperand()
        return plus ? .plus(left, right) : .minus(left, right)
    }

    /// An operand, optionally in one pair of parentheses.
    mutating func parseOperand() throws(DynamoDBError) -> RawOperand {
        guard core.isPunct("(") else { return try parseBareOperand() }
        core.advance()
        let operand = try parseBareOperand()
        try core.expectPunct(")")
        return operand
    }

    mutating func parseBareOperand() throws(DynamoDBError) -> RawOperand {
        if core.current.kind == .valuePlaceholder {
            let placeholder = core.current.text
            core.advance()
            return .value(placeholder)
        }
        if core.atFunctionCall() {
            let name = core.current.text
            core.advance()
            core.advance()
            try core.countOperator()
            try core.enterNesting()
            var args: [RawOperand] = [try parseOperand()]
            while core.isPunct(",") {
                core.advance()
                args.append(try parseOperand())
            }
            try core.expectPunct(")")
            core.leaveNesting()
            return .call(name, args)
        }
        return .path(try core.parsePath())
    }
}

struct UpdateResolver {
    // Error categories, highest priority first (as DynamoDB reports them).
    static let reserved = 0, unknownFunction = 1, section = 2, undefinedName = 3, undefinedValue = 4
    static let overlap = 5, conflict = 6, operandType = 7, function = 8

    static let functions: [String: Int] = ["if_not_exists": 2, "list_append": 2]
    static let conditionFunctions: Set<String> = [
        "attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size",
    ]

    var errors = ExpressionErrors(categories: 9)
    var targets: [DocumentPath] = []

    mutating func resolve(
        _ raw: [RawUpdateAction], duplicateSection: String?, attributes: inout ExpressionAttributes
    ) -> UpdateExpression {
        if let duplicateSection {
            errors.note(Self.section, "The \"\(duplicateSection)\" section can only be used once in an update expression;")
        }
        var actions: [UpdateExpression.Action] = []
        for action in raw {
            switch action {
            case .set(let rawPath, let rawValue):
                let path = target(rawPath, attributes: &attributes)
                let value: UpdateExpression.SetValue
                switch rawValue {
                case .operand(let op):
                    value = .operand(operand(op, attributes: &attributes))
                case .plus(let a, let b):
                    value = .plus(arithmetic("+", a, attributes: &attributes), arithmetic("+", b, attributes: &attributes))
                case .minus(let a, let b):
                    value = .minus(arithmetic("-", a, attributes: &attributes), arithmetic("-", b, attributes: &attributes))
                }
                actions.append(.set(path, value))
            case .remove(let rawPath):
                actions.append(.remove(target(rawPath, attributes: &attributes)))
            case .add(let rawPath, let placeholder):
                let path = target(rawPath, attributes: &attributes)
                let value = resolveValue(placeholder, attributes: &attributes)
                checkOperand("ADD", value)
                actions.append(.add(path, value ?? .null))
            case .delete(let rawPath, let placeholder):
                let path = target(rawPath, attributes: &attributes)
                let value = resolveValue(placeholder, attributes: &attributes)
                checkOperand("DELETE", value)
                actions.append(.delete(path, value ?? .null))
            }
        }
        return UpdateExpression(actions: actions)
    }

    static let operandTypeNames = ["S": "STRING", "N": "NUMBER", "B": "BINARY", "NULL": "NULL", "BOOL": "BOOLEAN", "L": "LIST", "M": "MAP"]

    /// ADD takes a number or a set; DELETE a set.
    mutating func checkOperand(_ operatorName: String, _ value: AttributeValue?) {
        guard let value, let typeName = Self.operandTypeNames[value.typeName] else { return }
        if operatorName == "ADD", value.typeName == "N" { return }
        errors.note(Self.operandType, "Incorrect operand type for operator or function; operator: \(operatorName), operand type: \(typeName)")
    }

    /// An operand of `+` / `-`: a literal must be a number.
    mutating func arithmetic(_ operatorName: String, _ raw: RawOperand, attributes: inout ExpressionAttributes) -> UpdateExpression.Operand {
        let resolved = operand(raw, attributes: &attributes)
        if case .value(let value) = resolved, value.typeName != "N", !isPlaceholderValue(raw, attributes) {
            errors.note(Self.function, "Incorrect operand type for operator or function; operator or function: \(operatorName), operand type: \(value.typeName)")
        }
        return resolved
    }

    /// True when `raw` is an undefined value placeholder (already reported; no type error on top).
    func isPlaceholderValue(_ raw: RawOperand, _ attributes: ExpressionAttributes) -> Bool {
        if case .value(let placeholder) = raw { return attributes.values[placeholder] == nil }
        return false
    }

    mutating func operand(_ raw: RawOperand, attributes: inout ExpressionAttributes) -> UpdateExpression.Operand {
        switch raw {
        case .path(let rawPath):
            return .path(path(rawPath, attributes: &attributes))
        case .value(let placeholder):
            return .value(resolveValue(placeholder, attributes: &attributes) ?? .null)
        case .call(let name, let rawArgs):
            guard let expected = Self.functions[name] else {
                if Self.conditionFunctions.contains(name) {
                    errors.note(Self.unknownFunction, "The function is not allowed in an update expression; function: \(name)")
                } else {
                    errors.note(Self.unknownFunction, "Invalid function name; function: \(name)")
                }
                _ = rawArgs.map { operand($0, attributes: &attributes) }
                return .value(.null)
            }
            let args = rawArgs.map { operand($0, attributes: &attributes) }
            guard args.count == expected else {
                errors.note(Self.function, "Incorrect number of operands for operator or function; operator or function: \(name), number of operands: \(args.count)")
                return .value(.null)
            }
            if name == "if_not_exists" {
                guard case .path(let path) = args[0] else {
                    errors.note(Self.function, "Operator or function requires a document path; operator or function: \(name)")
                    return .value(.null)
                }
                return .ifNotExists(path, args[1])
            }
            for (arg, rawArg) in zip(args, rawArgs) {
                if case .value(let value) = arg, value.typeName != "L", !isPlaceholderValue(rawArg, attributes) {
                    errors.note(Self.function, "Incorrect operand type for operator or function; operator or function: \(name), operand type: \(value.typeName)")
                    return .value(.null)
                }
            }
            return .listAppend(args[0], args[1])
        }
    }

    /// A path an action writes: checked against the earlier ones for overlaps and conflicts.
    mutating func target(_ raw: RawPath, attributes: inout ExpressionAttributes) -> DocumentPath {
        let resolved = path(raw, attributes: &attributes)
        for earlier in targets {
            let a = earlier.elements
            let b = resolved.elements
            let common = zip(a, b).prefix(while: { $0 == $1 }).count
            if common == min(a.count, b.count) {
                errors.note(Self.overlap, "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: \(earlier), path two: \(resolved)")
                break
            }
            switch (a[common], b[common]) {
            case (.name, .index), (.index, .name):
                errors.note(Self.conflict, "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: \(earlier), path two: \(resolved)")
            default:
                continue
            }
        }
        targets.append(resolved)
        return resolved
    }

    mutating func path(_ raw: RawPath, attributes: inout ExpressionAttributes) -> DocumentPath {
        ExpressionSupport.resolve(raw, attributes: &attributes, errors: &errors, reservedCategory: Self.reserved, undefinedCategory: Self.undefinedName)
    }

    mutating func resolveValue(_ placeholder: String, attributes: inout ExpressionAttributes) -> AttributeValue? {
        if let value = attributes.resolveValue(placeholder) { return value }
        errors.note(Self.undefinedValue, "An expression attribute value used in expression is not defined; attribute value: \(placeholder)")
        return nil
    }
}
