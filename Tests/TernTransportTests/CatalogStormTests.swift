import Foundation
import Synchronization
import TernCluster
import TernCore
import TernRocksDB
import TernStorage
import XCTest

@testable import TernTransport

/// Concurrent CreateTable / DeleteTable / TagResource / UpdateTable / PutItem on the same few
/// names, then a restart, with exact expectations: no resurrected table, no orphaned or foreign
/// item, no table id used twice, statistics equal to the items really stored.
final class CatalogStormTests: XCTestCase {
    struct Node: Sendable {
        let storage: RocksDBStorage
        let pool: BlockingPool
        let coordinator: CoordinatorShell
        let catalog: Catalog

        init(path: String) throws {
            storage = try RocksDBStorage(path: path)
            pool = BlockingPool(settings: .init(threads: 2, queueCapacity: 256))
            coordinator = try CoordinatorShell(nodeId: "n1", storage: storage, pool: pool, clock: CatalogStormTests.now)
            catalog = try Catalog(storage: storage, coordinator: coordinator)
        }

        func close() async {
            await catalog.waitForDeletions()
            pool.shutdown()
            storage.close()
        }
    }

    static let start = UInt64(Date().timeIntervalSince1970 * 1000)
    static let ticks = Atomic<UInt64>(0)
    @Sendable static func now() -> Now {
        let tick = ticks.add(1, ordering: .relaxed).newValue
        return Now(wallMillis: start + tick / 16, monotonicMillis: tick)
    }

    static func definition(_ name: String, _ id: UInt32) -> TableDefinition {
        TableDefinition(
            name: name, tableId: id, uuid: "u\(id)", partitionKey: KeyAttribute(name: "pk", type: .string), sortKey: nil,
            attributeDefinitions: [KeyAttribute(name: "pk", type: .string)], billingMode: "PAY_PER_REQUEST",
            readCapacityUnits: 0, writeCapacityUnits: 0, creationDateTime: 0
        )
    }

    func temporaryPath() -> String {
        let path = NSTemporaryDirectory() + "tern-catalog-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testStormOfTableAndItemOperationsLeavesNoResurrectedTableOrphanOrReusedId() async throws {
        let path = temporaryPath()
        let names = ["alpha", "beta", "gamma"]
        let createdIds = IdLog()
        var node: Node? = try Node(path: path)
        let live = node!
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var rng = SplitMix64(seed: UInt64(worker) &* 0x9E37_79B9)
                    for step in 0..<60 {
                        let name = names[Int(rng.next() % UInt64(names.count))]
                        switch rng.next() % 5 {
                        case 0:
                            if let table = try? await live.catalog.create(name, build: { CatalogStormTests.definition(name, $0) }) {
                                createdIds.append(table.tableId)
                            }
                        case 1:
                            _ = try? await live.catalog.delete(name)
                        case 2:
                            _ = try? await live.catalog.modify(name) { $0.tags.append((key: "w\(worker)", value: "\(step)")) }
                        case 3:
                            _ = try? await live.catalog.modify(name) { $0.deletionProtection.toggle() }
                        default:
                            // A put with whatever definition is current: it may race a delete.
                            guard let table = try? live.catalog.activeTable(named: name) else { continue }
                            let item = Item([("pk", .s("w\(worker)-\(step % 7)")), ("incarnation", .n(DynamoNumber(Int(table.tableId))))])
                            _ = try? await live.coordinator.update(table, try table.primaryKey(ofItem: item)) { _ in .write(item) }
                        }
                    }
                }
            }
        }
        await live.catalog.waitForDeletions()
        let before = Dictionary(uniqueKeysWithValues: live.catalog.tableNames().map { ($0, live.catalog.table(named: $0)!) })
        await live.close()
        node = nil

        let ids = createdIds.all
        XCTAssertGreaterThan(ids.count, 3, "the storm created tables")
        XCTAssertEqual(Set(ids).count, ids.count, "a table id was allocated twice: \(ids.sorted())")

        let reopened = try Node(path: path)
        await reopened.catalog.waitForDeletions()
        // The same tables, no resurrected one, nothing left half-deleted.
        XCTAssertEqual(Set(reopened.catalog.tableNames()), Set(before.keys))
        for name in reopened.catalog.tableNames() {
            let table = reopened.catalog.table(named: name)!
            XCTAssertEqual(table.status, .active)
            XCTAssertEqual(table.tableId, before[name]!.tableId)
            XCTAssertEqual(table.encodedJSON(), before[name]!.encodedJSON())
        }
        // Every stored item belongs to a live table and was written to that incarnation.
        let liveIds = Set(reopened.catalog.tableNames().map { reopened.catalog.table(named: $0)!.tableId })
        let entries = try reopened.storage.scan(start: KeyEncoding.tablePrefix(1), end: [0xFF], reverse: false, limit: Int.max)
        var counts: [UInt32: Int] = [:]
        for entry in entries {
            let tableId = try XCTUnwrap(KeyEncoding.tableId(ofKey: entry.key))
            XCTAssertTrue(liveIds.contains(tableId), "orphaned item of table id \(tableId)")
            guard let item = try StoredValue.decode(entry.value).item else { continue }
            XCTAssertEqual(item["incarnation"], .n(DynamoNumber(Int(tableId))), "foreign item in table id \(tableId)")
            counts[tableId, default: 0] += 1
        }
        // Maintained statistics agree with what is stored.
        for id in liveIds {
            let table = reopened.catalog.tableNames().compactMap { reopened.catalog.table(named: $0) }.first { $0.tableId == id }!
            let statistics = try await reopened.coordinator.statistics(table)
            XCTAssertEqual(statistics.itemCount, counts[id] ?? 0, "ItemCount of \(table.name)")
        }
        // A new table after the restart gets an id never used before.
        let fresh = try await reopened.catalog.create("delta") { CatalogStormTests.definition("delta", $0) }
        XCTAssertFalse(ids.contains(fresh.tableId))
        XCTAssertGreaterThan(fresh.tableId, ids.max()!)
        await reopened.close()
    }

    func testDeletingTheNewestTableThenRestartingNeverReusesItsId() async throws {
        let path = temporaryPath()
        var node = try Node(path: path)
        let first = try await node.catalog.create("a") { CatalogStormTests.definition("a", $0) }
        let newest = try await node.catalog.create("b") { CatalogStormTests.definition("b", $0) }
        let item = Item([("pk", .s("x")), ("incarnation", .n(DynamoNumber(Int(newest.tableId))))])
        _ = try await node.coordinator.update(newest, try newest.primaryKey(ofItem: item)) { _ in .write(item) }
        _ = try await node.catalog.delete("b")
        await node.close()
        node = try Node(path: path)
        let again = try await node.catalog.create("b") { CatalogStormTests.definition("b", $0) }
        XCTAssertGreaterThan(again.tableId, newest.tableId)
        XCTAssertNotEqual(again.tableId, first.tableId)
        let old = try await node.coordinator.get(again, try again.primaryKey(ofItem: item))
        XCTAssertNil(old, "no item of the old table shows in the new one")
        await node.close()
    }

    func testDeleteTableIsDurablyDeletingFirstAndAWriteRacingItNeverLandsAfter() async throws {
        let path = temporaryPath()
        let node = try Node(path: path)
        let table = try await node.catalog.create("t") { CatalogStormTests.definition("t", $0) }
        // Many writes in flight while the table is deleted.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let item = Item([("pk", .s("k\(i)")), ("incarnation", .n(DynamoNumber(Int(table.tableId))))])
                    return (try? await node.coordinator.update(table, try table.primaryKey(ofItem: item)) { _ in .write(item) }) != nil
                }
            }
            group.addTask {
                let deleting = try? await node.catalog.delete("t")
                XCTAssertEqual(deleting?.status, .deleting)
                return false
            }
            var succeeded = 0
            for await ok in group where ok { succeeded += 1 }
            return succeeded
        }
        await node.catalog.waitForDeletions()
        XCTAssertNil(node.catalog.table(named: "t"))
        let left = try node.storage.scan(start: KeyEncoding.tablePrefix(table.tableId), end: KeyEncoding.tableEnd(table.tableId), reverse: false, limit: 10)
        XCTAssertEqual(left, [], "\(outcomes) writes succeeded; none may survive the delete")
        XCTAssertNil(try node.storage.get(TableStatistics.key(tableId: table.tableId)))
        // After the fence, a write with the old definition is refused.
        let item = Item([("pk", .s("late"))])
        do {
            _ = try await node.coordinator.update(table, try table.primaryKey(ofItem: item)) { _ in .write(item) }
            XCTFail("a write after DeleteTable must fail")
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, "ResourceNotFoundException")
        }
        await node.close()
    }

    func testWhileATableIsDeletingItRefusesChangesAndItsNameAndASecondDeleteSucceeds() async throws {
        let storage = InMemoryStorage()
        let pool = BlockingPool(settings: .init(threads: 2, queueCapacity: 64))
        defer { pool.shutdown() }
        let coordinator = try CoordinatorShell(nodeId: "n1", storage: storage, pool: pool, clock: CatalogStormTests.now)
        let catalog = try Catalog(storage: storage, coordinator: coordinator)
        let table = try await catalog.create("t") { CatalogStormTests.definition("t", $0) }
        // A write accepted before the delete, held inside its decision: the fence must wait for it.
        let gate = Gate()
        let item = Item([("pk", .s("held")), ("incarnation", .n(DynamoNumber(Int(table.tableId))))])
        async let held = coordinator.update(table, try table.primaryKey(ofItem: item)) { _ in
            gate.wait()
            return .write(item)
        }
        while coordinator.load.operations == 0 { await Task.yield() }
        async let firstDelete = catalog.delete("t")
        while catalog.table(named: "t")?.status != .deleting { await Task.yield() }
        XCTAssertEqual(catalog.table(named: "t")?.status, .deleting, "durably DELETING, still visible")
        XCTAssertEqual(try storage.get(Catalog.key(for: "t")).flatMap(TableDefinition.decode)?.status, .deleting)
        async let secondDelete = catalog.delete("t")
        do {
            _ = try await catalog.modify("t") { $0.tags.append((key: "k", value: "v")) }
            XCTFail("a DELETING table must refuse changes")
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, "ResourceInUseException")
        }
        do {
            _ = try await catalog.create("t") { CatalogStormTests.definition("t", $0) }
            XCTFail("a DELETING table holds its name")
        } catch let error as DynamoDBError {
            XCTAssertEqual(error.code, "ResourceInUseException")
        }
        XCTAssertThrowsError(try catalog.activeTable(named: "t"), "item operations see no table")
        gate.open()
        _ = try await held
        let first = try await firstDelete
        let second = try await secondDelete
        XCTAssertEqual(first.status, .deleting)
        XCTAssertEqual(second.status, .deleting, "deleting a DELETING table succeeds")
        XCTAssertNil(catalog.table(named: "t"))
        XCTAssertNil(try storage.get(Catalog.key(for: "t")), "the definition is gone from disk too")
        let left = try storage.scan(start: KeyEncoding.tablePrefix(table.tableId), end: KeyEncoding.tableEnd(table.tableId), reverse: false, limit: 10)
        XCTAssertEqual(left, [], "the write accepted before the fence was deleted with the table")
    }
}

/// Table ids handed out during a storm, from many tasks.
final class IdLog: Sendable {
    private let ids = Mutex<[UInt32]>([])
    func append(_ id: UInt32) { ids.withLock { $0.append(id) } }
    var all: [UInt32] { ids.withLock { $0 } }
}
