/// Exact decimal addition and subtraction, as UpdateExpression's `+`, `-` and `ADD` need.
///
/// DynamoDB computes these exactly; a result outside the number range is refused with the
/// same messages as a stored number (magnitude first, then precision).
extension DynamoNumber {
    public static func + (lhs: DynamoNumber, rhs: DynamoNumber) throws(DynamoDBError) -> DynamoNumber {
        try sum(lhs, rhs)
    }

    public static func - (lhs: DynamoNumber, rhs: DynamoNumber) throws(DynamoDBError) -> DynamoNumber {
        try sum(lhs, rhs.negated)
    }

    /// The same magnitude with the opposite sign (zero stays zero).
    public var negated: DynamoNumber {
        DynamoNumber(isNegative: !isNegative, digits: digits, exponent: exponent)
    }

    static func sum(_ a: DynamoNumber, _ b: DynamoNumber) throws(DynamoDBError) -> DynamoNumber {
        if a.isZero { return b }
        if b.isZero { return a }
        // Place values: digit i of x sits at 10^(x.exponent - 1 - i).
        let low = min(a.exponent - a.digits.count, b.exponent - b.digits.count)
        let high = max(a.exponent, b.exponent)
        let width = high - low + 1  // one spare place for a carry
        let x = littleEndian(a, low: low, width: width)
        let y = littleEndian(b, low: low, width: width)
        var out = [UInt8](repeating: 0, count: width)
        let negative: Bool
        if a.isNegative == b.isNegative {
            negative = a.isNegative
            var carry: UInt8 = 0
            for i in 0..<width {
                let s = x[i] + y[i] + carry
                out[i] = s % 10
                carry = s / 10
            }
        } else {
            // Subtract the smaller magnitude from the larger.
            let order = compareMagnitude(a, b)
            if order == .equal { return .zero }
            let (big, small) = order == .greater ? (x, y) : (y, x)
            negative = order == .greater ? a.isNegative : b.isNegative
            var borrow: UInt8 = 0
            for i in 0..<width {
                let subtrahend = small[i] + borrow
                if big[i] >= subtrahend {
                    out[i] = big[i] - subtrahend
                    borrow = 0
                } else {
                    out[i] = big[i] + 10 - subtrahend
                    borrow = 1
                }
            }
        }
        let bigEndian = Array(out.reversed())
        let result = normalized(negative: negative, allDigits: bigEndian, integerDigits: bigEndian.count, exponent: low)
        try result.validateArithmeticResult()
        return result
    }

    static func littleEndian(_ number: DynamoNumber, low: Int, width: Int) -> [UInt8] {
        var places = [UInt8](repeating: 0, count: width)
        for (i, digit) in number.digits.enumerated() {
            places[number.exponent - 1 - i - low] = digit
        }
        return places
    }

    func validateArithmeticResult() throws(DynamoDBError) {
        guard !isZero else { return }
        let scientific = exponent - 1
        if scientific > DynamoNumber.maxScientificExponent {
            throw DynamoDBError.validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
        }
        if scientific < DynamoNumber.minScientificExponent {
            throw DynamoDBError.validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
        }
        if digits.count > DynamoNumber.maxSignificantDigits {
            throw DynamoDBError.validation("Attempting to store more than 38 significant digits in a Number")
        }
    }
}
