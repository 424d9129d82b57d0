import Logging
import Synchronization
import TernCluster
import TernCore
import TernStorage
import TernTransport
import XCTest

@testable import TernAPI

/// Replica messages between shells in one process. A node in `down` is known to be unreachable;
/// a node in `silent` still looks reachable but answers nothing (it died a moment ago), so a
/// request to it fails and the reader must fail over.
final class RangeLoopbackMessenger: ReplicaMessenger, @unchecked Sendable {
    let shells = Mutex<[NodeID: CoordinatorShell]>([:])
    let down = Mutex<Set<NodeID>>([])
    let silent = Mutex<Set<NodeID>>([])
    let rangeReads = Atomic<Int>(0)

    func send(_ message: ReplicaMessage, to node: NodeID, deadlineMillis: UInt32, completion: @escaping @Sendable (Result<ReplicaMessage, PeerError>) -> Void) {
        if case .readRange = message { rangeReads.add(1, ordering: .relaxed) }
        let unavailable = down.withLock { $0.contains(node) } || silent.withLock { $0.contains(node) }
        guard !unavailable, let shell = shells.withLock({ $0[node] }) else {
            completion(.failure(.unavailable("\(node) is down")))
            return
        }
        Task {
            guard let reply = await shell.serve(message) else { return completion(.failure(.remote(code: 2, message: "not a request"))) }
            completion(.success(reply))
        }
    }

    func isReachable(_ node: NodeID) -> Bool { !down.withLock { $0.contains(node) } }
}

/// Query and Scan through `DynamoDBService` on a loopback cluster of coordinator shells: ranges
/// read from the replicas of their partitions, pages that resume across partitions, parallel scan
/// segments, reconciliation of stale replicas and failover.
final class ClusterRangeTests: XCTestCase {
    struct Node {
        let shell: CoordinatorShell
        let service: DynamoDBService
        let storage: InMemoryStorage
        let catalog: Catalog
    }

    struct Cluster {
        let nodes: [NodeID: Node]
        let messenger: RangeLoopbackMessenger
        let map: PartitionMap
        let replicationFactor: Int

        subscript(_ node: NodeID) -> Node { nodes[node]! }
        var names: [NodeID] { nodes.keys.sorted() }

        func setDown(_ down: Set<NodeID>) async {
            messenger.down.withLock { $0 = down }
            for node in nodes.values { await node.shell.tick() }
        }

        /// The replicas of partition key `pk`'s partition.
        func replicas(_ pk: String) -> [NodeID] {
            let key = KeyEncoding.partitionPrefix(tableId: 1, partitionKey: .s(pk))
            return map.preferenceList(forPartition: map.ring.partition(ofStorageKey: key)!, replicationFactor: replicationFactor).replicas
        }
    }

    /// A cluster of `count` nodes over 8 partitions, each with table "things" (pk S, sk N), id 1 on all.
    func makeCluster(_ count: Int, n: Int, w: Int = 2, r: Int = 2, tableN: Int? = nil) async throws -> Cluster {
        let names = (1...count).map { "n\($0)" }
        let map = try PartitionMap.initial(members: names.map { PartitionMap.Member($0) }, partitionCount: 8)
        let messenger = RangeLoopbackMessenger()
        var nodes: [NodeID: Node] = [:]
        // Writes of keys another node serialises are forwarded to it, as the server does.
        let services = Mutex<[NodeID: DynamoDBService]>([:])
        let forwarder: RequestForwarder = { node, request in
            await services.withLock { $0[node]! }.handle(
                target: request.operation, body: request.body, host: nil, options: RequestOptions.forwarded(headers: request.headers))
        }
        for name in names {
            let storage = InMemoryStorage()
            let shell = try CoordinatorShell(
                nodeId: name, storage: storage, pool: BlockingPool(settings: .init(threads: 1, queueCapacity: 64)),
                clock: { Now(wallMillis: 1_800_000_000_000, monotonicMillis: 1_000) },
                view: ClusterView(local: name, map: map, replicationFactor: n, writeQuorum: w, readQuorum: r), messenger: messenger
            )
            let catalog = try Catalog(storage: storage, coordinator: shell)
            let service = DynamoDBService(catalog: catalog, coordinator: shell, now: { 1_700_000_000 }, logger: Logger(label: "test"), forwarder: forwarder)
            nodes[name] = Node(shell: shell, service: service, storage: storage, catalog: catalog)
        }
        messenger.shells.withLock { $0 = nodes.mapValues(\.shell) }
        services.withLock { $0 = nodes.mapValues(\.service) }
        let cluster = Cluster(nodes: nodes, messenger: messenger, map: map, replicationFactor: min(tableN ?? n, count))
        let tags = tableN.map { #","Tags":[{"Key":"tern:n","Value":"\#($0)"}]"# } ?? ""
        for name in names {
            let created = await call(cluster[name], "CreateTable", #"{"TableName":"things","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"BillingMode":"PAY_PER_REQUEST"\#(tags)}"#)
            XCTAssertEqual(created.status, 200)
        }
        return cluster
    }

    func call(_ node: Node, _ operation: String, _ body: String, options: RequestOptions = .defaults) async -> (status: Int, json: JSON) {
        let response = await node.service.handle(target: "DynamoDB_20120810.\(operation)", body: Array(body.utf8), host: "localhost:8000", options: options)
        return (response.status, (try? JSON.parse(response.body)) ?? .null)
    }

    func put(_ node: Node, _ pk: String, _ sk: Int, _ value: String = "v1") async {
        let result = await call(node, "PutItem", #"{"TableName":"things","Item":{"pk":{"S":"\#(pk)"},"sk":{"N":"\#(sk)"},"v":{"S":"\#(value)"}}}"#)
        XCTAssertEqual(result.status, 200, "\(result.json)")
    }

    /// Every stored entry of table 1 on `node`, live or not (bypassing the coordinator).
    func stored(_ cluster: Cluster, _ node: NodeID) throws -> [(key: [UInt8], value: StoredValue)] {
        try cluster[node].storage.scan(start: KeyEncoding.tablePrefix(1), end: KeyEncoding.tableEnd(1), reverse: false, limit: Int.max)
            .map { ($0.key, try StoredValue.decode($0.value)) }
    }

    /// Polls until every replica holds `count` entries of the table (writes beyond W finish in the background).
    func waitForReplicas(_ cluster: Cluster, entries count: Int) async throws {
        for _ in 0..<300 {
            let held = try cluster.names.map { try stored(cluster, $0).count }.reduce(0, +)
            if held == count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("replicas never held \(count) entries in all")
    }

    struct Paged {
        var keys: [String] = []
        var values: [String: String] = [:]
        var pages = 0
        /// The partitions the LastEvaluatedKeys fell in.
        var resumedIn: Set<Int> = []
    }

    /// Runs Query or Scan `body` page by page (ExclusiveStartKey from each LastEvaluatedKey).
    func readAll(_ cluster: Cluster, _ node: NodeID, _ operation: String, _ body: String, options: RequestOptions = .defaults) async -> Paged {
        var paged = Paged()
        var startKey: String?
        while paged.pages < 500 {
            let request = startKey.map { "{" + body + #","ExclusiveStartKey":"# + $0 + "}" } ?? "{" + body + "}"
            let result = await call(cluster[node], operation, request, options: options)
            guard result.status == 200 else {
                XCTFail("\(operation) through \(node): \(result.status) \(result.json)")
                return paged
            }
            paged.pages += 1
            for item in result.json["Items"]?.arrayValue ?? [] {
                let key = "\(item["pk"]?["S"]?.stringValue ?? "?")/\(item["sk"]?["N"]?.stringValue ?? "?")"
                paged.keys.append(key)
                paged.values[key] = item["v"]?["S"]?.stringValue
            }
            guard let last = result.json["LastEvaluatedKey"] else { return paged }
            let pk = last["pk"]?["S"]?.stringValue ?? "?"
            let sk = last["sk"]?["N"]?.stringValue ?? "?"
            let storageKey = KeyEncoding.partitionPrefix(tableId: 1, partitionKey: .s(pk))
            paged.resumedIn.insert(cluster.map.ring.partition(ofStorageKey: storageKey)!)
            startKey = #"{"pk":{"S":"\#(pk)"},"sk":{"N":"\#(sk)"}}"#
        }
        XCTFail("\(operation) never ended")
        return paged
    }

    /// 40 partition keys × 3 sort keys, written through every node in turn.
    func fill(_ cluster: Cluster) async throws -> [String] {
        var keys: [String] = []
        for index in 0..<40 {
            for sk in 0..<3 {
                await put(cluster[cluster.names[(index + sk) % cluster.names.count]], "p\(index)", sk)
                keys.append("p\(index)/\(sk)")
            }
        }
        try await waitForReplicas(cluster, entries: keys.count * cluster.replicationFactor)
        return keys.sorted()
    }

    // MARK: - Query

    func testQueryOfAPartitionWhoseReplicasExcludeTheAskedNodeReadsItsReplicas() async throws {
        let cluster = try await makeCluster(4, n: 3)
        let pk = (0..<100).map { "q\($0)" }.first { !cluster.replicas($0).contains("n1") }!
        for sk in 0..<20 { await put(cluster["n1"], pk, sk) }
        try await waitForReplicas(cluster, entries: 60)
        XCTAssertTrue(try stored(cluster, "n1").isEmpty, "n1 holds no replica of \(pk)")
        let expected = (0..<20).map { "\(pk)/\($0)" }
        for consistent in [false, true] {
            let query = #""TableName":"things","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"\#(pk)"}},"Limit":6,"ConsistentRead":\#(consistent)"#
            let forward = await readAll(cluster, "n1", "Query", query)
            XCTAssertEqual(forward.keys, expected, "consistent: \(consistent)")
            XCTAssertEqual(forward.pages, 4)
            let backward = await readAll(cluster, "n1", "Query", query + #","ScanIndexForward":false"#)
            XCTAssertEqual(backward.keys, expected.reversed(), "consistent: \(consistent)")
        }
    }

    func testConsistentQueryWithAStaleReplicaReturnsTheNewestVersionsAndRepairsIt() async throws {
        let cluster = try await makeCluster(3, n: 3)
        for sk in 0..<10 { await put(cluster["n1"], "s", sk, "v1") }
        try await waitForReplicas(cluster, entries: 30)
        await cluster.setDown(["n3"])
        for sk in 0..<10 { await put(cluster["n1"], "s", sk, "v2") }
        let deleted = await call(cluster["n2"], "DeleteItem", #"{"TableName":"things","Key":{"pk":{"S":"s"},"sk":{"N":"5"}}}"#)
        XCTAssertEqual(deleted.status, 200)
        await cluster.setDown([])
        let query = #""TableName":"things","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"s"}},"Limit":4"#
        let stale = await readAll(cluster, "n3", "Query", query)
        XCTAssertEqual(Set(stale.values.values), ["v1"], "an eventually consistent read may answer from the stale local replica alone")
        let header = await readAll(cluster, "n3", "Query", query, options: RequestOptions(readQuorum: 3))
        XCTAssertEqual(Set(header.values.values), ["v2"], "X-Tern-R: 3 asks every replica")
        XCTAssertEqual(header.keys.count, 9)
        let fresh = await readAll(cluster, "n3", "Query", query + #","ConsistentRead":true"#)
        XCTAssertEqual(fresh.keys, [0, 1, 2, 3, 4, 6, 7, 8, 9].map { "s/\($0)" }, "the newer delete hides sk 5")
        XCTAssertEqual(Set(fresh.values.values), ["v2"])
        for _ in 0..<300 {
            let values = try stored(cluster, "n3").map { $0.value.item?["v"] }
            if values == [.s("v2"), .s("v2"), .s("v2"), .s("v2"), .s("v2"), nil, .s("v2"), .s("v2"), .s("v2"), .s("v2")] { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTFail("read repair never brought n3 up to date: \(try stored(cluster, "n3").map { $0.value.item?["v"] })")
    }

    // MARK: - Scan

    func testScanReturnsEveryItemOnceWithPagesResumingAcrossPartitions() async throws {
        for (count, n) in [(3, 3), (4, 2)] {
            let cluster = try await makeCluster(count, n: n)
            let keys = try await fill(cluster)
            for node in cluster.names {
                for consistent in [false, true] {
                    let scan = await readAll(cluster, node, "Scan", #""TableName":"things","Limit":7,"ConsistentRead":\#(consistent)"#)
                    XCTAssertEqual(scan.keys.sorted(), keys, "\(count) nodes, N=\(n), through \(node), consistent: \(consistent)")
                    XCTAssertEqual(Set(scan.keys).count, scan.keys.count, "no item twice")
                    XCTAssertGreaterThan(scan.resumedIn.count, 4, "pages resumed in many partitions")
                }
            }
        }
    }

    func testScanOfATableWithItsOwnReplicationFactorReadsItsReplicas() async throws {
        let cluster = try await makeCluster(3, n: 3, w: 1, r: 1, tableN: 1)
        let keys = try await fill(cluster)
        for node in cluster.names {
            let scan = await readAll(cluster, node, "Scan", #""TableName":"things","Limit":9"#)
            XCTAssertEqual(scan.keys.sorted(), keys, "tern:n = 1: each partition's one replica is read, through \(node)")
        }
    }

    func testScanReturnsItemsInTokenOrder() async throws {
        let cluster = try await makeCluster(4, n: 2)
        _ = try await fill(cluster)
        let scan = await readAll(cluster, "n2", "Scan", #""TableName":"things","Limit":11"#)
        XCTAssertEqual(scan.keys.count, 120)
        let tokens = scan.keys.map { TokenHash.token(of: .s(String($0.split(separator: "/")[0]))) }
        XCTAssertEqual(tokens, tokens.sorted(), "Scan walks partitions in token order")
    }

    func testReverseRangeReadWalksPartitionsBackwardsAndResumesAtItsPosition() async throws {
        let cluster = try await makeCluster(4, n: 2)
        let keys = try await fill(cluster)
        let shell = cluster["n1"].shell
        let table = try XCTUnwrap(cluster["n1"].catalog.table(named: "things"))
        var end = KeyEncoding.tableEnd(1)
        var read: [[UInt8]] = []
        for _ in 0..<200 {
            let page = try await shell.readRange(table, start: KeyEncoding.tablePrefix(1), end: end, reverse: true, maxItems: 8, maxBytes: 1 << 20, consistent: true)
            read += page.items.map(\.storageKey)
            guard !page.exhausted, let last = page.lastExaminedKey else { break }
            end = last
        }
        XCTAssertEqual(read.count, keys.count)
        XCTAssertEqual(read, read.sorted { $1.lexicographicallyPrecedes($0) }, "descending key order, each key once")
    }

    func testParallelScanSegmentsCoverEveryItemExactlyOnce() async throws {
        let cluster = try await makeCluster(4, n: 2)
        let keys = try await fill(cluster)
        for total in [1, 3, 5] {
            var all: [String] = []
            for segment in 0..<total {
                let node = cluster.names[segment % cluster.names.count]
                let scan = await readAll(cluster, node, "Scan", #""TableName":"things","Limit":5,"Segment":\#(segment),"TotalSegments":\#(total)"#)
                all += scan.keys
            }
            XCTAssertEqual(all.sorted(), keys, "TotalSegments \(total)")
        }
    }

    func testEventuallyConsistentScanFailsOverWhenAReplicaStopsAnswering() async throws {
        let cluster = try await makeCluster(4, n: 2)
        let keys = try await fill(cluster)
        let lists = (0..<8).map { cluster.map.preferenceList(forPartition: $0, replicationFactor: 2).replicas }
        XCTAssertTrue(lists.contains { $0.first == "n3" && !$0.contains("n1") }, "n1 asks n3 first for some partition")
        cluster.messenger.silent.withLock { $0 = ["n3"] }
        let silent = await readAll(cluster, "n1", "Scan", #""TableName":"things","Limit":13"#)
        XCTAssertEqual(silent.keys.sorted(), keys, "every partition of n3 is read from its other replica")
        cluster.messenger.silent.withLock { $0 = [] }
        await cluster.setDown(["n4"])
        let down = await readAll(cluster, "n2", "Scan", #""TableName":"things","Limit":13"#)
        XCTAssertEqual(down.keys.sorted(), keys)
    }

    func testConsistentScanFailsWhenAPartitionHasTooFewReplicasUp() async throws {
        let cluster = try await makeCluster(4, n: 2)
        _ = try await fill(cluster)
        await cluster.setDown(["n3"])
        let result = await call(cluster["n1"], "Scan", #"{"TableName":"things","ConsistentRead":true}"#)
        XCTAssertEqual(result.status, 500, "R=2 of N=2 cannot be met for n3's partitions: \(result.json)")
    }

    func testScanOnAClusterWhereEveryNodeHoldsEverythingIsOneReadPerReplica() async throws {
        let cluster = try await makeCluster(3, n: 3)
        _ = try await fill(cluster)
        let before = cluster.messenger.rangeReads.load(ordering: .relaxed)
        let eventual = await readAll(cluster, "n2", "Scan", #""TableName":"things""#)
        XCTAssertEqual(eventual.keys.count, 120)
        XCTAssertEqual(eventual.pages, 1)
        XCTAssertEqual(cluster.messenger.rangeReads.load(ordering: .relaxed), before, "R=1: the local replica alone is read")
        let consistent = await readAll(cluster, "n2", "Scan", #""TableName":"things","ConsistentRead":true"#)
        XCTAssertEqual(consistent.keys.count, 120)
        XCTAssertEqual(consistent.pages, 1)
        XCTAssertEqual(cluster.messenger.rangeReads.load(ordering: .relaxed), before + 1, "R=2: the eight partitions share replicas, so one remote read serves them all")
    }
}
