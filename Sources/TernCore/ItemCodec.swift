/// The binary encoding of items in storage.
///
/// Layout (all lengths are unsigned LEB128 varints):
/// item    = count, { nameLength, nameUTF8, value }*      (names in AttributeMap order)
/// value   = tag, payload
///   S  1: length, utf8         N 2: number               B 3: length, bytes
///   BOOL 4 (false) / 5 (true)  NULL 6                    M 7: item
///   L  8: count, value*        SS 9: count, (length, utf8)*
///   NS 10: count, number*      BS 11: count, (length, bytes)*
/// number  = flags (bit0 negative), zigzag exponent, digitCount, digits packed two per byte
public enum ItemCodec {
    public struct DecodeError: Error, Sendable, Equatable {
        public let offset: Int

        public init(offset: Int) { self.offset = offset }
    }

    public static func encode(_ item: Item) -> [UInt8] {
        var writer = ByteWriter()
        writer.reserve(64)
        writer.item(item)
        return writer.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Item {
        var reader = ByteReader(bytes)
        let item = try reader.item()
        guard reader.isAtEnd else { throw DecodeError(offset: reader.offset) }
        return item
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(DecodeError) -> Item {
        try decode(Array(bytes))
    }
}

/// Appends primitive encodings to a byte buffer.
public struct ByteWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func varint(_ value: Int) { varint(UInt64(value)) }

    public mutating func lengthPrefixed<C: Collection>(_ data: C) where C.Element == UInt8 {
        varint(data.count)
        bytes.append(contentsOf: data)
    }

    public mutating func uint64BigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func number(_ number: DynamoNumber) {
        bytes.append(number.isNegative ? 1 : 0)
        let e = Int64(number.exponent)
        varint(UInt64(bitPattern: (e << 1) ^ (e >> 63)))
        varint(number.digits.count)
        var i = 0
        while i < number.digits.count {
            let high = number.digits[i]
            let low = i + 1 < number.digits.count ? number.digits[i + 1] : 0
            bytes.append(high << 4 | low)
            i += 2
        }
    }

    mutating func item(_ item: Item) {
        varint(item.count)
        for entry in item.entries {
            lengthPrefixed(entry.name.utf8)
            value(entry.value)
        }
    }

    mutating func value(_ value: AttributeValue) {
        switch value {
        case .s(let text): bytes.append(1); lengthPrefixed(text.utf8)
        case .n(let n): bytes.append(2); number(n)
        case .b(let blob): bytes.append(3); lengthPrefixed(blob)
        case .bool(let flag): bytes.append(flag ? 5 : 4)
        case .null: bytes.append(6)
        case .m(let map): bytes.append(7); item(map)
        case .l(let list):
            bytes.append(8)
            varint(list.count)
            for element in list { self.value(element) }
        case .ss(let strings):
            bytes.append(9)
            varint(strings.count)
            for text in strings { lengthPrefixed(text.utf8) }
        case .ns(let numbers):
            bytes.append(10)
            varint(numbers.count)
            for n in numbers { number(n) }
        case .bs(let blobs):
            bytes.append(11)
            varint(blobs.count)
            for blob in blobs { lengthPrefixed(blob) }
        }
    }
}

/// Reads what `ByteWriter` wrote, failing (never trapping) on malformed input.
public struct ByteReader {
    let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { offset == bytes.count }

    func fail() -> ItemCodec.DecodeError { ItemCodec.DecodeError(offset: offset) }

    public mutating func byte() throws(ItemCodec.DecodeError) -> UInt8 {
        guard offset < bytes.count else { throw fail() }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func varint() throws(ItemCodec.DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw fail() }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A count or length, bounded by the bytes that remain (every element takes at least one byte).
    mutating func count() throws(ItemCodec.DecodeError) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - offset) else { throw fail() }
        return Int(value)
    }

    public mutating func lengthPrefixed() throws(ItemCodec.DecodeError) -> ArraySlice<UInt8> {
        let length = try count()
        defer { offset += length }
        return bytes[offset..<(offset + length)]
    }

    public mutating func uint64BigEndian() throws(ItemCodec.DecodeError) -> UInt64 {
        guard offset + 8 <= bytes.count else { throw fail() }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    mutating func string() throws(ItemCodec.DecodeError) -> String {
        let slice = try lengthPrefixed()
        guard let text = String(validating: slice, as: UTF8.self) else { throw fail() }
        return text
    }

    mutating func number() throws(ItemCodec.DecodeError) -> DynamoNumber {
        let negative = try byte() == 1
        let zigzag = try varint()
        let exponent = Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1)
        // Digits are packed two per byte, so a count of n needs only ⌈n/2⌉ bytes to remain.
        let digitCount = Int(try varint())
        guard digitCount <= DynamoNumber.maxSignificantDigits, (digitCount + 1) / 2 <= bytes.count - offset else { throw fail() }
        var digits: [UInt8] = []
        digits.reserveCapacity(digitCount)
        for i in 0..<((digitCount + 1) / 2) {
            let packed = try byte()
            digits.append(packed >> 4)
            if i * 2 + 1 < digitCount { digits.append(packed & 0x0F) }
        }
        guard digits.allSatisfy({ $0 <= 9 }) else { throw fail() }
        return DynamoNumber(isNegative: negative, digits: digits, exponent: Int(exponent))
    }

    mutating func item() throws(ItemCodec.DecodeError) -> Item {
        let entryCount = try count()
        var entries: [AttributeMap.Entry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount {
            let name = try string()
            entries.append(AttributeMap.Entry(name: name, value: try value()))
        }
        return AttributeMap(sortedEntries: entries)
    }

    mutating func value() throws(ItemCodec.DecodeError) -> AttributeValue {
        let tag = try byte()
        switch tag {
        case 1: return .s(try string())
        case 2: return .n(try number())
        case 3: return .b(Array(try lengthPrefixed()))
        case 4: return .bool(false)
        case 5: return .bool(true)
        case 6: return .null
        case 7: return .m(try item())
        case 8:
            let n = try count()
            var list: [AttributeValue] = []
            list.reserveCapacity(n)
            for _ in 0..<n { list.append(try value()) }
            return .l(list)
        case 9:
            let n = try count()
            var strings: [String] = []
            for _ in 0..<n { strings.append(try string()) }
            return .ss(strings)
        case 10:
            let n = try count()
            var numbers: [DynamoNumber] = []
            for _ in 0..<n { numbers.append(try number()) }
            return .ns(numbers)
        case 11:
            let n = try count()
            var blobs: [[UInt8]] = []
            for _ in 0..<n { blobs.append(Array(try lengthPrefixed())) }
            return .bs(blobs)
        default:
            throw fail()
        }
    }
}
