/// The order-preserving storage key (DESIGN.md §3):
///
///     tableId (4 bytes, big-endian) · token (8 bytes, big-endian) · partition key · [sort key]
///
/// Each key component is encoded so that byte-wise order equals DynamoDB's order for its type
/// and no encoding is a prefix of another:
/// - S and B: the bytes with 0x00 escaped as 0x00 0xFF, then the terminator 0x00 0x01.
/// - N: 0x02 for zero; positive 0x03 · (exponent + 0x8000, 2 bytes) · (digit + 1)* · 0x00;
///   negative 0x01 followed by the bitwise complement of the positive form's remaining bytes.
///
/// Consequences: one partition of one table is one contiguous key range (Query is a prefix scan,
/// handoff is a range copy), and within a partition items are in sort-key order.
public enum KeyEncoding {
    public static let tableIdBytes = 4
    public static let tokenBytes = 8

    public static func tablePrefix(_ tableId: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        appendBigEndian(tableId, to: &out)
        return out
    }

    /// `value`'s bytes, most significant first (the order keys sort in).
    static func appendBigEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        for shift in stride(from: T.bitWidth - 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    /// The first key after every key of `tableId`.
    public static func tableEnd(_ tableId: UInt32) -> [UInt8] {
        precondition(tableId < UInt32.max, "table ids are allocated below UInt32.max")
        return tablePrefix(tableId + 1)
    }

    /// The prefix shared by every item of one partition key.
    public static func partitionPrefix(tableId: UInt32, partitionKey: AttributeValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        appendBigEndian(tableId, to: &out)
        appendBigEndian(TokenHash.token(of: partitionKey), to: &out)
        appendComponent(partitionKey, to: &out)
        return out
    }

    public static func itemKey(tableId: UInt32, partitionKey: AttributeValue, sortKey: AttributeValue?) -> [UInt8] {
        var out = partitionPrefix(tableId: tableId, partitionKey: partitionKey)
        if let sortKey { appendComponent(sortKey, to: &out) }
        return out
    }

    public static func appendComponent(_ value: AttributeValue, to out: inout [UInt8]) {
        switch value {
        case .s(let text): appendEscaped(text.utf8, to: &out)
        case .b(let blob): appendEscaped(blob, to: &out)
        case .n(let number): appendNumber(number, to: &out)
        default: preconditionFailure("key attributes are S, N or B; validation runs before encoding: \(value.typeName)")
        }
    }

    /// The encoding of every S or B key component that starts with `value`: its escaped bytes
    /// without the terminator (Query's `begins_with` on a sort key is one prefix range).
    public static func appendPrefixComponent(_ value: AttributeValue, to out: inout [UInt8]) {
        switch value {
        case .s(let text): appendEscapedBody(text.utf8, to: &out)
        case .b(let blob): appendEscapedBody(blob, to: &out)
        default: preconditionFailure("begins_with applies to S and B keys; validation runs first: \(value.typeName)")
        }
    }

    static func appendEscapedBody<C: Sequence>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        for byte in bytes {
            out.append(byte)
            if byte == 0 { out.append(0xFF) }
        }
    }

    static func appendEscaped<C: Sequence>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        for byte in bytes {
            out.append(byte)
            if byte == 0 { out.append(0xFF) }
        }
        out.append(0x00)
        out.append(0x01)
    }

    static func appendNumber(_ number: DynamoNumber, to out: inout [UInt8]) {
        if number.isZero {
            out.append(0x02)
            return
        }
        let biased = UInt16(clamping: number.exponent + 0x8000)
        var body: [UInt8] = [UInt8(biased >> 8), UInt8(biased & 0xFF)]
        for digit in number.digits { body.append(digit + 1) }
        body.append(0x00)
        if number.isNegative {
            out.append(0x01)
            out.append(contentsOf: body.map { ~$0 })
        } else {
            out.append(0x03)
            out.append(contentsOf: body)
        }
    }

    /// The first key that is greater than every key starting with `prefix`.
    /// `prefix` must hold a byte below 0xFF (every Tern prefix starts with a table id below
    /// UInt32.max): an all-0xFF prefix has no finite upper bound.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xFF {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        preconditionFailure("prefixEnd of an all-0xFF prefix has no finite bound: \(prefix)")
    }
}
