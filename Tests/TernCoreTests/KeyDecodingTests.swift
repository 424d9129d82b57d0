import XCTest
@testable import TernCore

final class KeyDecodingTests: XCTestCase {
    typealias Reason = KeyEncoding.DecodeError.Reason

    private func encode(_ value: AttributeValue) -> [UInt8] {
        var out: [UInt8] = []
        KeyEncoding.appendComponent(value, to: &out)
        return out
    }

    private func type(of value: AttributeValue) -> ScalarAttributeType {
        switch value {
        case .s: return .string
        case .b: return .binary
        default: return .number
        }
    }

    /// Asserts that `body` throws a DecodeError for `reason` (at `offset`, when given).
    private func assertDecodeError<T>(
        _ reason: Reason, at offset: Int? = nil,
        file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> T
    ) {
        do {
            let value = try body()
            XCTFail("expected \(reason); decoded \(value)", file: file, line: line)
        } catch let error as KeyEncoding.DecodeError {
            XCTAssertEqual(error.reason, reason, "reason", file: file, line: line)
            if let offset { XCTAssertEqual(error.offset, offset, "offset", file: file, line: line) }
        } catch {
            XCTFail("expected KeyEncoding.DecodeError, got \(error)", file: file, line: line)
        }
    }

    private func decodeString(_ bytes: [UInt8]) throws(KeyEncoding.DecodeError) -> AttributeValue {
        var offset = 0
        return try KeyEncoding.decodeComponent(bytes, at: &offset, type: .string)
    }

    private func decodeNumber(_ bytes: [UInt8]) throws(KeyEncoding.DecodeError) -> AttributeValue {
        var offset = 0
        return try KeyEncoding.decodeComponent(bytes, at: &offset, type: .number)
    }

    /// A whole storage key for a table with these key values.
    private func storageKey(_ table: UInt32, _ partition: AttributeValue, _ sort: AttributeValue? = nil) -> [UInt8] {
        KeyEncoding.itemKey(tableId: table, partitionKey: partition, sortKey: sort)
    }

    // MARK: Round trips of chosen values

    static let chosenStrings: [String] = [
        "a", "user#1", "\u{0}", "\u{0}\u{0}", "a\u{0}b", "\u{0}a\u{0}", "\u{1}", "\u{7F}", "é", "ÿ", "€", "😀",
        "\u{FFFF}", "\u{10FFFF}", "日本語のキー", "e\u{301}", String(repeating: "x\u{0}", count: 500),
    ]

    static let chosenBinaries: [[UInt8]] = [
        [0x00], [0xFF], [0x00, 0xFF], [0xFF, 0x00], [0x00, 0x01], [0x00, 0x00, 0x01], [0x01], [0x00, 0xFF, 0x01],
        [0xFF, 0xFF, 0xFF], Array(0...255), Array((0...255).reversed()), [UInt8](repeating: 0, count: 1024),
    ]

    static let chosenNumbers: [String] = [
        "0", "1", "-1", "2", "10", "-10", "100", "-1000000", "0.5", "-0.05", "123.456", "-123.456",
        "12345678901234567890123456789012345678", "-12345678901234567890123456789012345678",
        "99999999999999999999999999999999999999", "0.00000000000000000000000000000000000001",
        "1E-130", "-1E-130", "9.99E+125", "-9.99E+125", "9.9999999999999999999999999999999999999E+125",
        "-9.9999999999999999999999999999999999999E+125", "1E+125", "1.5E-129", "3.14159", "-2.718281828",
    ]

    static var chosenValues: [AttributeValue] {
        chosenStrings.map { .s($0) } + chosenBinaries.map { .b($0) } + chosenNumbers.map { .n(num($0)) }
    }

    func testTableIdIsReadFromTheFirstFourBytes() {
        for id: UInt32 in [0, 1, 7, 0xA1B2_C3D4, .max] {
            XCTAssertEqual(KeyEncoding.tableId(ofKey: KeyEncoding.tablePrefix(id) + [9, 9]), id)
        }
        XCTAssertNil(KeyEncoding.tableId(ofKey: [0, 0, 1]), "shorter than a table id")
    }

    func testComponentRoundTripOfChosenValues() throws {
        for value in KeyDecodingTests.chosenValues {
            let bytes = encode(value)
            var offset = 0
            XCTAssertEqual(try KeyEncoding.decodeComponent(bytes, at: &offset, type: type(of: value)), value)
            XCTAssertEqual(offset, bytes.count, "the whole component is consumed: \(value)")
        }
    }

    func testComponentDecodingStopsAtItsEndInsideLongerBytes() throws {
        // A component followed by another: decoding reads exactly its bytes, also from a slice
        // whose indices do not start at zero.
        let values = KeyDecodingTests.chosenValues
        for (index, value) in values.enumerated() {
            let next = values[(index * 7 + 3) % values.count]
            let lead: [UInt8] = [0xAA, 0x00, 0x01]
            let whole = lead + encode(value) + encode(next)
            let slice = whole[lead.count...]
            var offset = slice.startIndex
            XCTAssertEqual(try KeyEncoding.decodeComponent(slice, at: &offset, type: type(of: value)), value)
            XCTAssertEqual(offset, lead.count + encode(value).count)
            XCTAssertEqual(try KeyEncoding.decodeComponent(slice, at: &offset, type: type(of: next)), next)
            XCTAssertEqual(offset, whole.endIndex)
        }
    }

    func testEmptyStringAndBinaryComponentsDecodeButAreNotKeyValues() throws {
        var offset = 0
        XCTAssertEqual(try KeyEncoding.decodeComponent([0x00, 0x01], at: &offset, type: .string), .s(""))
        offset = 0
        XCTAssertEqual(try KeyEncoding.decodeComponent([0x00, 0x01], at: &offset, type: .binary), .b([]))
        let prefixLength = 12
        assertDecodeError(.emptyKeyValue, at: prefixLength) {
            try KeyEncoding.decodeItemKey(storageKey(3, .s("")), partitionType: .string, sortType: nil)
        }
        let withEmptySort = storageKey(3, .b([1]), .b([]))
        assertDecodeError(.emptyKeyValue, at: withEmptySort.count - 2) {
            try KeyEncoding.decodeItemKey(withEmptySort, partitionType: .binary, sortType: .binary)
        }
    }

    func testItemKeyRoundTripOfChosenValues() throws {
        let values = KeyDecodingTests.chosenValues
        for (index, partition) in values.enumerated() {
            let sort = values[(index * 5 + 1) % values.count]
            for table in [UInt32(0), 7, 0xA1B2_C3D4, UInt32.max] {
                let key = storageKey(table, partition, sort)
                let decoded = try KeyEncoding.decodeItemKey(key, partitionType: type(of: partition), sortType: type(of: sort))
                XCTAssertEqual(decoded.tableId, table)
                XCTAssertEqual(decoded.token, TokenHash.token(of: partition))
                XCTAssertEqual(decoded.partition, partition)
                XCTAssertEqual(decoded.sort, sort)
                let hashOnly = try KeyEncoding.decodeItemKey(storageKey(table, partition), partitionType: type(of: partition), sortType: nil)
                XCTAssertEqual(hashOnly.partition, partition)
                XCTAssertNil(hashOnly.sort)
            }
        }
    }

    func testNumbersDecodeToTheirNormalisedValue() throws {
        // Spellings that normalise alike share one encoding, so they decode to one value.
        for (text, canonical) in [("1.0", "1"), ("-0.0", "0"), ("1e2", "100"), ("00012.3400", "12.34"), ("-5E-3", "-0.005")] {
            let decoded = try decodeNumber(encode(.n(num(text))))
            guard case .n(let number) = decoded else { return XCTFail("\(decoded) is not a number") }
            XCTAssertEqual(number.description, canonical)
        }
    }

    // MARK: Seeded property test

    static func randomKeyValue(_ type: ScalarAttributeType, _ rng: inout SplitMix64) -> AttributeValue {
        switch type {
        case .string:
            let text = KeyEncodingTests.randomString(&rng)
            return .s(text.isEmpty ? "k" : text)
        case .binary:
            let bytes = KeyEncodingTests.randomBytes(&rng)
            return .b(bytes.isEmpty ? [0] : bytes)
        case .number:
            return .n(RefNumber.random(&rng).dynamo)
        }
    }

    static let typeCombinations: [(ScalarAttributeType, ScalarAttributeType?)] =
        ScalarAttributeType.allCases.flatMap { p in ([nil] + ScalarAttributeType.allCases).map { (p, $0) } }

    func testRandomKeysOfEveryTypeCombinationRoundTrip() throws {
        var rng = SplitMix64(seed: 0xDEC0_0001)
        XCTAssertEqual(KeyDecodingTests.typeCombinations.count, 12)
        for (partitionType, sortType) in KeyDecodingTests.typeCombinations {
            for _ in 0..<1_500 {
                let table = UInt32(truncatingIfNeeded: rng.next())
                let partition = KeyDecodingTests.randomKeyValue(partitionType, &rng)
                let sort = sortType.map { KeyDecodingTests.randomKeyValue($0, &rng) }
                let key = storageKey(table, partition, sort)
                let decoded = try KeyEncoding.decodeItemKey(key, partitionType: partitionType, sortType: sortType)
                XCTAssertEqual(decoded.tableId, table)
                XCTAssertEqual(decoded.token, TokenHash.token(of: partition))
                XCTAssertEqual(decoded.partition, partition, "key \(hex(key))")
                XCTAssertEqual(decoded.sort, sort, "key \(hex(key))")
                XCTAssertEqual(storageKey(decoded.tableId, decoded.partition, decoded.sort), key)
            }
        }
    }

    // MARK: Malformed keys

    func testEveryTruncationOfAKeyThrowsTruncated() {
        let keys: [([UInt8], ScalarAttributeType, ScalarAttributeType?)] = [
            (storageKey(9, .s("a\u{0}b"), .n(num("-12.5"))), .string, .number),
            (storageKey(9, .n(num("12.5")), .b([0, 0xFF, 0])), .number, .binary),
            (storageKey(9, .b([0xFF]), .s("é")), .binary, .string),
            (storageKey(9, .n(num("-7"))), .number, nil),
        ]
        for (key, partitionType, sortType) in keys {
            for length in 0..<key.count {
                assertDecodeError(.truncated, at: length) {
                    try KeyEncoding.decodeItemKey(Array(key[0..<length]), partitionType: partitionType, sortType: sortType)
                }
            }
        }
    }

    func testBadTerminatorIsAnInvalidEscape() {
        // 0x00 must be followed by 0xFF (an escaped zero byte) or 0x01 (the end).
        for follower: UInt8 in [0x00, 0x02, 0x7F, 0xFE] {
            assertDecodeError(.invalidEscape, at: 2) { try decodeString([0x61, 0x00, follower, 0x00, 0x01]) }
            var offset = 0
            assertDecodeError(.invalidEscape, at: 1) {
                try KeyEncoding.decodeComponent([0x00, follower], at: &offset, type: .binary)
            }
        }
        assertDecodeError(.truncated, at: 3) { try decodeString([0x61, 0x62, 0x00]) }
        assertDecodeError(.truncated, at: 2) { try decodeString([0x61, 0x62]) }
    }

    func testWrongTypeTagIsRejected() {
        for tag: UInt8 in [0x00, 0x04, 0x61, 0xFF] {
            assertDecodeError(.invalidNumberTag, at: 0) { try decodeNumber([tag, 0x80, 0x01, 0x02, 0x00]) }
        }
        // A key whose partition is a string, decoded as a table with a numeric partition key.
        assertDecodeError(.invalidNumberTag, at: 12) {
            try KeyEncoding.decodeItemKey(storageKey(1, .s("abc")), partitionType: .number, sortType: nil)
        }
    }

    func testTrailingBytesAreRejected() {
        let key = storageKey(1, .s("p"), .n(num("3")))
        assertDecodeError(.trailingBytes, at: key.count) {
            try KeyEncoding.decodeItemKey(key + [0x00], partitionType: .string, sortType: .number)
        }
        // A composite key read as a hash-only table's key leaves its sort component over.
        assertDecodeError(.trailingBytes, at: storageKey(1, .s("p")).count) {
            try KeyEncoding.decodeItemKey(key, partitionType: .string, sortType: nil)
        }
    }

    func testInvalidUTF8IsRejected() {
        let invalid: [[UInt8]] = [
            [0xFF], [0xC3, 0x28], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80],
            [0x61, 0xFE, 0x62],
        ]
        for raw in invalid {
            var escaped: [UInt8] = []
            KeyEncoding.appendEscaped(raw, to: &escaped)
            assertDecodeError(.invalidUTF8, at: 0) { try decodeString(escaped) }
            var offset = 0
            XCTAssertEqual(try KeyEncoding.decodeComponent(escaped, at: &offset, type: .binary), .b(raw), "the same bytes are a valid B")
            let key = KeyEncoding.tablePrefix(1) + [UInt8](repeating: 0, count: 8) + escaped
            assertDecodeError(.invalidUTF8, at: 12) {
                try KeyEncoding.decodeItemKey(key, partitionType: .string, sortType: nil)
            }
        }
    }

    func testTokenThatDoesNotMatchThePartitionIsRejected() {
        let key = storageKey(1, .s("p"))
        for index in 4..<12 {
            var corrupt = key
            corrupt[index] ^= 0x01
            assertDecodeError(.tokenMismatch, at: 4) {
                try KeyEncoding.decodeItemKey(corrupt, partitionType: .string, sortType: nil)
            }
        }
    }

    func testMalformedNumbersAreRejected() {
        // Positive forms, then the same bytes complemented after the tag (negative forms).
        let cases: [([UInt8], Reason)] = [
            ([0x80, 0x01, 0x00], .nonCanonicalNumber),              // no digits
            ([0x80, 0x01, 0x01, 0x02, 0x00], .nonCanonicalNumber),  // leading zero digit
            ([0x80, 0x01, 0x02, 0x01, 0x00], .nonCanonicalNumber),  // trailing zero digit
            ([0x80, 0x01, 0x02, 0x0B, 0x00], .invalidDigit),
            ([0x80, 0x01, 0x02, 0xF0, 0x00], .invalidDigit),
            ([0x80, 0x7F, 0x02, 0x00], .numberOutOfRange),          // 0.1E+127 = 1E+126
            ([0x7F, 0x7E, 0x02, 0x00], .numberOutOfRange),          // 0.1E-130 = 1E-131
            ([0xFF, 0xFF, 0x02, 0x00], .numberOutOfRange),
            ([0x00, 0x00, 0x02, 0x00], .numberOutOfRange),
            ([0x80, 0x01] + [UInt8](repeating: 0x02, count: 39) + [0x00], .numberOutOfRange),
            ([0x80, 0x01, 0x02], .truncated),
            ([0x80], .truncated),
        ]
        for (body, reason) in cases {
            assertDecodeError(reason) { try decodeNumber([0x03] + body) }
            assertDecodeError(reason) { try decodeNumber([0x01] + body.map { ~$0 }) }
        }
        // The limits themselves decode.
        XCTAssertEqual(try decodeNumber([0x03, 0x80, 0x7E, 0x02, 0x00]), .n(num("1E+125")))
        XCTAssertEqual(try decodeNumber([0x03, 0x7F, 0x7F, 0x02, 0x00]), .n(num("1E-130")))
        XCTAssertEqual(try decodeNumber([0x03, 0x80, 0x26] + [UInt8](repeating: 0x02, count: 38) + [0x00]),
                       .n(num(String(repeating: "1", count: 38))))
    }

    func testTableDefinitionRebuildsTheKeyFromAStorageKey() throws {
        let table = TableDefinitionTests.table()
        let stored = item([("pk", .s("user#1")), ("sk", .n(num("-4.5"))), ("payload", .s("x"))])
        let key = try table.primaryKey(ofItem: stored)
        let bytes = table.storageKey(key)
        XCTAssertEqual(try table.primaryKey(fromStorageKey: bytes), key)
        XCTAssertEqual(try table.keyMap(fromStorageKey: bytes), table.keyMap(of: stored))
        XCTAssertEqual(try table.keyMap(fromStorageKey: bytes), item([("pk", .s("user#1")), ("sk", .n(num("-4.5")))]))

        let hashOnly = TableDefinitionTests.table(sortKey: nil, pkType: .binary)
        let blobKey = PrimaryKey(partition: .b([0, 1, 0xFF]), sort: nil)
        XCTAssertEqual(try hashOnly.keyMap(fromStorageKey: hashOnly.storageKey(blobKey)), item([("pk", .b([0, 1, 0xFF]))]))

        var otherTable = table
        otherTable.tableId += 1
        assertDecodeError(.wrongTable, at: 0) { try otherTable.primaryKey(fromStorageKey: bytes) }
        assertDecodeError(.trailingBytes) { try hashOnly.primaryKey(fromStorageKey: table.storageKey(PrimaryKey(partition: .b([1]), sort: .n(num("1"))))) }
    }

    // MARK: Fuzz

    /// Random bytes, weighted towards the bytes the encodings give meaning to.
    static func fuzzBytes(_ rng: inout SplitMix64) -> [UInt8] {
        (0..<rng.below(40)).map { _ in rng.oneIn(2) ? rng.pick([0x00, 0x01, 0x02, 0x03, 0x0A, 0x0B, 0x7F, 0x80, 0xF5, 0xFE, 0xFF]) : rng.byte() }
    }

    /// A valid key with one random mutation: a byte changed, inserted or removed, or a cut.
    static func mutatedKey(_ rng: inout SplitMix64, _ partitionType: ScalarAttributeType, _ sortType: ScalarAttributeType?) -> [UInt8] {
        let partition = randomKeyValue(partitionType, &rng)
        var key = KeyEncoding.itemKey(tableId: UInt32(rng.below(4)), partitionKey: partition, sortKey: sortType.map { randomKeyValue($0, &rng) })
        let index = rng.below(key.count)
        switch rng.below(4) {
        case 0: key[index] = rng.oneIn(2) ? rng.byte() : key[index] ^ (1 << UInt8(rng.below(8)))
        case 1: key.insert(rng.pick([0x00, 0x01, 0xFF, rng.byte()]), at: index)
        case 2: key.remove(at: index)
        default: key.removeLast(key.count - index)
        }
        return key
    }

    /// Any input either throws a DecodeError pointing inside it, or decodes to a key that
    /// re-encodes to exactly the same bytes (the decoder accepts only canonical encodings).
    func testFuzzedKeysThrowOrReencodeExactly() {
        var rng = SplitMix64(seed: 0xF0_22ED)
        var decodedCount = 0
        var reasons: [String: Int] = [:]
        for round in 0..<60_000 {
            let (partitionType, sortType) = KeyDecodingTests.typeCombinations[round % KeyDecodingTests.typeCombinations.count]
            let input: [UInt8]
            switch rng.below(3) {
            case 0: input = KeyDecodingTests.fuzzBytes(&rng)
            case 1: input = [0, 0, 0, 1] + rng.bytes(8) + KeyDecodingTests.fuzzBytes(&rng)
            default: input = KeyDecodingTests.mutatedKey(&rng, partitionType, sortType)
            }
            do {
                let decoded = try KeyEncoding.decodeItemKey(input, partitionType: partitionType, sortType: sortType)
                decodedCount += 1
                XCTAssertEqual(storageKey(decoded.tableId, decoded.partition, decoded.sort), input, "\(hex(input)) decoded to \(decoded)")
            } catch {
                reasons["\(error.reason)", default: 0] += 1
                XCTAssertTrue((0...input.count).contains(error.offset), "\(error) for \(hex(input))")
            }
        }
        // The fuzz reaches both outcomes and many kinds of rejection.
        XCTAssertGreaterThan(decodedCount, 1_000)
        XCTAssertGreaterThanOrEqual(reasons.count, 8, "\(reasons)")
    }

    func testFuzzedComponentsThrowOrReencodeExactly() {
        var rng = SplitMix64(seed: 0xC0_3E0F)
        for _ in 0..<60_000 {
            let type = rng.pick(ScalarAttributeType.allCases)
            let input = KeyDecodingTests.fuzzBytes(&rng)
            var offset = 0
            do {
                let value = try KeyEncoding.decodeComponent(input, at: &offset, type: type)
                XCTAssertEqual(encode(value), Array(input[0..<offset]), "\(hex(input)) as \(type)")
            } catch {
                XCTAssertTrue((0...input.count).contains(error.offset), "\(error) for \(hex(input))")
            }
        }
    }
}
