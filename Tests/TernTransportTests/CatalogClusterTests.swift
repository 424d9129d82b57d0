import Foundation
import Synchronization
import TernCluster
import TernCore
import TernRocksDB
import TernStorage
import XCTest

@testable import TernTransport

/// Catalog messages between catalogs in one process. Every message goes through its wire
/// encoding; a node that is "down" neither sends nor answers.
final class LoopbackCatalogNetwork: Sendable {
    let catalogs = Mutex<[NodeID: Catalog]>([:])
    let down = Mutex<Set<NodeID>>([])

    func isDown(_ node: NodeID) -> Bool { down.withLock { $0.contains(node) } }

    func messenger(for node: NodeID) -> LoopbackCatalogMessenger { LoopbackCatalogMessenger(from: node, network: self) }
}

struct LoopbackCatalogMessenger: CatalogMessenger {
    let from: NodeID
    let network: LoopbackCatalogNetwork

    func send(
        _ message: CatalogPeerMessage, to node: NodeID, deadlineMillis: UInt32,
        completion: @escaping @Sendable (Result<CatalogPeerMessage, PeerError>) -> Void
    ) {
        guard !network.isDown(from), !network.isDown(node), let catalog = network.catalogs.withLock({ $0[node] }) else {
            return completion(.failure(.unavailable("\(node) is down")))
        }
        guard let wire = CatalogPeerMessage(decoding: message.encoded()), wire == message else {
            return completion(.failure(.remote(code: 2, message: "\(message) does not survive its encoding")))
        }
        let from = self.from
        let network = self.network
        Task {
            let answer = await catalog.serve(wire, from: from)
            if network.isDown(node) || network.isDown(from) { return completion(.failure(.unavailable("\(node) is down"))) }
            completion(CatalogPeerMessage(decoding: answer.encoded()).map { .success($0) } ?? .failure(.remote(code: 2, message: "bad answer")))
        }
    }

    func isReachable(_ node: NodeID) -> Bool { !network.isDown(node) && !network.isDown(from) }
}

/// Three catalogs on in-memory storage, wired by a loopback network: CreateTable, DeleteTable,
/// UpdateTable and tags decided among the members with the real shell code.
final class CatalogClusterTests: XCTestCase {
    let members: [NodeID] = ["n1", "n2", "n3"]

    final class Cluster: Sendable {
        let network = LoopbackCatalogNetwork()
        let disks = Mutex<[NodeID: any StorageEngine]>([:])
        let pools: [NodeID: BlockingPool]
        let members: [NodeID]
        let settings: Catalog.Settings
        /// Opens a member's storage (again, after a restart).
        let open: @Sendable (NodeID) throws -> any StorageEngine
        let nodes = Mutex<[NodeID: (coordinator: CoordinatorShell, catalog: Catalog)]>([:])

        init(members: [NodeID], settings: Catalog.Settings, open: @escaping @Sendable (NodeID) throws -> any StorageEngine) throws {
            self.members = members
            self.settings = settings
            self.open = open
            pools = Dictionary(uniqueKeysWithValues: members.map { ($0, BlockingPool(settings: .init(threads: 1, queueCapacity: 64))) })
            for member in members {
                let storage = try open(member)
                disks.withLock { $0[member] = storage }
                try start(member)
            }
        }

        var storages: [NodeID: any StorageEngine] { disks.withLock { $0 } }

        /// Opens `member`'s coordinator and catalog on its storage (again, after a crash).
        func start(_ member: NodeID) throws {
            let storage = storages[member]!
            let coordinator = try CoordinatorShell(nodeId: member, storage: storage, pool: pools[member]!, clock: CatalogClusterTests.now)
            let catalog = try Catalog(
                storage: storage, coordinator: coordinator, members: members,
                messenger: network.messenger(for: member), settings: settings
            )
            nodes.withLock { $0[member] = (coordinator, catalog) }
            network.catalogs.withLock { $0[member] = catalog }
        }

        /// Stops `member`, closes its storage, opens it again and starts the member on it.
        func restart(_ member: NodeID) async throws {
            await self[member].shutdown()
            try storages[member]!.close()
            let storage = try open(member)
            disks.withLock { $0[member] = storage }
            try start(member)
        }

        subscript(_ member: NodeID) -> Catalog { nodes.withLock { $0[member]!.catalog } }

        func setDown(_ down: Set<NodeID>) { network.down.withLock { $0 = down } }

        func shutdown() {
            for pool in pools.values { pool.shutdown() }
            for storage in storages.values { try? storage.close() }
        }
    }

    @Sendable static func now() -> Now {
        let wall = UInt64(Date().timeIntervalSince1970 * 1000)
        return Now(wallMillis: wall, monotonicMillis: UInt64(ProcessInfo.processInfo.systemUptime * 1000))
    }

    static func definition(_ name: String, _ id: UInt32) -> TableDefinition {
        TableDefinition(
            name: name, tableId: id, uuid: "u\(id)", partitionKey: KeyAttribute(name: "pk", type: .string), sortKey: nil,
            attributeDefinitions: [KeyAttribute(name: "pk", type: .string)], billingMode: "PAY_PER_REQUEST",
            readCapacityUnits: 0, writeCapacityUnits: 0, creationDateTime: 0
        )
    }

    /// Catch-up asked every 100 ms, so a node that starts before its peers do catches up soon.
    static var testSettings: Catalog.Settings {
        var settings = Catalog.Settings()
        settings.log.catchUpIntervalMillis = 100
        return settings
    }

    func makeCluster(
        _ settings: Catalog.Settings = CatalogClusterTests.testSettings,
        open: @escaping @Sendable (NodeID) throws -> any StorageEngine = { _ in InMemoryStorage() }
    ) async throws -> Cluster {
        let cluster = try Cluster(members: members, settings: settings, open: open)
        addTeardownBlock { cluster.shutdown() }
        for member in members {
            let caughtUp = await cluster[member].waitUntilCaughtUp(timeoutMillis: 5_000)
            XCTAssertTrue(caughtUp, "\(member) catches up with its peers at start")
        }
        return cluster
    }

    /// Polls until `condition` holds, at most `timeoutMillis`.
    func eventually(_ timeoutMillis: Int = 5_000, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<(timeoutMillis / 5) {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// Every node applied the same version and holds the same definitions.
    func converged(_ cluster: Cluster, _ nodes: [NodeID]? = nil) async -> Bool {
        await eventually {
            let catalogs = (nodes ?? members).map { cluster[$0] }
            let versions = Set(catalogs.map(\.version))
            let views = catalogs.map { catalog in catalog.tableNames().map { catalog.table(named: $0)!.encodedJSON() } }
            return versions.count == 1 && views.allSatisfy { $0 == views[0] }
        }
    }

    static func errorCode(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as DynamoDBError {
            return error.code
        } catch {
            return "\(error)"
        }
    }

    func testConcurrentCreateTableOfOneNameOnTwoNodesGivesOneSuccessAndOneResourceInUse() async throws {
        let cluster = try await makeCluster()
        for round in 0..<10 {
            let name = "race\(round)"
            async let first = Self.errorCode { _ = try await cluster["n1"].create(name) { Self.definition(name, $0) } }
            async let second = Self.errorCode { _ = try await cluster["n2"].create(name) { Self.definition(name, $0) } }
            let outcomes = [await first, await second]
            XCTAssertEqual(outcomes.filter { $0 == nil }.count, 1, "exactly one CreateTable of \(name) succeeds: \(outcomes)")
            XCTAssertEqual(outcomes.filter { $0 == "ResourceInUseException" }.count, 1, "the other gets ResourceInUseException: \(outcomes)")
            for member in members {
                XCTAssertNotNil(cluster[member].table(named: name), "\(member) knows \(name) as soon as CreateTable answered")
            }
        }
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed, "every node describes the same tables")
        let ids = cluster["n1"].tableNames().map { cluster["n1"].table(named: $0)!.tableId }
        XCTAssertEqual(ids.count, 10)
        XCTAssertEqual(Set(ids).count, ids.count, "table ids are unique: \(ids)")
        for member in members {
            XCTAssertEqual(cluster[member].table(named: "race3")?.tableId, cluster["n1"].table(named: "race3")?.tableId)
        }
    }

    func testTableIdsAreUniqueAcrossManyConcurrentCreatesOnEveryNode() async throws {
        let cluster = try await makeCluster()
        let created = IdLog()
        await withTaskGroup(of: Void.self) { group in
            for member in members {
                for index in 0..<8 {
                    group.addTask {
                        let name = "\(member)-\(index)"
                        if let table = try? await cluster[member].create(name, build: { Self.definition(name, $0) }) {
                            created.append(table.tableId)
                        }
                    }
                }
            }
        }
        XCTAssertEqual(created.all.count, 24, "every create of a distinct name succeeds")
        XCTAssertEqual(Set(created.all).count, created.all.count, "no id handed out twice: \(created.all.sorted())")
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed)
        XCTAssertEqual(cluster["n3"].tableCount, 24)
    }

    func testANodeThatWasDownLearnsEveryChangeBeforeItServes() async throws {
        // Few retained entries, so the returning node needs a snapshot as well as entries.
        var settings = Self.testSettings
        settings.log.decidedRetainedMax = 2
        let cluster = try await makeCluster(settings)
        _ = try await cluster["n1"].create("old") { Self.definition("old", $0) }
        _ = try await cluster["n1"].create("doomed") { Self.definition("doomed", $0) }
        let converged1 = await converged(cluster)
        XCTAssertTrue(converged1)

        cluster.setDown(["n3"])
        let fresh = try await cluster["n2"].create("fresh") { Self.definition("fresh", $0) }
        _ = try await cluster["n1"].modify("old") { $0.tags.append((key: "k", value: "v")) }
        _ = try await cluster["n1"].delete("doomed")
        for index in 0..<4 { _ = try await cluster["n2"].create("more\(index)") { Self.definition("more\(index)", $0) } }
        XCTAssertNil(cluster["n3"].table(named: "fresh"), "n3 missed the changes while down")

        // n3 restarts: until a majority confirms it knows everything, it serves nothing.
        try cluster.start("n3")
        XCTAssertFalse(cluster["n3"].isCaughtUp)
        let whileCatchingUp = await Self.errorCode { _ = try cluster["n3"].activeTable(named: "old") }
        XCTAssertEqual(whileCatchingUp, "InternalServerError", "a node catching up refuses, retryably")
        cluster.setDown([])
        let caughtUp = await cluster["n3"].waitUntilCaughtUp(timeoutMillis: 5_000)
        XCTAssertTrue(caughtUp)
        XCTAssertEqual(try cluster["n3"].activeTable(named: "fresh").tableId, fresh.tableId, "a table it had never seen is visible")
        XCTAssertEqual(cluster["n3"].table(named: "old")?.tags.map(\.key), ["k"])
        XCTAssertNil(cluster["n3"].table(named: "doomed"), "a table deleted meanwhile is gone")
        XCTAssertNil(
            try cluster.storages["n3"]!.get(Catalog.slotKey(Catalog.decidedPrefix, 3)),
            "the slots its peers no longer retain came as a snapshot, not one by one"
        )
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed)
    }

    func testWithAMajorityDownAChangeFailsQuicklyAndRetryablyThenSucceedsOnceTheyReturn() async throws {
        let cluster = try await makeCluster()
        cluster.setDown(["n2", "n3"])
        let started = ContinuousClock.now
        let code = await Self.errorCode { _ = try await cluster["n1"].create("t") { Self.definition("t", $0) } }
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(code, "InternalServerError", "no majority: a retryable 500")
        XCTAssertLessThan(elapsed, .seconds(3), "it fails quickly, not by hanging")
        cluster.setDown([])
        let table = try await cluster["n1"].create("t") { Self.definition("t", $0) }
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed)
        XCTAssertEqual(cluster["n2"].table(named: "t")?.tableId, table.tableId)
    }

    func testDeleteTableRemovesTheTableAndItsItemsOnEveryNode() async throws {
        let cluster = try await makeCluster()
        let table = try await cluster["n1"].create("t") { Self.definition("t", $0) }
        let agreedOnCreate = await converged(cluster)
        XCTAssertTrue(agreedOnCreate)
        for member in members {
            let coordinator = cluster.nodes.withLock { $0[member]!.coordinator }
            let item = Item([("pk", .s(member))])
            _ = try await coordinator.update(table, try table.primaryKey(ofItem: item)) { _ in .write(item) }
        }
        let deleting = try await cluster["n2"].delete("t")
        XCTAssertEqual(deleting.status, .deleting)
        XCTAssertNil(cluster["n2"].table(named: "t"), "the node that deleted it waited for the removal")
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed)
        for member in members {
            await cluster[member].waitForDeletions()
            XCTAssertNil(cluster[member].table(named: "t"))
            let left = try cluster.storages[member]!.scan(
                start: KeyEncoding.tablePrefix(table.tableId), end: KeyEncoding.tableEnd(table.tableId), reverse: false, limit: 10
            )
            XCTAssertEqual(left, [], "\(member) deleted the table's items")
        }
        let again = try await cluster["n3"].create("t") { Self.definition("t", $0) }
        XCTAssertGreaterThan(again.tableId, table.tableId, "a deleted table's id is never reused")
    }

    func testWhenTheNodeThatDeletedATableDiesAnotherNodeFinishesTheDeletion() async throws {
        var settings = Self.testSettings
        settings.deletionTakeoverMillis = 200
        let cluster = try await makeCluster(settings)
        let table = try await cluster["n1"].create("t") { Self.definition("t", $0) }
        // n1 has the table marked DELETING and dies before it can propose the removal (its own
        // deletion waits for the gate, which this test holds until n1 is down).
        let n1 = cluster["n1"]
        try await n1.gate.withLock {
            try await n1.commit { _ in (CatalogChange.markDeleting(name: "t", tableId: table.tableId), ()) }
            cluster.setDown(["n1"])
        }
        let removed = await eventually { cluster["n2"].table(named: "t") == nil && cluster["n3"].table(named: "t") == nil }
        XCTAssertTrue(removed, "the surviving majority removes the DELETING table")
        cluster.setDown([])
        let learned = await eventually { n1.table(named: "t") == nil }
        XCTAssertTrue(learned, "n1 learns the removal when it returns")
    }

    func testCatalogPeerMessagesSurviveTheirEncodingAndTruncatedOnesAreRejected() {
        let snapshot = CatalogSnapshot(version: 9, nextTableId: 4, tables: [Self.definition("a", 1), Self.definition("b", 3)])
        let messages: [CatalogPeerMessage] = [
            .log(.catchUpRequest(after: 7)), .snapshot(snapshot), .empty,
            .log(.catchUpAnswer(after: 1, entries: [CatalogEntry(origin: "n2", proposal: 5, change: [1, 2])], appliedThrough: 2)),
        ]
        for message in messages {
            let bytes = message.encoded()
            XCTAssertEqual(CatalogPeerMessage(decoding: bytes), message)
            for cut in 0..<bytes.count {
                XCTAssertNil(CatalogPeerMessage(decoding: Array(bytes[..<cut])), "\(message) cut at \(cut)")
            }
            XCTAssertNil(CatalogPeerMessage(decoding: bytes + [0]), "trailing bytes")
        }
        for change in [CatalogChange.create(Self.definition("a", 1)), .update(Self.definition("a", 1)), .markDeleting(name: "a", tableId: 7), .remove(name: "ü", tableId: 1 << 31)] {
            XCTAssertEqual(CatalogChange(decoding: change.encoded()), change)
        }
    }

    func testRestartingEveryNodeKeepsEveryTableAndVersion() async throws {
        let root = NSTemporaryDirectory() + "tern-catalog-cluster-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try await makeCluster { member in try RocksDBStorage(path: root + "/" + member) }
        _ = try await cluster["n1"].create("a") { Self.definition("a", $0) }
        let b = try await cluster["n2"].create("b") { Self.definition("b", $0) }
        _ = try await cluster["n3"].modify("a") { $0.deletionProtection = true }
        _ = try await cluster["n1"].delete("b")
        let agreed = await converged(cluster)
        XCTAssertTrue(agreed)
        let before = cluster["n1"].tableNames().map { cluster["n1"].table(named: $0)!.encodedJSON() }
        let version = cluster["n1"].version
        for member in members { try await cluster.restart(member) }
        for member in members {
            let caughtUp = await cluster[member].waitUntilCaughtUp(timeoutMillis: 5_000)
            XCTAssertTrue(caughtUp)
            XCTAssertEqual(cluster[member].version, version)
            XCTAssertEqual(cluster[member].tableNames().map { cluster[member].table(named: $0)!.encodedJSON() }, before)
        }
        let c = try await cluster["n3"].create("c") { Self.definition("c", $0) }
        XCTAssertGreaterThan(c.tableId, b.tableId, "ids stay unique across restarts")
    }

    func testADataDirectoryFromBeforeConsensusOpensAsVersionZero() async throws {
        let storage = InMemoryStorage()
        var batch = WriteBatch()
        batch.put(Catalog.key(for: "legacy"), Self.definition("legacy", 5).encodedJSON())
        batch.put(Catalog.nextIdKey, Array("9".utf8))
        try await storage.write(batch)
        let pool = BlockingPool(settings: .init(threads: 1, queueCapacity: 16))
        defer { pool.shutdown() }
        let coordinator = try CoordinatorShell(nodeId: "n1", storage: storage, pool: pool, clock: Self.now)
        let catalog = try Catalog(storage: storage, coordinator: coordinator)
        XCTAssertEqual(catalog.version, 0)
        XCTAssertEqual(try catalog.activeTable(named: "legacy").tableId, 5)
        let next = try await catalog.create("next") { Self.definition("next", $0) }
        XCTAssertEqual(next.tableId, 9, "the stored next id is the counter of version 0")
        XCTAssertEqual(catalog.version, 1)
    }
}
