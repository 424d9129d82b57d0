/// One token of DynamoDB's expression languages, with its byte range in the expression text.
struct ExpressionToken: Sendable {
    enum Kind: Sendable, Equatable {
        /// A run of letters, digits and underscores: an attribute name, keyword, function name or a stray number.
        case word
        /// `#name`
        case namePlaceholder
        /// `:value`
        case valuePlaceholder
        /// `( ) [ ] , . = < <= <> > >= + - # :`
        case punct
        /// Any other character.
        case other
        case eof
    }

    var kind: Kind
    var text: String
    var start: Int
    var end: Int
}

enum ExpressionLexer {
    static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// The tokens of `bytes` (valid UTF-8), always ending with an `.eof` token.
    static func tokenize(_ bytes: [UInt8]) -> [ExpressionToken] {
        var tokens: [ExpressionToken] = []
        var index = 0
        func text(_ start: Int, _ end: Int) -> String { String(decoding: bytes[start..<end], as: UTF8.self) }
        while index < bytes.count {
            let byte = bytes[index]
            if isSpace(byte) {
                index += 1
                continue
            }
            let start = index
            let kind: ExpressionToken.Kind
            if isWordByte(byte) {
                while index < bytes.count, isWordByte(bytes[index]) { index += 1 }
                kind = .word
            } else if byte == UInt8(ascii: "#") || byte == UInt8(ascii: ":") {
                index += 1
                while index < bytes.count, isWordByte(bytes[index]) { index += 1 }
                if index == start + 1 {
                    kind = .punct
                } else {
                    kind = byte == UInt8(ascii: "#") ? .namePlaceholder : .valuePlaceholder
                }
            } else if byte == UInt8(ascii: "<") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "=") || bytes[index] == UInt8(ascii: ">") { index += 1 }
                kind = .punct
            } else if byte == UInt8(ascii: ">") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "=") { index += 1 }
                kind = .punct
            } else if "()[],.=+-".utf8.contains(byte) {
                index += 1
                kind = .punct
            } else {
                // One Unicode scalar.
                let length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4
                index = min(bytes.count, index + length)
                kind = .other
            }
            tokens.append(ExpressionToken(kind: kind, text: text(start, index), start: start, end: index))
        }
        tokens.append(ExpressionToken(kind: .eof, text: "<EOF>", start: bytes.count, end: bytes.count))
        return tokens
    }
}

/// A document path as written, before placeholders are resolved.
struct RawPath: Sendable {
    enum Element: Sendable {
        /// A bare attribute name (checked against the reserved words later).
        case name(String)
        case placeholder(String)
        case index(Int)
    }

    var elements: [Element]
}

/// An operand as written: a path, a value placeholder, or a function call.
indirect enum RawOperand: Sendable {
    case path(RawPath)
    case value(String)
    case call(String, [RawOperand])
}

/// The token stream and the grammar pieces shared by the condition, key condition and update parsers.
struct ExpressionParserCore {
    static let maxExpressionBytes = 4096
    static let maxPathDepth = 32
    /// Bound on nested parentheses, NOT and function calls, so hostile input cannot exhaust the stack.
    static let maxNesting = 100
    static let maxOperators = 300

    let kind: String
    let bytes: [UInt8]
    let tokens: [ExpressionToken]
    var position = 0
    var nesting = 0
    var operatorCount = 0
    /// Grammar keywords that can never be attribute names (compared upper-cased).
    let keywords: Set<String>

    /// Tokenizes, checking DynamoDB's size and emptiness rules first.
    init(_ text: String, kind: String, keywords: Set<String>) throws(DynamoDBError) {
        self.kind = kind
        self.keywords = keywords
        bytes = Array(text.utf8)
        if bytes.count > Self.maxExpressionBytes {
            throw DynamoDBError.validation(
                "Invalid \(kind): Expression size has exceeded the maximum allowed size; expression size: \(bytes.count)")
        }
        tokens = ExpressionLexer.tokenize(bytes)
        if tokens.count == 1 { throw DynamoDBError.validation("Invalid \(kind): The expression can not be empty;") }
    }

    var current: ExpressionToken { tokens[position] }
    var atEnd: Bool { current.kind == .eof }

    func peek(_ offset: Int = 1) -> ExpressionToken { tokens[min(position + offset, tokens.count - 1)] }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    func fail(_ message: String) -> DynamoDBError {
        DynamoDBError.validation("Invalid \(kind): \(message)")
    }

    /// DynamoDB's syntax error at the current token; `near` spans the previous token to the next one.
    func syntaxError() -> DynamoDBError {
        let token = tokens[position]
        let nearStart = position > 0 ? tokens[position - 1].start : token.start
        let nearEnd: Int
        if token.kind == .eof {
            nearEnd = position > 0 ? tokens[position - 1].end : token.end
        } else if position + 1 < tokens.count, tokens[position + 1].kind != .eof {
            nearEnd = tokens[position + 1].end
        } else {
            nearEnd = token.end
        }
        let near = String(decoding: bytes[nearStart..<nearEnd], as: UTF8.self)
        return fail("Syntax error; token: \"\(token.text)\", near: \"\(near)\"")
    }

    func isPunct(_ text: String) -> Bool { current.kind == .punct && current.text == text }

    func isKeyword(_ word: String) -> Bool { Self.isKeyword(current, word) }

    static func isKeyword(_ token: ExpressionToken, _ word: String) -> Bool {
        token.kind == .word && token.text.utf8.count == word.utf8.count && token.text.uppercased() == word
    }

    func isAnyKeyword(_ token: ExpressionToken) -> Bool {
        token.kind == .word && keywords.contains(token.text.uppercased())
    }

    mutating func expectPunct(_ text: String) throws(DynamoDBError) {
        guard isPunct(text) else { throw syntaxError() }
        advance()
    }

    mutating func expectKeyword(_ word: String) throws(DynamoDBError) {
        guard isKeyword(word) else { throw syntaxError() }
        advance()
    }

    mutating func enterNesting() throws(DynamoDBError) {
        nesting += 1
        if nesting > Self.maxNesting { throw syntaxError() }
    }

    mutating func leaveNesting() { nesting -= 1 }

    mutating func countOperator() throws(DynamoDBError) {
        operatorCount += 1
        if operatorCount > Self.maxOperators {
            throw fail("The expression contains too many operators; operator count: \(operatorCount)")
        }
    }

    /// An attribute-name token: a word not starting with a digit and not a grammar keyword.
    func isNameToken(_ token: ExpressionToken) -> Bool {
        guard token.kind == .word, let first = token.text.utf8.first else { return false }
        return !ExpressionLexer.isDigit(first) && !isAnyKeyword(token)
    }

    /// `name ( '.' name | '[' digits ']' )*`, where a name is bare or a `#placeholder`.
    mutating func parsePath() throws(DynamoDBError) -> RawPath {
        var elements: [RawPath.Element] = [try parsePathName()]
        while true {
            if isPunct(".") {
                advance()
                elements.append(try parsePathName())
            } else if isPunct("[") {
                advance()
                guard current.kind == .word, current.text.utf8.allSatisfy(ExpressionLexer.isDigit) else { throw syntaxError() }
                var value = 0
                for byte in current.text.utf8 {
                    value = min(value * 10 + Int(byte - UInt8(ascii: "0")), Int(Int32.max))
                }
                advance()
                try expectPunct("]")
                elements.append(.index(value))
            } else {
                break
            }
            if elements.count > Self.maxPathDepth {
                throw fail("The document path has too many nesting levels; nesting levels: \(elements.count)")
            }
        }
        return RawPath(elements: elements)
    }

    mutating func parsePathName() throws(DynamoDBError) -> RawPath.Element {
        let token = current
        if token.kind == .namePlaceholder {
            advance()
            return .placeholder(token.text)
        }
        guard isNameToken(token) else { throw syntaxError() }
        advance()
        return .name(token.text)
    }

    /// Whether the current token starts a function call: a name followed by `(`.
    func atFunctionCall() -> Bool {
        current.kind == .word && !isAnyKeyword(current) && peek().kind == .punct && peek().text == "("
            && !ExpressionLexer.isDigit(current.text.utf8.first ?? 0)
    }

    /// The index of the `)` matching the `(` at `open`, if any.
    func matchingParen(_ open: Int) -> Int? {
        var depth = 0
        var index = open
        while index < tokens.count {
            let token = tokens[index]
            if token.kind == .punct {
                if token.text == "(" { depth += 1 }
                if token.text == ")" {
                    depth -= 1
                    if depth == 0 { return index }
                }
            }
            index += 1
        }
        return nil
    }
}

/// Collects semantic errors by category while resolving a parsed expression, so the one DynamoDB
/// reports (by its fixed priority, then first in the text) is thrown at the end.
struct ExpressionErrors {
    var messages: [String?]

    init(categories: Int) { messages = Array(repeating: nil, count: categories) }

    mutating func note(_ category: Int, _ message: String) {
        if messages[category] == nil { messages[category] = message }
    }

    func has(_ category: Int) -> Bool { messages[category] != nil }

    func first() -> String? {
        for message in messages { if let message { return message } }
        return nil
    }
}

/// Shared helpers for resolving raw paths and describing values in messages.
enum ExpressionSupport {
    static let typeNames = ["B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M"]

    /// Resolves placeholders; `undefined` receives the first undefined placeholder, `reserved` the first reserved bare name.
    static func resolve(
        _ raw: RawPath, attributes: inout ExpressionAttributes, undefined: (String) -> Void, reserved: (String) -> Void
    ) -> DocumentPath {
        var elements: [PathElement] = []
        elements.reserveCapacity(raw.elements.count)
        for element in raw.elements {
            switch element {
            case .name(let name):
                if ReservedWords.contains(name) { reserved(name) }
                elements.append(.name(name))
            case .placeholder(let placeholder):
                if let name = attributes.resolveName(placeholder) {
                    elements.append(.name(name))
                } else {
                    undefined(placeholder)
                    elements.append(.name(placeholder))
                }
            case .index(let index):
                elements.append(.index(index))
            }
        }
        return DocumentPath(elements)
    }

    /// Resolves `raw` and notes DynamoDB's errors for its first reserved bare name and its first
    /// undefined placeholder, under the caller's priority categories.
    static func resolve(
        _ raw: RawPath, attributes: inout ExpressionAttributes, errors: inout ExpressionErrors,
        reservedCategory: Int, undefinedCategory: Int
    ) -> DocumentPath {
        var undefinedName: String? = nil
        var reservedName: String? = nil
        let path = resolve(
            raw, attributes: &attributes,
            undefined: { if undefinedName == nil { undefinedName = $0 } },
            reserved: { if reservedName == nil { reservedName = $0 } })
        if let reservedName {
            errors.note(reservedCategory, "Attribute name is a reserved keyword; reserved keyword: \(reservedName)")
        }
        if let undefinedName {
            errors.note(undefinedCategory, "An expression attribute name used in the document path is not defined; attribute name: \(undefinedName)")
        }
        return path
    }

    /// `{S:abc}` as DynamoDB prints a value inside messages.
    static func brief(_ value: AttributeValue) -> String {
        let body: String
        switch value {
        case .s(let s): body = s
        case .n(let n): body = n.description
        case .b(let b): body = Base64.encode(b)
        case .bool(let b): body = b ? "true" : "false"
        case .null: body = "true"
        case .ss(let values): body = values.joined(separator: ",")
        case .ns(let values): body = values.map(\.description).joined(separator: ",")
        case .bs(let values): body = values.map(Base64.encode).joined(separator: ",")
        case .l, .m: body = "..."
        }
        return "{\(value.typeName):\(body)}"
    }
}
