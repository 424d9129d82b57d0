/// A DynamoDB number: an exact decimal with up to 38 significant digits and a magnitude of
/// 1E-130 to 9.99…E+125, or zero. Never a Double.
///
/// The value is `sign × 0.d₁d₂…dₙ × 10^exponent` with no leading or trailing zero digits,
/// so every number has exactly one representation and equal numbers compare equal field by field.
public struct DynamoNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let isNegative: Bool
    /// Significant digits, each 0…9; empty for zero; first and last are non-zero.
    public let digits: [UInt8]
    public let exponent: Int

    public static let maxSignificantDigits = 38
    /// DynamoDB's range, as the exponent `e` of scientific notation d.ddd × 10^e.
    public static let maxScientificExponent = 125
    public static let minScientificExponent = -130

    public static let zero = DynamoNumber(isNegative: false, digits: [], exponent: 0)

    init(isNegative: Bool, digits: [UInt8], exponent: Int) {
        self.isNegative = isNegative && !digits.isEmpty
        self.digits = digits
        self.exponent = digits.isEmpty ? 0 : exponent
    }

    public var isZero: Bool { digits.isEmpty }

    /// Parses and validates DynamoDB's number syntax, throwing DynamoDB's errors.
    public init(parsing text: String) throws(DynamoDBError) {
        guard let parsed = DynamoNumber.parseSyntax(Array(text.utf8)) else {
            throw DynamoDBError.validation("The parameter cannot be converted to a numeric value: \(text)")
        }
        try parsed.validateRange()
        self = parsed
    }

    /// Builds from an Int (always in range).
    public init(_ value: Int) {
        // Int is at most 19 digits, always inside DynamoDB's range.
        self = (try? DynamoNumber(parsing: String(value))) ?? .zero
    }

    func validateRange() throws(DynamoDBError) {
        guard !isZero else { return }
        if digits.count > DynamoNumber.maxSignificantDigits {
            throw DynamoDBError.validation("Attempting to store more than 38 significant digits in a Number")
        }
        let scientific = exponent - 1
        if scientific > DynamoNumber.maxScientificExponent {
            throw DynamoDBError.validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
        }
        if scientific < DynamoNumber.minScientificExponent {
            throw DynamoDBError.validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
        }
    }

    /// Syntax: optional sign, digits with an optional decimal point (at least one digit),
    /// optional exponent. Leading and surrounding whitespace is not accepted.
    static func parseSyntax(_ bytes: [UInt8]) -> DynamoNumber? {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var allDigits: [UInt8] = []
        var pointPosition: Int? = nil
        var sawDigit = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                allDigits.append(byte - UInt8(ascii: "0"))
                sawDigit = true
            } else if byte == UInt8(ascii: "."), pointPosition == nil {
                pointPosition = allDigits.count
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { return nil }
        var exponentPart = 0
        if index < bytes.count {
            guard bytes[index] | 0x20 == UInt8(ascii: "e") else { return nil }
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                // Clamp huge exponents; anything this large is out of range anyway.
                // Clamp far beyond any representable value (and any body length) so that the
                // clamp never changes a number that is in range.
                exponentPart = min(exponentPart * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1_000_000_000_000_000)
                index += 1
            }
            guard index > start, index == bytes.count else { return nil }
            if exponentNegative { exponentPart = -exponentPart }
        }
        return normalized(negative: negative, allDigits: allDigits, integerDigits: pointPosition ?? allDigits.count, exponent: exponentPart)
    }

    /// `allDigits` with the decimal point after `integerDigits` digits, times 10^exponent.
    static func normalized(negative: Bool, allDigits: [UInt8], integerDigits: Int, exponent: Int) -> DynamoNumber {
        guard let first = allDigits.firstIndex(where: { $0 != 0 }) else { return .zero }
        let last = allDigits.lastIndex(where: { $0 != 0 })!
        let digits = Array(allDigits[first...last])
        return DynamoNumber(isNegative: negative, digits: digits, exponent: integerDigits - first + exponent)
    }

    /// Plain decimal notation, as DynamoDB returns numbers: no exponent, no superfluous zeros.
    public var description: String {
        if isZero { return "0" }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count + 4)
        if isNegative { out.append(UInt8(ascii: "-")) }
        let ascii = digits.map { $0 + UInt8(ascii: "0") }
        if exponent <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -exponent))
            out.append(contentsOf: ascii)
        } else if exponent >= ascii.count {
            out.append(contentsOf: ascii)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: exponent - ascii.count))
        } else {
            out.append(contentsOf: ascii[0..<exponent])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: ascii[exponent...])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func < (lhs: DynamoNumber, rhs: DynamoNumber) -> Bool {
        if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
        let magnitudeLess = compareMagnitude(lhs, rhs)
        return lhs.isNegative ? magnitudeLess == .greater : magnitudeLess == .less
    }

    enum Order { case less, equal, greater }

    static func compareMagnitude(_ a: DynamoNumber, _ b: DynamoNumber) -> Order {
        if a.isZero || b.isZero {
            if a.isZero && b.isZero { return .equal }
            return a.isZero ? .less : .greater
        }
        if a.exponent != b.exponent { return a.exponent < b.exponent ? .less : .greater }
        for (x, y) in zip(a.digits, b.digits) where x != y {
            return x < y ? .less : .greater
        }
        if a.digits.count == b.digits.count { return .equal }
        return a.digits.count < b.digits.count ? .less : .greater
    }
}
