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
