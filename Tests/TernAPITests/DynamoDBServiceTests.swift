import Logging
import TernCluster
import TernCore
import TernStorage
import TernTransport
import XCTest

@testable import TernAPI

/// The API layer in process, over the in-memory engine: request JSON in, response JSON out, no
/// sockets. The client tests in tests/ cover the same operations through boto3 and the AWS CLI.
final class DynamoDBServiceTests: XCTestCase {
    var service: DynamoDBService!

    override func setUp() async throws {
        let storage = InMemoryStorage()
        // A fixed clock: the hybrid logical clock still orders writes.
        let coordinator = try CoordinatorShell(
            nodeId: "t1", storage: storage, pool: BlockingPool(settings: .init(threads: 2, queueCapacity: 64)),
            clock: { Now(wallMillis: 1_000, monotonicMillis: 1_000) }
        )
        let catalog = try Catalog(storage: storage, coordinator: coordinator)
        service = DynamoDBService(catalog: catalog, coordinator: coordinator, now: { 1_700_000_000 }, logger: Logger(label: "test"))
    }

    func call(_ operation: String, _ body: String) async -> (status: Int, json: JSON) {
        let response = await service.handle(target: "DynamoDB_20120810.\(operation)", body: Array(body.utf8), host: "localhost:8000")
        return (response.status, (try? JSON.parse(response.body)) ?? .null)
    }

    func createTable(_ name: String = "things", sortKey: Bool = false) async {
        let keys = sortKey
            ? #"[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]"#
            : #"[{"AttributeName":"pk","KeyType":"HASH"}]"#
        let definitions = sortKey
            ? #"[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]"#
            : #"[{"AttributeName":"pk","AttributeType":"S"}]"#
        let result = await call("CreateTable", #"{"TableName":"\#(name)","KeySchema":\#(keys),"AttributeDefinitions":\#(definitions),"BillingMode":"PAY_PER_REQUEST"}"#)
        XCTAssertEqual(result.status, 200)
        XCTAssertEqual(result.json["TableDescription"]?["TableStatus"], .string("ACTIVE"))
    }

    func testPutGetRoundTripNormalisesNumbers() async {
        await createTable()
        let put = await call("PutItem", #"{"TableName":"things","Item":{"pk":{"S":"a"},"n":{"N":"001.50"},"l":{"L":[{"NULL":true},{"BOOL":false}]}}}"#)
        XCTAssertEqual(put.status, 200)
        let get = await call("GetItem", #"{"TableName":"things","Key":{"pk":{"S":"a"}}}"#)
        XCTAssertEqual(get.json["Item"]?["n"], .object([("N", .string("1.5"))]))
        XCTAssertEqual(get.json["Item"]?["l"]?["L"]?.arrayValue?.count, 2)
    }

    func testErrorsRenderTypeMessageAndStatus() async {
        let missing = await call("GetItem", #"{"TableName":"nothere","Key":{"pk":{"S":"a"}}}"#)
        XCTAssertEqual(missing.status, 400)
        XCTAssertEqual(missing.json["__type"], .string("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"))
        let malformed = await call("GetItem", "{not json")
        XCTAssertEqual(malformed.json["__type"], .string("com.amazon.coral.service#SerializationException"))
        let unknown = await service.handle(target: "DynamoDB_20120810.Nope", body: Array("{}".utf8), host: nil)
        XCTAssertEqual((try? JSON.parse(unknown.body))?["__type"], .string("com.amazon.coral.service#UnknownOperationException"))
    }

    func testConditionalPutFailsWithOldItemAndWritesNothing() async {
        await createTable()
        _ = await call("PutItem", #"{"TableName":"things","Item":{"pk":{"S":"a"},"v":{"N":"1"}}}"#)
        let failed = await call("PutItem", #"{"TableName":"things","Item":{"pk":{"S":"a"},"v":{"N":"2"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}"#)
        XCTAssertEqual(failed.status, 400)
        XCTAssertEqual(failed.json["__type"], .string("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"))
        XCTAssertEqual(failed.json["Item"]?["v"], .object([("N", .string("1"))]))
        let get = await call("GetItem", #"{"TableName":"things","Key":{"pk":{"S":"a"}}}"#)
        XCTAssertEqual(get.json["Item"]?["v"], .object([("N", .string("1"))]))
    }

    func testConcurrentAddsAreAtomic() async {
        await createTable()
        let service = self.service!
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<25 {
                        _ = await service.handle(
                            target: "DynamoDB_20120810.UpdateItem",
                            body: Array(#"{"TableName":"things","Key":{"pk":{"S":"c"}},"UpdateExpression":"ADD n :one","ExpressionAttributeValues":{":one":{"N":"1"}}}"#.utf8),
                            host: nil
                        )
                    }
                }
            }
        }
        let get = await call("GetItem", #"{"TableName":"things","Key":{"pk":{"S":"c"}}}"#)
        XCTAssertEqual(get.json["Item"]?["n"], .object([("N", .string("200"))]))
    }

    /// A Scan over more tombstones than one page may walk stops with a LastEvaluatedKey decoded
    /// from the last tombstone's storage key, and the next page resumes after it.
    func testScanOverManyTombstonesPagesOnTheTombstoneBound() async throws {
        await createTable()
        let deleted = CoordinatorShell.tombstonesPerPageMax + 50
        let service = self.service!
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for i in stride(from: worker, to: deleted, by: 8) {
                        _ = await service.handle(target: "DynamoDB_20120810.DeleteItem", body: Array(#"{"TableName":"things","Key":{"pk":{"S":"gone-\#(i)"}}}"#.utf8), host: nil)
                    }
                }
            }
        }
        _ = await call("PutItem", #"{"TableName":"things","Item":{"pk":{"S":"alive"}}}"#)
        var startKey: JSON? = nil
        var pages = 0
        var items: [String] = []
        repeat {
            let start = startKey.map { #","ExclusiveStartKey":"# + String(decoding: $0.serialized(), as: UTF8.self) } ?? ""
            let page = await call("Scan", #"{"TableName":"things"\#(start)}"#)
            XCTAssertEqual(page.status, 200, "\(page.json)")
            items += page.json["Items"]?.arrayValue?.compactMap { $0["pk"]?["S"]?.stringValue } ?? []
            startKey = page.json["LastEvaluatedKey"]
            if let key = startKey { XCTAssertNotNil(key["pk"]?["S"]?.stringValue, "a key decoded from a tombstone: \(key)") }
            pages += 1
        } while startKey != nil && pages < 10
        XCTAssertEqual(items, ["alive"])
        XCTAssertGreaterThanOrEqual(pages, 2, "the first page stops at the tombstone bound")
        XCTAssertLessThan(pages, 10)
    }

    func testQueryReturnsOnePartitionInSortOrderAndPages() async {
        await createTable("ranged", sortKey: true)
        for sk in [5, -3, 10, 0, 7] {
            _ = await call("PutItem", #"{"TableName":"ranged","Item":{"pk":{"S":"p"},"sk":{"N":"\#(sk)"}}}"#)
        }
        _ = await call("PutItem", #"{"TableName":"ranged","Item":{"pk":{"S":"other"},"sk":{"N":"1"}}}"#)
        let first = await call("Query", #"{"TableName":"ranged","KeyConditionExpression":"pk = :p AND sk >= :low","ExpressionAttributeValues":{":p":{"S":"p"},":low":{"N":"0"}},"Limit":2}"#)
        let sortKeys = first.json["Items"]?.arrayValue?.compactMap { $0["sk"]?["N"]?.stringValue }
        XCTAssertEqual(sortKeys, ["0", "5"])
        XCTAssertEqual(first.json["LastEvaluatedKey"]?["sk"], .object([("N", .string("5"))]))
        let backward = await call("Query", #"{"TableName":"ranged","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"p"}},"ScanIndexForward":false}"#)
        XCTAssertEqual(backward.json["Items"]?.arrayValue?.compactMap { $0["sk"]?["N"]?.stringValue }, ["10", "7", "5", "0", "-3"])
    }
}

/// BatchWriteItem writes items one by one: an item refused for load comes back in
/// UnprocessedItems, exactly as sent, and the others are written.
final class BatchWriteUnprocessedTests: XCTestCase {
    /// Refuses (as a full commit queue does) every batch that writes an item key containing "busy".
    final class RefusingStorage: StorageEngine, @unchecked Sendable {
        let inner = InMemoryStorage()
        func get(_ key: [UInt8]) throws -> [UInt8]? { try inner.get(key) }
        func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
            try inner.scan(start: start, end: end, reverse: reverse, limit: limit)
        }
        func close() throws { try inner.close() }
        nonisolated(nonsending) func write(_ batch: WriteBatch) async throws {
            let busy = Array("busy".utf8)
            for case .put(let key, _) in batch.operations where key.count >= busy.count {
                for start in 0...(key.count - busy.count) where Array(key[start..<start + busy.count]) == busy {
                    throw StorageError.overloaded
                }
            }
            try await inner.write(batch)
        }
    }

    func testAnItemRefusedForLoadComesBackInUnprocessedItems() async throws {
        let storage = RefusingStorage()
        let coordinator = try CoordinatorShell(
            nodeId: "t1", storage: storage, pool: BlockingPool(settings: .init(threads: 1, queueCapacity: 8)),
            clock: { Now(wallMillis: 1_000, monotonicMillis: 1_000) }
        )
        let service = DynamoDBService(
            catalog: try Catalog(storage: storage, coordinator: coordinator), coordinator: coordinator,
            now: { 1_700_000_000 }, logger: Logger(label: "test")
        )
        func call(_ operation: String, _ body: String) async -> (status: Int, json: JSON) {
            let response = await service.handle(target: "DynamoDB_20120810.\(operation)", body: Array(body.utf8), host: nil)
            return (response.status, (try? JSON.parse(response.body)) ?? .null)
        }
        let created = await call("CreateTable", #"{"TableName":"things","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}"#)
        XCTAssertEqual(created.status, 200)
        let batch = await call("BatchWriteItem", #"{"RequestItems":{"things":[{"PutRequest":{"Item":{"pk":{"S":"ok-1"}}}},{"PutRequest":{"Item":{"pk":{"S":"busy"},"v":{"N":"7"}}}},{"PutRequest":{"Item":{"pk":{"S":"ok-2"}}}}]}}"#)
        XCTAssertEqual(batch.status, 200)
        XCTAssertEqual(
            batch.json["UnprocessedItems"],
            .object([("things", .array([.object([("PutRequest", .object([("Item", .object([("pk", .object([("S", .string("busy"))])), ("v", .object([("N", .string("7"))]))]))]))])]))])
        )
        for key in ["ok-1", "ok-2"] {
            let get = await call("GetItem", #"{"TableName":"things","Key":{"pk":{"S":"\#(key)"}}}"#)
            XCTAssertEqual(get.json["Item"]?["pk"], .object([("S", .string(key))]))
        }
        let missing = await call("GetItem", #"{"TableName":"things","Key":{"pk":{"S":"busy"}}}"#)
        XCTAssertNil(missing.json["Item"])
    }
}
