/// Parses ProjectionExpression: comma-separated document paths, with `#name` placeholders
/// resolved from ExpressionAttributeNames.
public struct ProjectionExpressionParser {
    public static let maxExpressionBytes = 4096
    public static let maxPathDepth = 32

    let text: [UInt8]
    let names: [String: String]
    var index = 0
    /// Placeholders the expression used, so the caller can reject unused ones.
    public private(set) var usedNames: Set<String> = []

    public init(_ expression: String, names: [String: String]) {
        self.text = Array(expression.utf8)
        self.names = names
    }

    func fail(_ message: String) -> DynamoDBError {
        DynamoDBError.validation("Invalid ProjectionExpression: \(message)")
    }

    func syntaxError() -> DynamoDBError {
        let token: String
        if index >= text.count {
            token = "<EOF>"
        } else {
            var end = index + 1
            while end < text.count, Self.isNameByte(text[end]), Self.isNameByte(text[index]) { end += 1 }
            token = String(decoding: text[index..<end], as: UTF8.self)
        }
        let nearStart = max(0, index - 8)
        let nearEnd = min(text.count, index + 8)
        let near = String(decoding: text[nearStart..<nearEnd], as: UTF8.self)
        return fail("Syntax error; token: \"\(token)\", near: \"\(near)\"")
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    mutating func skipSpaces() {
        while index < text.count, text[index] == 0x20 || text[index] == 0x09 || text[index] == 0x0A || text[index] == 0x0D {
            index += 1
        }
    }

    /// Parses the whole expression into paths; rejects overlapping and conflicting paths.
    public mutating func parse() throws(DynamoDBError) -> [DocumentPath] {
        if text.count > Self.maxExpressionBytes {
            throw fail("Expression size has exceeded the maximum allowed size; expression size: \(text.count)")
        }
        skipSpaces()
        if index == text.count { throw fail("The expression can not be empty;") }
        var paths: [DocumentPath] = []
        while true {
            paths.append(try parsePath())
            skipSpaces()
            if index == text.count { break }
            guard text[index] == UInt8(ascii: ",") else { throw syntaxError() }
            index += 1
        }
        try Self.checkOverlaps(paths, fail: fail)
        return paths
    }

    mutating func parseName() throws(DynamoDBError) -> String {
        skipSpaces()
        guard index < text.count else { throw syntaxError() }
        let start = index
        if text[index] == UInt8(ascii: "#") {
            index += 1
            while index < text.count, Self.isNameByte(text[index]) { index += 1 }
            guard index > start + 1 else { throw syntaxError() }
            let placeholder = String(decoding: text[start..<index], as: UTF8.self)
            guard let name = names[placeholder] else {
                throw fail("An expression attribute name used in the document path is not defined; attribute name: \(placeholder)")
            }
            usedNames.insert(placeholder)
            return name
        }
        let first = text[index]
        let isLetter = (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) || (first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z"))
        guard isLetter || first == UInt8(ascii: "_") else { throw syntaxError() }
        while index < text.count, Self.isNameByte(text[index]) { index += 1 }
        let word = String(decoding: text[start..<index], as: UTF8.self)
        if ReservedWords.contains(word) {
            throw fail("Attribute name is a reserved keyword; reserved keyword: \(word)")
        }
        return word
    }

    mutating func parseIndex() throws(DynamoDBError) -> Int {
        index += 1
        skipSpaces()
        let start = index
        var value = 0
        while index < text.count, text[index] >= UInt8(ascii: "0"), text[index] <= UInt8(ascii: "9") {
            value = min(value * 10 + Int(text[index] - UInt8(ascii: "0")), Int(Int32.max))
            index += 1
        }
        guard index > start else { throw syntaxError() }
        skipSpaces()
        guard index < text.count, text[index] == UInt8(ascii: "]") else { throw syntaxError() }
        index += 1
        return value
    }

    mutating func parsePath() throws(DynamoDBError) -> DocumentPath {
        var elements: [PathElement] = [.name(try parseName())]
        while true {
            skipSpaces()
            guard index < text.count else { break }
            if text[index] == UInt8(ascii: ".") {
                index += 1
                elements.append(.name(try parseName()))
            } else if text[index] == UInt8(ascii: "[") {
                elements.append(.index(try parseIndex()))
            } else {
                break
            }
            if elements.count > Self.maxPathDepth {
                throw fail("The document path has too many nesting levels; nesting levels: \(elements.count)")
            }
        }
        return DocumentPath(elements)
    }

    /// DynamoDB rejects two paths when one is a prefix of the other (overlap) or when they
    /// treat the same position as both a map member and a list element (conflict).
    static func checkOverlaps(_ paths: [DocumentPath], fail: (String) -> DynamoDBError) throws(DynamoDBError) {
        for i in 0..<paths.count {
            for j in 0..<i {
                let a = paths[j].elements
                let b = paths[i].elements
                let common = zip(a, b).prefix(while: { $0 == $1 }).count
                if common == min(a.count, b.count) {
                    throw fail("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: \(paths[j]), path two: \(paths[i])")
                }
                switch (a[common], b[common]) {
                case (.name, .index), (.index, .name):
                    throw fail("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: \(paths[j]), path two: \(paths[i])")
                default:
                    continue
                }
            }
        }
    }
}
