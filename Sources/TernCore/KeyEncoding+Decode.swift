/// Decoding of storage keys back into key attribute values (the inverse of KeyEncoding).
///
/// A Query or Scan page may stop on a tombstone, whose stored value holds no attributes; its
/// `LastEvaluatedKey` must then come from the storage key alone. Keys are read from disk, so a
/// corrupt or foreign key is the world's mistake, not ours: every malformed input throws a
/// `DecodeError` and nothing here traps on key bytes.
///
/// The decoder accepts exactly the encodings KeyEncoding produces for valid DynamoDB key values
/// (canonical numbers in DynamoDB's range, valid UTF-8 strings), so decoding and re-encoding a key
/// gives back the same bytes and a resumed scan starts exactly where the last page stopped.
extension KeyEncoding {
    /// Why a storage key (or one of its components) could not be decoded.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Reason: Sendable, Equatable {
            /// The bytes end inside a table id, token or component.
            case truncated
            /// In an S or B component, 0x00 followed by a byte other than 0xFF (escaped 0x00) or
            /// 0x01 (terminator).
            case invalidEscape
            /// An N component whose first byte is not 0x01 (negative), 0x02 (zero) or 0x03 (positive).
            case invalidNumberTag
            /// A byte of a number's digit run that encodes no decimal digit.
            case invalidDigit
            /// A number with no digits, or a leading or trailing zero digit: never written by
            /// the encoder, and it would not re-encode to the same bytes.
            case nonCanonicalNumber
            /// More than 38 significant digits, or a magnitude outside 1E-130 … 9.99…E+125.
            case numberOutOfRange
            /// An S component whose bytes are not valid UTF-8.
            case invalidUTF8
            /// An empty S or B key value: DynamoDB forbids them, so Tern never stores one.
            case emptyKeyValue
            /// The token bytes are not the token of the decoded partition key.
            case tokenMismatch
            /// Bytes remain after the last key component.
            case trailingBytes
            /// The key belongs to another table than the one it was decoded for.
            case wrongTable
        }

        public let reason: Reason
        /// The index in the decoded bytes where the problem was found.
        public let offset: Int

        public init(_ reason: Reason, at offset: Int) {
            self.reason = reason
            self.offset = offset
        }

        public var description: String { "malformed storage key: \(reason) at byte \(offset)" }
    }

    /// The table id a storage key starts with; nil for a key shorter than a table id.
    public static func tableId(ofKey key: [UInt8]) -> UInt32? {
        guard key.count >= tableIdBytes else { return nil }
        return key[0..<tableIdBytes].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The token a storage key carries after its table id; nil for a key too short to hold one.
    /// Reads only the fixed-width prefix, so it works on any item key without knowing its table's
    /// key types.
    public static func token(ofKey key: [UInt8]) -> UInt64? {
        guard key.count >= tableIdBytes + tokenBytes else { return nil }
        return key[tableIdBytes..<tableIdBytes + tokenBytes].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// A decoded item key: `tableId · token · partition · [sort]`.
    public typealias DecodedItemKey = (tableId: UInt32, token: UInt64, partition: AttributeValue, sort: AttributeValue?)

    /// Decodes the whole storage key of an item of a table whose key attributes have these types.
    ///
    /// Checks, beyond the layout, that the token is the partition key's token, that no key value
    /// is empty, and that nothing follows the last component.
    public static func decodeItemKey(
        _ storageKey: [UInt8], partitionType: ScalarAttributeType, sortType: ScalarAttributeType?
    ) throws(DecodeError) -> DecodedItemKey {
        let bytes = storageKey[...]
        var offset = bytes.startIndex
        let tableId = UInt32(truncatingIfNeeded: try readBigEndian(bytes, at: &offset, count: tableIdBytes))
        let tokenOffset = offset
        let token = try readBigEndian(bytes, at: &offset, count: 8)
        let partition = try decodeKeyValue(bytes, at: &offset, type: partitionType)
        // The token is derived from the partition key; a mismatch means the key is corrupt (a
        // resumed scan would otherwise seek to a different place than the key came from).
        guard TokenHash.token(of: partition) == token else { throw DecodeError(.tokenMismatch, at: tokenOffset) }
        var sort: AttributeValue? = nil
        if let sortType {
            sort = try decodeKeyValue(bytes, at: &offset, type: sortType)
        }
        guard offset == bytes.endIndex else { throw DecodeError(.trailingBytes, at: offset) }
        return (tableId: tableId, token: token, partition: partition, sort: sort)
    }

    /// Decodes one key component of `type` starting at `offset` and advances `offset` past it.
    /// `offset` is an index of `bytes` (a slice keeps its parent's indices).
    ///
    /// Accepts empty S and B values (the encoding can express them); `decodeItemKey` rejects them.
    public static func decodeComponent(
        _ bytes: ArraySlice<UInt8>, at offset: inout Int, type: ScalarAttributeType
    ) throws(DecodeError) -> AttributeValue {
        precondition(offset >= bytes.startIndex, "offset \(offset) is before the bytes (start \(bytes.startIndex))")
        switch type {
        case .string:
            let start = offset
            let raw = try decodeEscaped(bytes, at: &offset)
            guard let text = String(validating: raw, as: UTF8.self) else { throw DecodeError(.invalidUTF8, at: start) }
            return .s(text)
        case .binary:
            return .b(try decodeEscaped(bytes, at: &offset))
        case .number:
            return .n(try decodeNumber(bytes, at: &offset))
        }
    }

    /// `decodeComponent` over a whole array; `offset` is an index of `bytes`.
    public static func decodeComponent(
        _ bytes: [UInt8], at offset: inout Int, type: ScalarAttributeType
    ) throws(DecodeError) -> AttributeValue {
        try decodeComponent(bytes[...], at: &offset, type: type)
    }

    // MARK: - Pieces

    /// A component that must be a valid DynamoDB key value (S and B non-empty).
    static func decodeKeyValue(
        _ bytes: ArraySlice<UInt8>, at offset: inout Int, type: ScalarAttributeType
    ) throws(DecodeError) -> AttributeValue {
        let start = offset
        let value = try decodeComponent(bytes, at: &offset, type: type)
        switch value {
        case .s(let text) where text.isEmpty: throw DecodeError(.emptyKeyValue, at: start)
        case .b(let blob) where blob.isEmpty: throw DecodeError(.emptyKeyValue, at: start)
        default: return value
        }
    }

    static func readByte(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(DecodeError) -> UInt8 {
        guard offset < bytes.endIndex else { throw DecodeError(.truncated, at: offset) }
        let byte = bytes[offset]
        offset += 1
        return byte
    }

    static func readBigEndian(_ bytes: ArraySlice<UInt8>, at offset: inout Int, count: Int) throws(DecodeError) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<count {
            let byte = try readByte(bytes, at: &offset)
            value = value << 8 | UInt64(byte)
        }
        return value
    }

    /// The inverse of `appendEscaped`: bytes up to the terminator 0x00 0x01, with 0x00 0xFF read
    /// as 0x00. Work is bounded by the input's length.
    static func decodeEscaped(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(DecodeError) -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let byte = try readByte(bytes, at: &offset)
            if byte != 0x00 {
                out.append(byte)
                continue
            }
            let escapeOffset = offset
            switch try readByte(bytes, at: &offset) {
            case 0xFF: out.append(0x00)
            case 0x01: return out
            default: throw DecodeError(.invalidEscape, at: escapeOffset)
            }
        }
    }

    /// The inverse of `appendNumber`. A negative number's bytes after the tag are the complement
    /// of the positive form's, so XOR with `mask` recovers the positive form.
    static func decodeNumber(_ bytes: ArraySlice<UInt8>, at offset: inout Int) throws(DecodeError) -> DynamoNumber {
        let start = offset
        let mask: UInt8
        switch try readByte(bytes, at: &offset) {
        case 0x02: return .zero
        case 0x03: mask = 0x00
        case 0x01: mask = 0xFF
        default: throw DecodeError(.invalidNumberTag, at: start)
        }
        let storedExponent = try readBigEndian(bytes, at: &offset, count: 2)
        let biased = storedExponent ^ UInt64(mask) * 0x0101
        var digits: [UInt8] = []
        while true {
            let digitOffset = offset
            let stored = try readByte(bytes, at: &offset) ^ mask
            if stored == 0x00 { break }
            guard stored <= 10 else { throw DecodeError(.invalidDigit, at: digitOffset) }
            // Stop at the first digit past DynamoDB's precision rather than collect a long run.
            guard digits.count < DynamoNumber.maxSignificantDigits else { throw DecodeError(.numberOutOfRange, at: digitOffset) }
            digits.append(stored - 1)
        }
        guard let first = digits.first, let last = digits.last, first != 0, last != 0 else {
            throw DecodeError(.nonCanonicalNumber, at: start)
        }
        let number = DynamoNumber(isNegative: mask == 0xFF, digits: digits, exponent: Int(biased) - 0x8000)
        do {
            try number.validateRange()
        } catch {
            throw DecodeError(.numberOutOfRange, at: start)
        }
        return number
    }
}
