import Foundation
import XCTest
@testable import TernCore

final class TableDefinitionTests: XCTestCase {
    static func table(sortKey: KeyAttribute? = KeyAttribute(name: "sk", type: .number), pkType: ScalarAttributeType = .string) -> TableDefinition {
        TableDefinition(
            name: "Orders", tableId: 42, uuid: "00000000-0000-002a-0000-018bcfe56800",
            partitionKey: KeyAttribute(name: "pk", type: pkType), sortKey: sortKey,
            attributeDefinitions: [KeyAttribute(name: "pk", type: pkType)] + (sortKey.map { [$0] } ?? []),
            billingMode: "PAY_PER_REQUEST", readCapacityUnits: 0, writeCapacityUnits: 0,
            creationDateTime: 1_700_000_000.123
        )
    }

    let invalid = "One or more parameter values were invalid: "

    // MARK: primaryKey(ofItem:)

    func testPrimaryKeyOfItem() throws {
        let t = TableDefinitionTests.table()
        let key = try t.primaryKey(ofItem: item([("pk", .s("u1")), ("sk", .n(num("7"))), ("other", .bool(true))]))
        XCTAssertEqual(key, PrimaryKey(partition: .s("u1"), sort: .n(num("7"))))
        XCTAssertEqual(t.keyAttributes.map(\.name), ["pk", "sk"])
        let hashOnly = TableDefinitionTests.table(sortKey: nil)
        XCTAssertEqual(try hashOnly.primaryKey(ofItem: item([("pk", .s("u1")), ("sk", .s("ignored"))])), PrimaryKey(partition: .s("u1"), sort: nil))
        XCTAssertEqual(hashOnly.keyAttributes.map(\.name), ["pk"])
    }

    func testItemKeyErrors() {
        let t = TableDefinitionTests.table()
        assertDynamoError(validationException, invalid + "Missing the key pk in the item") { try t.primaryKey(ofItem: item([("sk", .n(num("1")))])) }
        assertDynamoError(validationException, invalid + "Missing the key sk in the item") { try t.primaryKey(ofItem: item([("pk", .s("a"))])) }
        assertDynamoError(validationException, invalid + "Type mismatch for key pk expected: S actual: N") {
            try t.primaryKey(ofItem: item([("pk", .n(num("1"))), ("sk", .n(num("1")))]))
        }
        assertDynamoError(validationException, invalid + "Type mismatch for key sk expected: N actual: SS") {
            try t.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .ss(["1"]))]))
        }
        assertDynamoError(validationException, invalid + "Type mismatch for key sk expected: N actual: NULL") {
            try t.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .null)]))
        }
        assertDynamoError(validationException, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk") {
            try t.primaryKey(ofItem: item([("pk", .s("")), ("sk", .n(num("1")))]))
        }
        let binary = TableDefinitionTests.table(sortKey: KeyAttribute(name: "sk", type: .binary))
        assertDynamoError(validationException, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk") {
            try binary.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .b([]))]))
        }
        // Empty strings and binaries are fine outside the key.
        XCTAssertNoThrow(try t.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .n(num("1"))), ("e", .s("")), ("f", .b([]))])))
    }

    func testKeySizeLimits() {
        let hashMessage = invalid + "Size of hashkey has exceeded the maximum size limit of2048 bytes"
        let rangeMessage = invalid + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
        let s = TableDefinitionTests.table(sortKey: KeyAttribute(name: "sk", type: .string))
        let ok2048 = String(repeating: "p", count: 2048)
        let ok1024 = String(repeating: "s", count: 1024)
        XCTAssertNoThrow(try s.primaryKey(ofItem: item([("pk", .s(ok2048)), ("sk", .s(ok1024))])))
        XCTAssertNoThrow(try s.primaryKey(ofKey: item([("pk", .s(ok2048)), ("sk", .s(ok1024))])))
        assertDynamoError(validationException, hashMessage) { try s.primaryKey(ofItem: item([("pk", .s(ok2048 + "p")), ("sk", .s("a"))])) }
        assertDynamoError(validationException, hashMessage) { try s.primaryKey(ofKey: item([("pk", .s(ok2048 + "p")), ("sk", .s("a"))])) }
        assertDynamoError(validationException, rangeMessage) { try s.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .s(ok1024 + "s"))])) }
        assertDynamoError(validationException, rangeMessage) { try s.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .s(ok1024 + "s"))])) }
        // Sizes are UTF-8 bytes: 1024 two-byte characters are 2048 bytes.
        XCTAssertNoThrow(try s.primaryKey(ofItem: item([("pk", .s(String(repeating: "é", count: 1024))), ("sk", .s("a"))])))
        assertDynamoError(validationException, hashMessage) { try s.primaryKey(ofItem: item([("pk", .s(String(repeating: "é", count: 1024) + "x")), ("sk", .s("a"))])) }
        assertDynamoError(validationException, rangeMessage) { try s.primaryKey(ofItem: item([("pk", .s("a")), ("sk", .s(String(repeating: "é", count: 513)))])) }
        // Binary keys count raw bytes.
        let b = TableDefinitionTests.table(sortKey: KeyAttribute(name: "sk", type: .binary), pkType: .binary)
        XCTAssertNoThrow(try b.primaryKey(ofItem: item([("pk", .b(Array(repeating: 0, count: 2048))), ("sk", .b(Array(repeating: 1, count: 1024)))])))
        assertDynamoError(validationException, hashMessage) { try b.primaryKey(ofItem: item([("pk", .b(Array(repeating: 0, count: 2049))), ("sk", .b([1]))])) }
        assertDynamoError(validationException, rangeMessage) { try b.primaryKey(ofItem: item([("pk", .b([0])), ("sk", .b(Array(repeating: 1, count: 1025)))])) }
    }

    // MARK: primaryKey(ofKey:)

    func testPrimaryKeyOfKey() throws {
        let t = TableDefinitionTests.table()
        XCTAssertEqual(try t.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .n(num("1.0")))])), PrimaryKey(partition: .s("a"), sort: .n(num("1"))))
        XCTAssertEqual(try TableDefinitionTests.table(sortKey: nil).primaryKey(ofKey: item([("pk", .s("a"))])), PrimaryKey(partition: .s("a"), sort: nil))
    }

    func testKeyErrors() {
        let t = TableDefinitionTests.table()
        let mismatch = "The provided key element does not match the schema"
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("pk", .s("a"))])) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("sk", .n(num("1")))])) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: AttributeMap()) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .n(num("1"))), ("extra", .s("x"))])) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("pk", .s("a")), ("other", .n(num("1")))])) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("pk", .n(num("1"))), ("sk", .n(num("1")))])) }
        assertDynamoError(validationException, mismatch) { try t.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .s("1"))])) }
        let hashOnly = TableDefinitionTests.table(sortKey: nil)
        assertDynamoError(validationException, mismatch) { try hashOnly.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .n(num("1")))])) }
        assertDynamoError(validationException, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk") {
            try t.primaryKey(ofKey: item([("pk", .s("")), ("sk", .n(num("1")))]))
        }
        let b = TableDefinitionTests.table(sortKey: KeyAttribute(name: "sk", type: .binary))
        assertDynamoError(validationException, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk") {
            try b.primaryKey(ofKey: item([("pk", .s("a")), ("sk", .b([]))]))
        }
    }

    func testStorageKeyAndKeyMap() throws {
        let t = TableDefinitionTests.table()
        let full = item([("pk", .s("u")), ("sk", .n(num("5"))), ("x", .s("y"))])
        let key = try t.primaryKey(ofItem: full)
        XCTAssertEqual(t.storageKey(key), KeyEncoding.itemKey(tableId: 42, partitionKey: .s("u"), sortKey: .n(num("5"))))
        XCTAssertEqual(t.keyMap(of: full), item([("pk", .s("u")), ("sk", .n(num("5")))]))
    }

    // MARK: Persistence

    func testEncodedJSONRoundTrip() throws {
        var t = TableDefinitionTests.table()
        t.tags = [(key: "env", value: "prod"), (key: "ünï", value: "\"q\"")]
        t.deletionProtection = true
        t.lastBillingModeChange = 1_700_000_100.5
        t.status = .updating
        t.readCapacityUnits = 5
        t.writeCapacityUnits = 7
        t.billingMode = "PROVISIONED"
        let decoded = try XCTUnwrap(TableDefinition.decode(t.encodedJSON()))
        XCTAssertEqual(decoded, t)
        XCTAssertEqual(decoded.name, "Orders")
        XCTAssertEqual(decoded.tableId, 42)
        XCTAssertEqual(decoded.uuid, t.uuid)
        XCTAssertEqual(decoded.partitionKey, KeyAttribute(name: "pk", type: .string))
        XCTAssertEqual(decoded.sortKey, KeyAttribute(name: "sk", type: .number))
        XCTAssertEqual(decoded.attributeDefinitions, t.attributeDefinitions)
        XCTAssertEqual(decoded.billingMode, "PROVISIONED")
        XCTAssertEqual(decoded.readCapacityUnits, 5)
        XCTAssertEqual(decoded.writeCapacityUnits, 7)
        XCTAssertEqual(decoded.creationDateTime, 1_700_000_000.123)
        XCTAssertEqual(decoded.lastBillingModeChange, 1_700_000_100.5)
        XCTAssertEqual(decoded.status, .updating)
        XCTAssertEqual(decoded.tags.map(\.key), ["env", "ünï"])
        XCTAssertEqual(decoded.tags.map(\.value), ["prod", "\"q\""])
        XCTAssertTrue(decoded.deletionProtection)

        let plain = TableDefinitionTests.table(sortKey: nil, pkType: .binary)
        let plainDecoded = try XCTUnwrap(TableDefinition.decode(plain.encodedJSON()))
        XCTAssertEqual(plainDecoded, plain)
        XCTAssertNil(plainDecoded.sortKey)
        XCTAssertNil(plainDecoded.lastBillingModeChange)
        XCTAssertEqual(plainDecoded.status, .active)
        XCTAssertFalse(plainDecoded.deletionProtection)
        XCTAssertTrue(plainDecoded.tags.isEmpty)
        XCTAssertEqual(plainDecoded.tableId, 42)

        var maxId = plain
        maxId.tableId = UInt32.max
        XCTAssertEqual(TableDefinition.decode(maxId.encodedJSON())?.tableId, UInt32.max)
        XCTAssertNotEqual(plain, t)
    }

    func testDecodeRejectsBrokenDocuments() {
        let good = TableDefinitionTests.table().encodedJSON()
        XCTAssertNil(TableDefinition.decode([]))
        XCTAssertNil(TableDefinition.decode(utf8("{}")))
        XCTAssertNil(TableDefinition.decode(Array(good.dropLast())))
        for field in ["name", "tableId", "uuid", "partitionKey", "attributeDefinitions", "billingMode", "readCapacityUnits", "writeCapacityUnits", "creationDateTime", "status"] {
            guard case .object(let members)? = try? JSON.parse(good) else { return XCTFail() }
            let without = JSON.object(members.filter { $0.0 != field }).serialized()
            XCTAssertNil(TableDefinition.decode(without), "without \(field)")
        }
        let badStatus = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"ACTIVE\"", with: "\"GONE\"")
        XCTAssertNil(TableDefinition.decode(utf8(badStatus)))
        let badId = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"tableId\":42", with: "\"tableId\":-1")
        XCTAssertNil(TableDefinition.decode(utf8(badId)))
    }
}
