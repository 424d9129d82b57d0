import Foundation
import XCTest
@testable import TernCore

/// Test conveniences on TernCore's seeded generator. The tests never use Swift's unseeded
/// randomness: every draw goes through these helpers.
extension SplitMix64 {
    /// Uniform enough for tests in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int { next(below: bound) }

    /// An integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    mutating func bool() -> Bool { next() & 1 == 1 }

    /// True with probability `1 / n`.
    mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }

    /// Same as `oneIn`, under the name the expression tests use.
    mutating func chance(_ n: Int) -> Bool { oneIn(n) }

    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in byte() } }

    mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}

// MARK: - Error helpers

/// Asserts that `body` throws a `DynamoDBError` with this code and exact message.
func assertDynamoError<T>(
    _ code: String, _ message: String,
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        let value = try body()
        XCTFail("expected \(code): \(message); got a value: \(value)", file: file, line: line)
    } catch let error as DynamoDBError {
        XCTAssertEqual(error.code, code, "code", file: file, line: line)
        XCTAssertEqual(error.message, message, "message", file: file, line: line)
    } catch {
        XCTFail("expected DynamoDBError, got \(error)", file: file, line: line)
    }
}

/// Asserts that `body` throws a `DynamoDBError` with this code and a message starting with `prefix`.
func assertDynamoErrorPrefix<T>(
    _ code: String, _ prefix: String,
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        let value = try body()
        XCTFail("expected \(code): \(prefix)…; got a value: \(value)", file: file, line: line)
    } catch let error as DynamoDBError {
        XCTAssertEqual(error.code, code, "code", file: file, line: line)
        XCTAssertTrue(error.message.hasPrefix(prefix), "message \(error.message.debugDescription) should start with \(prefix.debugDescription)", file: file, line: line)
    } catch {
        XCTFail("expected DynamoDBError, got \(error)", file: file, line: line)
    }
}

let validationException = "ValidationException"
let serializationException = "SerializationException"

// MARK: - Convenience constructors

/// A DynamoNumber from text the test knows to be valid.
func num(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> DynamoNumber {
    do {
        return try DynamoNumber(parsing: text)
    } catch {
        XCTFail("\(text) should parse: \(error)", file: file, line: line)
        return .zero
    }
}

func item(_ pairs: [(String, AttributeValue)]) -> Item { AttributeMap(pairs) }

func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}

// MARK: - Reference decimal numbers

/// An independent model of a DynamoDB number, used as the oracle for DynamoNumber and
/// KeyEncoding: `±0.d₁…dₙ × 10^(sci+1)`, i.e. d₁ has place value 10^sci.
struct RefNumber: CustomStringConvertible {
    var negative: Bool
    /// Significant digits as ASCII bytes; first and last non-zero; empty for zero.
    var digits: [UInt8]
    /// The scientific exponent (place value of the first digit).
    var sci: Int

    static let zero = RefNumber(negative: false, digits: [], sci: 0)

    var isZero: Bool { digits.isEmpty }

    /// Places 10^126 … 10^-170 as a fixed-width ASCII digit string: covers every DynamoDB number.
    static let integerPlaces = 127
    static let fractionPlaces = 170

    var fixedPoint: [UInt8] {
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: RefNumber.integerPlaces + RefNumber.fractionPlaces)
        for (i, d) in digits.enumerated() {
            let place = sci - i
            out[RefNumber.integerPlaces - 1 - place] = d
        }
        return out
    }

    /// -1, 0, 1 by numeric value, computed on the fixed-point strings.
    static func compare(_ a: RefNumber, _ b: RefNumber) -> Int {
        let aSign = a.isZero ? 0 : (a.negative ? -1 : 1)
        let bSign = b.isZero ? 0 : (b.negative ? -1 : 1)
        if aSign != bSign { return aSign < bSign ? -1 : 1 }
        if aSign == 0 { return 0 }
        let fa = a.fixedPoint
        let fb = b.fixedPoint
        if fa == fb { return 0 }
        let magnitudeLess = fa.lexicographicallyPrecedes(fb)
        return (magnitudeLess != a.negative) ? -1 : 1
    }

    /// Plain decimal text with no exponent and no superfluous zeros (DynamoDB's output form),
    /// derived from the fixed-point string.
    var description: String {
        if isZero { return "0" }
        let fixed = fixedPoint
        var integer = Array(fixed[0..<RefNumber.integerPlaces])
        var fraction = Array(fixed[RefNumber.integerPlaces...])
        while integer.count > 1, integer.first == UInt8(ascii: "0") { integer.removeFirst() }
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        var text = (negative ? "-" : "") + String(decoding: integer, as: UTF8.self)
        if !fraction.isEmpty { text += "." + String(decoding: fraction, as: UTF8.self) }
        return text
    }

    /// Another valid spelling of the same value, chosen at random: scientific notation with the
    /// point moved, leading/trailing zeros, '+' signs, 'E' or 'e'.
    func randomSpelling(_ rng: inout SplitMix64) -> String {
        if isZero {
            return rng.pick(["0", "-0", "+0", "0.000", "-0.0e5", "00", "0e-200", ".0", "0.", "0E+999"])
        }
        let sign = negative ? "-" : (rng.oneIn(4) ? "+" : "")
        let digitText = String(decoding: digits, as: UTF8.self)
        switch rng.below(4) {
        case 0:
            return sign + description.drop(while: { $0 == "-" })
        case 1:
            // 0.ddd × 10^(sci+1), with optional extra zeros.
            let leading = String(repeating: "0", count: rng.below(3))
            let trailing = String(repeating: "0", count: rng.below(3))
            let e = rng.bool() ? "e" : "E"
            return sign + leading + "0." + digitText + trailing + e + String(sci + 1)
        case 2:
            // d.dd × 10^sci
            let head = String(digitText.prefix(1))
            let tail = String(digitText.dropFirst())
            let e = rng.bool() ? "e" : "E"
            let exponent = sci >= 0 && rng.bool() ? "+" + String(sci) : String(sci)
            return sign + head + (tail.isEmpty && rng.bool() ? "" : "." + tail) + e + exponent
        default:
            // An integer of all the digits, scaled: ddd × 10^(sci - n + 1), with leading zeros.
            let leading = String(repeating: "0", count: rng.below(4))
            return sign + leading + digitText + "e" + String(sci - digits.count + 1)
        }
    }

    static func random(_ rng: inout SplitMix64, maxDigits: Int = 38) -> RefNumber {
        if rng.oneIn(20) { return .zero }
        var count: Int
        switch rng.below(4) {
        case 0: count = 1
        case 1: count = rng.int(1...5)
        case 2: count = rng.int(1...38)
        default: count = 38
        }
        count = min(count, maxDigits)
        var digits: [UInt8] = []
        for i in 0..<count {
            let low = (i == 0 || i == count - 1) ? 1 : 0
            digits.append(UInt8(ascii: "0") + UInt8(rng.int(low...9)))
        }
        let sci: Int
        switch rng.below(5) {
        case 0: sci = rng.int(-130...125)
        case 1: sci = rng.pick([-130, -129, 124, 125])
        default: sci = rng.int(-6...12)
        }
        return RefNumber(negative: rng.bool(), digits: digits, sci: sci)
    }

    var dynamo: DynamoNumber { num(description) }
}


