import XCTest
@testable import TernCore

final class TokenHashTests: XCTestCase {
    // An independent implementation of the documented definition: FNV-1a 64 then MurmurHash3's fmix64.
    private func referenceFNV1a64(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 14_695_981_039_346_656_037  // FNV-1a 64 offset basis, 0xcbf29ce484222325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 1_099_511_628_211  // FNV prime 2^40 + 2^8 + 0xb3
        }
        return h
    }

    private func referenceFmix64(_ input: UInt64) -> UInt64 {
        var k = input
        k ^= k >> 33
        k = k &* 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k = k &* 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }

    private func reference(_ bytes: [UInt8]) -> UInt64 { referenceFmix64(referenceFNV1a64(bytes)) }

    func testFNVReferenceMatchesPublishedVectors() {
        // Published FNV-1a 64 test vectors (Fowler/Noll/Vo reference suite).
        XCTAssertEqual(referenceFNV1a64([]), 0xCBF2_9CE4_8422_2325)
        XCTAssertEqual(referenceFNV1a64(utf8("a")), 0xAF63_DC4C_8601_EC8C)
        XCTAssertEqual(referenceFNV1a64(utf8("foobar")), 0x8594_4171_F739_67E8)
    }

    func testHashMatchesDefinition() {
        var rng = SplitMix64(seed: 0x70_4E)
        for _ in 0..<2_000 {
            let bytes = rng.bytes(rng.below(64))
            XCTAssertEqual(TokenHash.hash(bytes), reference(bytes), hex(bytes))
            XCTAssertEqual(TokenHash.hash(bytes[...]), reference(bytes), "any collection of bytes")
        }
        XCTAssertEqual(TokenHash.fmix64(0), 0)
    }

    /// Regression vectors: stored data depends on these values forever.
    ///
    /// Derived independently of Tern: FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
    /// 0x100000001b3, xor-then-multiply per byte) followed by fmix64 (xor-shift 33, × 0xff51afd7ed558ccd,
    /// xor-shift 33, × 0xc4ceb9fe1a85ec53, xor-shift 33), all mod 2^64, computed with a short Python
    /// script and cross-checked with `reference(_:)` above. Tokens hash the type letter followed by
    /// the canonical bytes: "S"+UTF-8, "N"+normalised decimal text, "B"+raw bytes.
    func testFixedVectors() {
        let vectors: [(String, UInt64)] = [
            ("", 0xEFD0_1F60_BA99_2926),
            ("a", 0x82A2_A958_A9BE_CE5B),
            ("abc", 0x33EB_AF99_27CB_C5BD),
            ("tern", 0x65EE_6F41_A1D5_4595),
        ]
        for (text, expected) in vectors {
            XCTAssertEqual(hex64(TokenHash.hash(utf8(text))), hex64(expected), text.debugDescription)
            XCTAssertEqual(reference(utf8(text)), expected, "reference agrees for \(text.debugDescription)")
        }
        XCTAssertEqual(hex64(TokenHash.token(of: .s("user#1"))), "0xc49cce505aa1e7c6")  // hash("Suser#1")
        XCTAssertEqual(hex64(TokenHash.token(of: .n(num("1")))), "0xd77fa03e7f3b68f9")  // hash("N1")
        XCTAssertEqual(hex64(TokenHash.token(of: .b([0, 1, 2]))), "0x99bb71499caed127")  // hash("B\0\1\2")
        XCTAssertEqual(TokenHash.token(of: .s("user#1")), reference(utf8("Suser#1")))
    }

    /// Ring placement of numeric partition keys, pinned (issue 6, point 7). A number's token is
    /// the hash of "N" + its canonical text (`DynamoNumber.description`: plain decimal, no
    /// exponent, no superfluous zeros, "-" only for non-zero negatives), so a change to that
    /// formatting would move every numeric key on the ring: it must fail here.
    ///
    /// The tokens were computed outside Tern, by a short Python script: the canonical text from
    /// Python's `decimal` module (precision 100, `format(d.normalize(), "f")`, zero as "0"), then
    /// FNV-1a 64 and fmix64 as defined above; each is also checked against `reference(_:)`.
    func testNumericKeyTokensArePinned() {
        let zeros123 = String(repeating: "0", count: 123)
        let zeros129 = String(repeating: "0", count: 129)
        let vectors: [(input: String, canonical: String, token: UInt64)] = [
            // integers
            ("0", "0", 0xCFCB_0DBF_77B6_9A85),
            ("1", "1", 0xD77F_A03E_7F3B_68F9),
            ("-1", "-1", 0x7EFB_0703_C9E7_3067),
            ("42", "42", 0x16D9_0FB4_6C6F_4251),
            ("-42", "-42", 0x1856_AAA9_901E_595B),
            ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678", 0x99E5_7581_E28C_9A18),
            ("-99999999999999999999999999999999999999", "-99999999999999999999999999999999999999", 0xDECF_2D5D_6BFE_32BF),
            // decimals
            ("3.14", "3.14", 0x81DD_122B_F438_1BAA),
            ("-3.14", "-3.14", 0x733C_6F86_23B8_68A6),
            ("-0.001", "-0.001", 0x1302_6672_2ED6_2182),
            ("0.5", "0.5", 0x5D9D_C1AB_17AB_9487),
            ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678", 0xF674_8A23_22F4_3393),
            // exponent forms, down to the ends of DynamoDB's range
            ("1E+2", "100", 0x73CA_04DD_629D_D63C),
            ("1.5e-7", "0.00000015", 0x2F51_2005_79A3_A776),
            ("1E+125", "1" + String(repeating: "0", count: 125), 0x2A08_51DB_B8DF_0BBA),
            ("9.99E+125", "999" + zeros123, 0x4AB3_D54D_7579_C971),
            ("-9.99E+125", "-999" + zeros123, 0xB456_1A52_1B91_B09D),
            ("1E-130", "0." + zeros129 + "1", 0x0D07_82A5_F582_F8C7),
            ("-1E-130", "-0." + zeros129 + "1", 0xD856_8AC0_420C_D912),
        ]
        for (input, canonical, token) in vectors {
            let number = num(input)
            XCTAssertEqual(number.description, canonical, "canonical text of \(input)")
            XCTAssertEqual(hex64(TokenHash.token(of: .n(number))), hex64(token), "token of \(input)")
            XCTAssertEqual(hex64(reference(utf8("N" + canonical))), hex64(token), "reference agrees for \(input)")
        }
    }

    /// Spellings of one value land on one ring position: the token of their canonical form.
    func testNumbersThatNormaliseAlikeGetTheSameToken() {
        let groups: [(token: UInt64, spellings: [String])] = [
            (0xD77F_A03E_7F3B_68F9, ["1", "1.0", "1.00", "10E-1", "0.1E1", "+1", "1e0", "001", "100e-2", ".1e+1"]),
            (0xCFCB_0DBF_77B6_9A85, ["0", "-0", "0.0", "-0.0", "+0", "00.000e5", "0E+200", "0e-200"]),
            (0x7EFB_0703_C9E7_3067, ["-1", "-1.0", "-10E-1", "-0.1e1", "-001.000"]),
            (0x73CA_04DD_629D_D63C, ["100", "1E+2", "1e2", "100.0", "0.001E5", "10000E-2"]),
            (0x2F51_2005_79A3_A776, ["0.00000015", "1.5e-7", "15E-8", "0.15e-6", "1.50000E-7"]),
        ]
        for (token, spellings) in groups {
            for spelling in spellings {
                XCTAssertEqual(hex64(TokenHash.token(of: .n(num(spelling)))), hex64(token), spelling)
            }
        }
        // A sign and a digit both move the key.
        XCTAssertNotEqual(TokenHash.token(of: .n(num("1"))), TokenHash.token(of: .n(num("-1"))))
        XCTAssertNotEqual(TokenHash.token(of: .n(num("1E+2"))), TokenHash.token(of: .n(num("1E+3"))))
    }

    func testEqualNumbersShareAToken() {
        XCTAssertEqual(TokenHash.token(of: .n(num("1"))), TokenHash.token(of: .n(num("1.0"))))
        XCTAssertEqual(TokenHash.token(of: .n(num("100"))), TokenHash.token(of: .n(num("1e2"))))
        XCTAssertEqual(TokenHash.token(of: .n(num("-0.50"))), TokenHash.token(of: .n(num("-.5"))))
        XCTAssertNotEqual(TokenHash.token(of: .n(num("1"))), TokenHash.token(of: .n(num("10"))))
    }

    func testTypeLetterSeparatesTypes() {
        // The same bytes under different types get different tokens.
        XCTAssertNotEqual(TokenHash.token(of: .s("1")), TokenHash.token(of: .n(num("1"))))
        XCTAssertNotEqual(TokenHash.token(of: .s("abc")), TokenHash.token(of: .b(utf8("abc"))))
        XCTAssertEqual(TokenHash.token(of: .s("abc")), TokenHash.hash(utf8("Sabc")))
        XCTAssertEqual(TokenHash.token(of: .b(utf8("abc"))), TokenHash.hash(utf8("Babc")))
    }

    func testDistributionOverTopByte() {
        let keys = 100_000
        var buckets = [Int](repeating: 0, count: 256)
        for i in 0..<keys {
            buckets[Int(TokenHash.token(of: .s("key-\(i)")) >> 56)] += 1
        }
        let mean = Double(keys) / 256
        for (bucket, count) in buckets.enumerated() {
            XCTAssertLessThanOrEqual(abs(Double(count) - mean), mean * 0.2, "bucket \(bucket) holds \(count), mean \(mean)")
        }
        // The raw hash of the key text spreads as well.
        var raw = [Int](repeating: 0, count: 256)
        for i in 0..<keys { raw[Int(TokenHash.hash(utf8("key-\(i)")) >> 56)] += 1 }
        XCTAssertLessThanOrEqual(raw.max()!, Int(mean * 1.2))
        XCTAssertGreaterThanOrEqual(raw.min()!, Int(mean * 0.8))
    }
}
