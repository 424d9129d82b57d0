import XCTest
@testable import TernCore

final class KeyEncodingTests: XCTestCase {
    private func encode(_ value: AttributeValue) -> [UInt8] {
        var out: [UInt8] = []
        KeyEncoding.appendComponent(value, to: &out)
        return out
    }

    private func isPrefix(_ a: [UInt8], of b: [UInt8]) -> Bool {
        a.count <= b.count && Array(b[0..<a.count]) == a
    }

    /// -1, 0, 1 for byte-wise order.
    private func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a == b { return 0 }
        return a.lexicographicallyPrecedes(b) ? -1 : 1
    }

    // MARK: Random values

    static let stringPool: [String] = ["a", "b", "z", "A", "0", "\u{0}", "\u{1}", "\u{7F}", "\u{80}", "é", "ÿ", "€", "😀", "\u{FFFF}", "\u{10FFFF}", "#"]

    static func randomString(_ rng: inout SplitMix64) -> String {
        (0..<rng.below(7)).map { _ in rng.pick(stringPool) }.joined()
    }

    static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        (0..<rng.below(7)).map { _ in rng.oneIn(2) ? rng.pick([0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF]) : rng.byte() }
    }

    /// A pair of related values (equal, prefix, extension, one byte changed) or independent ones.
    static func relatedPair<T>(_ rng: inout SplitMix64, random: (inout SplitMix64) -> [T]) -> ([T], [T]) {
        let a = random(&rng)
        switch rng.below(5) {
        case 0: return (a, a)
        case 1: return (a, a + random(&rng))
        case 2: return (a + random(&rng), a)
        case 3 where !a.isEmpty:
            var b = a
            b.removeLast()
            return rng.bool() ? (a, b) : (b, a)
        default: return (a, random(&rng))
        }
    }

    // MARK: Order

    func testStringOrderIsUTF8ByteOrder() {
        var rng = SplitMix64(seed: 0x5_0001)
        for _ in 0..<20_000 {
            let (a, b) = KeyEncodingTests.relatedPair(&rng) { rng in Array(KeyEncodingTests.randomString(&rng).utf8) }
            let sa = String(decoding: a, as: UTF8.self)
            let sb = String(decoding: b, as: UTF8.self)
            let ea = encode(.s(sa))
            let eb = encode(.s(sb))
            // (Dropping a byte may cut a scalar; compare the bytes of the strings actually encoded.)
            XCTAssertEqual(compareBytes(ea, eb), compareBytes(Array(sa.utf8), Array(sb.utf8)), "\(sa.debugDescription) vs \(sb.debugDescription)")
            if Array(sa.utf8) != Array(sb.utf8) {
                XCTAssertFalse(isPrefix(ea, of: eb) || isPrefix(eb, of: ea), "prefix: \(sa.debugDescription) vs \(sb.debugDescription)")
            }
        }
    }

    func testBinaryOrderIsByteOrder() {
        var rng = SplitMix64(seed: 0xB_0001)
        for _ in 0..<20_000 {
            let (a, b) = KeyEncodingTests.relatedPair(&rng, random: KeyEncodingTests.randomBytes)
            let ea = encode(.b(a))
            let eb = encode(.b(b))
            XCTAssertEqual(compareBytes(ea, eb), compareBytes(a, b), "\(hex(a)) vs \(hex(b))")
            if a != b {
                XCTAssertFalse(isPrefix(ea, of: eb) || isPrefix(eb, of: ea), "prefix: \(hex(a)) vs \(hex(b))")
            }
        }
    }

    func testNumberOrderIsNumericOrder() {
        var rng = SplitMix64(seed: 0x4E_0001)
        var refs: [RefNumber] = (0..<800).map { _ in RefNumber.random(&rng) }
        // Values that differ only in the last place, in sign, or that extend another's digits.
        for i in 0..<200 {
            var r = refs[i]
            guard !r.isZero else { continue }
            switch i % 3 {
            case 0: r.negative.toggle()
            case 1 where r.digits.count < 38: r.digits.append(UInt8(ascii: "0") + UInt8(rng.int(1...9)))
            default: r.sci = max(-130, min(125, r.sci + rng.pick([-1, 1])))
            }
            refs.append(r)
        }
        refs += ["0", "1", "-1", "1e125", "-1e125", "1e-130", "-1e-130", "9.9999999999999999999999999999999999999e125",
                 "-9.9999999999999999999999999999999999999e125", "10", "-10", "0.1", "-0.1", "2", "11"].map { text in
            let n = num(text)
            return RefNumber(negative: n.isNegative, digits: n.digits.map { $0 + UInt8(ascii: "0") }, sci: n.exponent - 1)
        }
        // Each reference under two spellings, so that equal numbers written differently meet.
        let values = refs.map { num($0.randomSpelling(&rng)) }
        let encodings = values.map { encode(.n($0)) }
        for i in refs.indices {
            XCTAssertEqual(values[i].description, refs[i].description)
            XCTAssertEqual(encode(.n(num(refs[i].randomSpelling(&rng)))), encodings[i], "spellings of \(refs[i]) encode alike")
            for j in refs.indices where j % 3 == i % 3 || j < 40 {
                let expected = RefNumber.compare(refs[i], refs[j])
                XCTAssertEqual(compareBytes(encodings[i], encodings[j]), expected, "\(refs[i]) vs \(refs[j])")
                if expected != 0 {
                    XCTAssertFalse(isPrefix(encodings[i], of: encodings[j]), "prefix: \(refs[i]) vs \(refs[j])")
                }
            }
        }
        // Sorting by encoding sorts numerically.
        let byEncoding = refs.indices.sorted { encodings[$0].lexicographicallyPrecedes(encodings[$1]) }
        for (x, y) in zip(byEncoding, byEncoding.dropFirst()) {
            XCTAssertLessThanOrEqual(RefNumber.compare(refs[x], refs[y]), 0)
        }
    }

    func testNumberEncodingLayout() {
        XCTAssertEqual(encode(.n(.zero)), [0x02])
        // 1 = 0.1 × 10^1: exponent 1 + 0x8000 = 0x8001; digit 1 → 2; terminator 0.
        XCTAssertEqual(encode(.n(num("1"))), [0x03, 0x80, 0x01, 0x02, 0x00])
        XCTAssertEqual(encode(.n(num("-1"))), [0x01, 0x7F, 0xFE, 0xFD, 0xFF])
        XCTAssertEqual(encode(.n(num("0.05"))), [0x03, 0x7F, 0xFF, 0x06, 0x00])
        XCTAssertEqual(encode(.n(num("120"))), [0x03, 0x80, 0x03, 0x02, 0x03, 0x00])
    }

    func testStringAndBinaryEscaping() {
        XCTAssertEqual(encode(.s("")), [0x00, 0x01])
        XCTAssertEqual(encode(.s("ab")), [0x61, 0x62, 0x00, 0x01])
        XCTAssertEqual(encode(.s("a\u{0}b")), [0x61, 0x00, 0xFF, 0x62, 0x00, 0x01])
        XCTAssertEqual(encode(.b([0x00, 0xFF])), [0x00, 0xFF, 0xFF, 0x00, 0x01])
        XCTAssertEqual(encode(.b([])), [0x00, 0x01])
    }

    func testCompositeKeysOrderByPartitionThenSort() {
        // The partition component is prefix-free, so a concatenated key orders by partition first.
        var rng = SplitMix64(seed: 0xC0_0001)
        for _ in 0..<5_000 {
            let (p1, p2) = KeyEncodingTests.relatedPair(&rng, random: KeyEncodingTests.randomBytes)
            let (s1, s2) = KeyEncodingTests.relatedPair(&rng) { rng in Array(KeyEncodingTests.randomString(&rng).utf8) }
            let t1 = String(decoding: s1, as: UTF8.self)
            let t2 = String(decoding: s2, as: UTF8.self)
            let k1 = encode(.b(p1)) + encode(.s(t1))
            let k2 = encode(.b(p2)) + encode(.s(t2))
            let expected = p1 != p2 ? compareBytes(p1, p2) : compareBytes(Array(t1.utf8), Array(t2.utf8))
            XCTAssertEqual(compareBytes(k1, k2), expected, "(\(hex(p1)), \(hex(s1))) vs (\(hex(p2)), \(hex(s2)))")
        }
    }

    // MARK: Layout

    func testTablePrefixIsBigEndian() {
        XCTAssertEqual(KeyEncoding.tablePrefix(0), [0, 0, 0, 0])
        XCTAssertEqual(KeyEncoding.tablePrefix(0x0102_0304), [1, 2, 3, 4])
        XCTAssertEqual(KeyEncoding.tablePrefix(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(KeyEncoding.tableEnd(7), [0, 0, 0, 8])
        XCTAssertEqual(KeyEncoding.tableEnd(0x00FF_FFFF), [1, 0, 0, 0])
        XCTAssertEqual(KeyEncoding.tableIdBytes, 4)
    }

    func testPartitionPrefixAndItemKeyLayout() {
        let pk = AttributeValue.s("user#1")
        let sk = AttributeValue.n(num("42"))
        let prefix = KeyEncoding.partitionPrefix(tableId: 0xA1B2_C3D4, partitionKey: pk)
        let token = TokenHash.token(of: pk)
        let tokenBytes = (0..<8).map { UInt8(truncatingIfNeeded: token >> UInt64(56 - 8 * $0)) }
        XCTAssertEqual(Array(prefix[0..<4]), [0xA1, 0xB2, 0xC3, 0xD4])
        XCTAssertEqual(Array(prefix[4..<12]), tokenBytes)
        XCTAssertEqual(Array(prefix[12...]), encode(pk))
        XCTAssertEqual(hex(Array(prefix[4..<12])), "c49cce505aa1e7c6", "token bytes are big-endian (see TokenHashTests)")

        let key = KeyEncoding.itemKey(tableId: 0xA1B2_C3D4, partitionKey: pk, sortKey: sk)
        XCTAssertEqual(key, prefix + encode(sk))
        XCTAssertEqual(KeyEncoding.itemKey(tableId: 0xA1B2_C3D4, partitionKey: pk, sortKey: nil), prefix)
        XCTAssertEqual(KeyEncoding.partitionPrefix(tableId: 1, partitionKey: .n(num("1.0"))),
                       KeyEncoding.partitionPrefix(tableId: 1, partitionKey: .n(num("1"))))
    }

    func testPartitionsAreContiguousRanges() {
        // Every item key of a partition lies in [partitionPrefix, prefixEnd(partitionPrefix)); no
        // key of another partition or table does.
        var rng = SplitMix64(seed: 0x9A_0001)
        let partitions: [AttributeValue] = (0..<30).map { i in
            switch i % 3 {
            case 0: return .s(KeyEncodingTests.randomString(&rng))
            case 1: return .b(KeyEncodingTests.randomBytes(&rng))
            default: return .n(RefNumber.random(&rng).dynamo)
            }
        } + [.s(""), .s("\u{0}"), .b([0xFF]), .b([0xFF, 0xFF])]
        for table in [UInt32(0), 1, 0xFFFF_FFFE] {
            for (i, p) in partitions.enumerated() {
                let start = KeyEncoding.partitionPrefix(tableId: table, partitionKey: p)
                let end = KeyEncoding.prefixEnd(start)
                XCTAssertTrue(start.lexicographicallyPrecedes(end))
                for _ in 0..<5 {
                    let sort: AttributeValue = rng.bool() ? .s(KeyEncodingTests.randomString(&rng)) : .b(KeyEncodingTests.randomBytes(&rng))
                    let own = KeyEncoding.itemKey(tableId: table, partitionKey: p, sortKey: sort)
                    XCTAssertFalse(own.lexicographicallyPrecedes(start))
                    XCTAssertTrue(own.lexicographicallyPrecedes(end))
                    XCTAssertTrue(own.lexicographicallyPrecedes(KeyEncoding.tableEnd(table)))
                    XCTAssertFalse(own.lexicographicallyPrecedes(KeyEncoding.tablePrefix(table)))
                    let other = partitions[(i + 1 + rng.below(partitions.count - 1)) % partitions.count]
                    if other == p { continue }
                    for otherTable in [table, table &+ 1] where otherTable != UInt32.max {
                        let foreign = KeyEncoding.itemKey(tableId: otherTable, partitionKey: other, sortKey: sort)
                        let inside = !foreign.lexicographicallyPrecedes(start) && foreign.lexicographicallyPrecedes(end)
                        XCTAssertFalse(inside, "key of \(other) in table \(otherTable) inside the range of \(p) in table \(table)")
                    }
                }
            }
        }
    }

    func testPrefixEnd() {
        XCTAssertEqual(KeyEncoding.prefixEnd([1, 2, 3]), [1, 2, 4])
        XCTAssertEqual(KeyEncoding.prefixEnd([1, 0xFF]), [2])
        XCTAssertEqual(KeyEncoding.prefixEnd([1, 0xFE, 0xFF, 0xFF]), [1, 0xFF])
        XCTAssertEqual(KeyEncoding.prefixEnd([0]), [1])
        XCTAssertEqual(KeyEncoding.prefixEnd(KeyEncoding.tablePrefix(5)), KeyEncoding.tableEnd(5))
        var rng = SplitMix64(seed: 0xE_0001)
        for _ in 0..<2_000 {
            let prefix = KeyEncodingTests.randomBytes(&rng) + [rng.byte() & 0x7F]
            let end = KeyEncoding.prefixEnd(prefix)
            XCTAssertTrue(prefix.lexicographicallyPrecedes(end))
            let extended = prefix + KeyEncodingTests.randomBytes(&rng) + [0xFF, 0xFF]
            XCTAssertTrue(extended.lexicographicallyPrecedes(end), "\(hex(extended)) < end of \(hex(prefix))")
            // And it is the least such key: anything below `end` that is not an extension is below `prefix`.
            XCTAssertFalse(isPrefix(prefix, of: end))
        }
    }

    /// Every prefix Tern scans starts with a table id below UInt32.max, so it always holds a byte
    /// below 0xFF; prefixEnd requires that (an all-0xFF prefix has no finite upper bound).
    func testPrefixEndOfPrefixEndingInOnes() {
        XCTAssertEqual(KeyEncoding.prefixEnd([0x01, 0xFF, 0xFF]), [0x02])
        XCTAssertEqual(KeyEncoding.prefixEnd([0x00, 0x00, 0x00, 0x07, 0xFF]), [0x00, 0x00, 0x00, 0x08])
        let key: [UInt8] = [0x01, 0xFF, 0xFF] + [UInt8](repeating: 0xFF, count: 10)
        XCTAssertTrue(key.lexicographicallyPrecedes(KeyEncoding.prefixEnd([0x01, 0xFF, 0xFF])))
    }
}
