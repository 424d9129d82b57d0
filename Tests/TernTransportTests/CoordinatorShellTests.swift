import Synchronization
import TernCluster
import TernCore
import TernStorage
import XCTest

@testable import TernTransport

/// A storage engine that counts scans and can hold writes back, wrapped around the in-memory one.
final class InstrumentedStorage: StorageEngine, @unchecked Sendable {
    let inner = InMemoryStorage()
    let scans = Atomic<Int>(0)
    let gets = Atomic<Int>(0)
    /// While set, `write` waits (a slow disk).
    let holdWrites = Mutex(false)
    /// While set, `write` fails (a disk error).
    let failWrites = Mutex(false)

    func get(_ key: [UInt8]) throws -> [UInt8]? {
        gets.add(1, ordering: .relaxed)
        return try inner.get(key)
    }

    nonisolated(nonsending) func write(_ batch: WriteBatch) async throws {
        while holdWrites.withLock({ $0 }) { await Task.yield() }
        if failWrites.withLock({ $0 }) { throw StorageError.io("injected write failure") }
        try await inner.write(batch)
    }

    func scan(start: [UInt8], end: [UInt8], reverse: Bool, limit: Int) throws -> [KeyValue] {
        scans.add(1, ordering: .relaxed)
        return try inner.scan(start: start, end: end, reverse: reverse, limit: limit)
    }

    func close() throws { try inner.close() }
}

final class CoordinatorShellTests: XCTestCase {
    let millis = TestClock()

    func makeShell(_ storage: any StorageEngine, settings: Coordinator.Settings = .init()) throws -> CoordinatorShell {
        let millis = self.millis
        return try CoordinatorShell(
            nodeId: "n1", storage: storage, pool: BlockingPool(settings: .init(threads: 2, queueCapacity: 64)), settings: settings,
            clock: { let now = millis.value.load(ordering: .relaxed); return Now(wallMillis: now, monotonicMillis: now) }
        )
    }

    let table = TableDefinition(
        name: "t", tableId: 7, uuid: "u", partitionKey: KeyAttribute(name: "pk", type: .string), sortKey: nil,
        attributeDefinitions: [KeyAttribute(name: "pk", type: .string)], billingMode: "PAY_PER_REQUEST",
        readCapacityUnits: 0, writeCapacityUnits: 0, creationDateTime: 0
    )

    func key(_ text: String) -> PrimaryKey { PrimaryKey(partition: .s(text), sort: nil) }

    func testAWriteOrReadOfAKeyJustWrittenSkipsTheStorageReadAndAFailedWriteIsReadAgain() async throws {
        let storage = InstrumentedStorage()
        let shell = try makeShell(storage)
        let first = Item([("pk", .s("a")), ("v", .s("1"))])
        let second = Item([("pk", .s("a")), ("v", .s("2"))])
        _ = try await shell.update(table, key("a")) { _ in .write(first) }
        let reads = storage.gets.load(ordering: .relaxed)
        let written = try await shell.update(table, key("a")) { old in
            XCTAssertEqual(old, first, "the write decides on the version the last one stored")
            return .write(second)
        }
        XCTAssertEqual(written.old, first)
        let item = try await shell.get(table, key("a"))
        XCTAssertEqual(item, second)
        XCTAssertEqual(storage.gets.load(ordering: .relaxed), reads, "neither the second write nor the read searched storage")

        storage.failWrites.withLock { $0 = true }
        do {
            _ = try await shell.update(table, key("a")) { _ in .write(first) }
            XCTFail("the injected write failure was not reported")
        } catch {}
        storage.failWrites.withLock { $0 = false }
        let stored = try await shell.update(table, key("a")) { old in .write(old ?? first) }
        XCTAssertEqual(stored.old, second, "after a failed write the key is read from storage, which kept the last durable version")
        XCTAssertEqual(storage.gets.load(ordering: .relaxed), reads + 1)
    }

    func testConcurrentReadModifyWritesOfOneItemAreAtomic() async throws {
        let shell = try makeShell(InMemoryStorage())
        let table = self.table
        let key = self.key("counter")
        await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    for _ in 0..<25 {
                        _ = try await shell.update(table, key) { old in
                            let current = old?["n"].flatMap { if case .n(let n) = $0 { return Int(n.description) } else { return nil } } ?? 0
                            return .write(Item([("pk", .s("counter")), ("n", .n(DynamoNumber(current + 1)))]))
                        }
                    }
                }
            }
        }
        let item = try await shell.get(table, key)
        XCTAssertEqual(item?["n"], AttributeValue.n(DynamoNumber(400)))
        XCTAssertEqual(shell.load.operations, 0)
        XCTAssertEqual(shell.load.lockedKeys, 0)
    }

    func testVersionsDescendAcrossWritesOfOneKey() async throws {
        let storage = InMemoryStorage()
        let shell = try makeShell(storage)
        let storageKey = table.storageKey(key("a"))
        var previous: StoredValue?
        for i in 0..<5 {
            _ = try await shell.update(table, key("a")) { _ in .write(Item([("pk", .s("a")), ("i", .n(DynamoNumber(i)))])) }
            let stored = try StoredValue.decode(try storage.get(storageKey)!)
            if let previous {
                XCTAssertEqual(stored.clock.compare(previous.clock), VectorClock.Relation.after)
                XCTAssertGreaterThan(stored.timestamp, previous.timestamp)
            }
            previous = stored
        }
        XCTAssertEqual(previous?.clock, VectorClock(["n1": previous!.timestamp]), "one actor: this node")
    }

    func testAFailedDecisionWritesNothingAndRethrows() async throws {
        let storage = InMemoryStorage()
        let shell = try makeShell(storage)
        do {
            _ = try await shell.update(table, key("a")) { _ in throw DynamoDBError.conditionalCheckFailed() }
            XCTFail("must throw")
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, "ConditionalCheckFailedException")
        }
        XCTAssertNil(try storage.get(table.storageKey(key("a"))))
        XCTAssertEqual(shell.load.lockedKeys, 0)
    }

    func testLockWaitersPastTheDeadlineFailWithThrottling() async throws {
        let storage = InstrumentedStorage()
        let shell = try makeShell(storage, settings: .init(lockWaitMillis: 100))
        let table = self.table
        let key = self.key("hot")
        // First write the clock ceiling, so the held write below is the item write.
        _ = try await shell.update(table, self.key("warm")) { _ in .write(Item([("pk", .s("warm"))])) }
        storage.holdWrites.withLock { $0 = true }
        async let holder = shell.update(table, key) { _ in .write(Item([("pk", .s("hot"))])) }
        while shell.load.lockedKeys == 0 { await Task.yield() }
        async let waiter: (old: Item?, new: Item?) = shell.update(table, key) { _ in .write(Item([("pk", .s("hot"))])) }
        while shell.load.lockWaiters == 0 { await Task.yield() }
        millis.value.add(150, ordering: .relaxed)
        await shell.tick()
        do {
            _ = try await waiter
            XCTFail("the waiter must time out")
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, "ThrottlingException")
        }
        storage.holdWrites.withLock { $0 = false }
        _ = try await holder
        XCTAssertEqual(shell.load.operations, 0)
    }

    func testStatisticsAreMaintainedByWritesAndReadWithoutAScan() async throws {
        let storage = InstrumentedStorage()
        let shell = try makeShell(storage)
        for i in 0..<10 {
            _ = try await shell.update(table, key("k\(i)")) { _ in .write(Item([("pk", .s("k\(i)")), ("v", .s("x"))])) }
        }
        _ = try await shell.update(table, key("k0")) { _ in .write(nil) }
        _ = try await shell.update(table, key("absent")) { _ in .write(nil) }
        _ = try await shell.update(table, key("k1")) { _ in .write(Item([("pk", .s("k1")), ("v", .s("longer value"))])) }
        let scansBefore = storage.scans.load(ordering: .relaxed)
        let statistics = try await shell.statistics(table)
        XCTAssertEqual(storage.scans.load(ordering: .relaxed), scansBefore, "statistics must not scan")
        XCTAssertEqual(statistics.itemCount, 9)
        var expected = 0
        for i in 1..<10 {
            let item = try await shell.get(table, key("k\(i)"))!
            expected += ItemSize.of(item)
        }
        XCTAssertEqual(statistics.sizeBytes, expected)
    }

    func testARangeFullOfTombstonesStopsAtTheBoundAndResumes() async throws {
        let storage = InMemoryStorage()
        let shell = try makeShell(storage)
        let count = CoordinatorShell.tombstonesPerPageMax + 10
        for i in 0..<count {
            _ = try await shell.update(table, key(String(format: "k%05d", i))) { _ in .write(nil) }
        }
        _ = try await shell.update(table, key("zz")) { _ in .write(Item([("pk", .s("zz"))])) }
        let start = KeyEncoding.tablePrefix(table.tableId)
        let end = KeyEncoding.tableEnd(table.tableId)
        var page = try await shell.readRange(start: start, end: end, reverse: false, maxItems: 100, maxBytes: 1 << 20)
        var pages = 1
        var items = page.items.count
        while !page.exhausted {
            let next = page.lastExaminedKey! + [0]
            page = try await shell.readRange(start: next, end: end, reverse: false, maxItems: 100, maxBytes: 1 << 20)
            pages += 1
            items += page.items.count
            XCTAssertLessThan(pages, 10)
        }
        XCTAssertEqual(items, 1)
        XCTAssertEqual(pages, 2, "the first page stops after the tombstone bound")
    }
}

/// A manual clock the tests advance.
final class TestClock: Sendable {
    let value = Atomic<UInt64>(1_000_000)
}
