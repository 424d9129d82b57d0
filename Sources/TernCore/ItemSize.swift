/// DynamoDB's accounting of item sizes (developer guide, "Item sizes and formats"):
/// attribute name bytes plus value bytes; numbers about one byte per two significant digits plus
/// one (exactly: see `numberBytes`); binary its raw length; BOOL and NULL one byte; lists and maps
/// three bytes plus one byte per element plus their elements.
public enum ItemSize {
    /// The largest item DynamoDB stores: 400 KB.
    public static let maxItemBytes = 400 * 1024

    public static func of(_ item: Item) -> Int {
        var total = 0
        for entry in item.entries {
            total += entry.name.utf8.count + of(entry.value)
        }
        return total
    }

    public static func of(_ value: AttributeValue) -> Int {
        switch value {
        case .s(let text): return text.utf8.count
        case .n(let number): return numberBytes(number)
        case .b(let blob): return blob.count
        case .bool, .null: return 1
        case .m(let map):
            var total = 3
            for entry in map.entries { total += 1 + entry.name.utf8.count + of(entry.value) }
            return total
        case .l(let list):
            var total = 3
            for element in list { total += 1 + of(element) }
            return total
        case .ss(let strings): return strings.reduce(0) { $0 + $1.utf8.count }
        case .ns(let numbers): return numbers.reduce(0) { $0 + numberBytes($1) }
        case .bs(let blobs): return blobs.reduce(0) { $0 + $1.count }
        }
    }

    /// The guide's "1 byte per two significant digits, plus 1" is approximate. DynamoDB stores a
    /// number as base-100 digits aligned on the decimal point, so the digits are paired from the
    /// point outwards (1.5 is 01|50: two pairs, where the guide's rule counts one), plus one byte
    /// of exponent, plus one more for a negative number, 21 bytes at most; zero is one byte. This is
    /// the rule measured against DynamoDB's consumed capacity by Zac Charles ("Calculating a
    /// DynamoDB item's size and consumed capacity", 2018, and his dynamodb-calculator).
    public static func numberBytes(_ number: DynamoNumber) -> Int {
        guard !number.isZero else { return 1 }
        // The number is 0.d₁…dₙ × 10^exponent: its first digit sits at 10^(exponent-1), its last
        // at 10^(exponent-n); an arithmetic shift right by one is floor division by 2.
        let highPair = (number.exponent - 1) >> 1
        let lowPair = (number.exponent - number.digits.count) >> 1
        let pairs = highPair - lowPair + 1
        return Swift.min(maxNumberBytes, pairs + 1 + (number.isNegative ? 1 : 0))
    }

    static let maxNumberBytes = 21
}
