import TernCluster
import TernCore
import XCTest

@testable import TernTransport

final class ClusterViewTests: XCTestCase {
    func view(_ n: Int = 3, w: Int = 2, r: Int = 2, members: Int = 4) throws -> ClusterView {
        let map = try PartitionMap.initial(members: (1...members).map { PartitionMap.Member("n\($0)") }, partitionCount: 8)
        return ClusterView(local: "n1", map: map, replicationFactor: n, writeQuorum: w, readQuorum: r)
    }

    func key(token: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes = KeyEncoding.tablePrefix(7)
        writer.uint64BigEndian(token)
        return writer.bytes + [1, 2]
    }

    func testPlanIsThePartitionsPreferenceListWithTheDefaults() throws {
        let view = try view()
        let key = key(token: 0x4000_0000_0000_0000)
        let list = view.map.preferenceList(forPartition: 2, replicationFactor: 3)
        XCTAssertEqual(view.plan(forKey: key), ReplicaPlan(preference: list.replicas, fallbacks: list.fallbacks, writeQuorum: 2, readQuorum: 2))
    }

    func testRequestAndTableSettingsAreClampedToTheKeysN() throws {
        let view = try view()
        let key = key(token: 0)
        XCTAssertEqual(view.plan(forKey: key, writeQuorum: 9).writeQuorum, 3)
        XCTAssertEqual(view.plan(forKey: key, readQuorum: 1).readQuorum, 1)
        let single = view.plan(forKey: key, replicationFactor: 1)
        XCTAssertEqual(single.preference.count, 1)
        XCTAssertEqual(single.writeQuorum, 1, "W = 2 clamped to the table's N = 1")
        XCTAssertEqual(single.fallbacks.count, 3)
        XCTAssertEqual(view.plan(forKey: key, replicationFactor: 9).preference.count, 4, "N above the cluster's size: every member")
    }

    func testNLargerThanTheClusterIsClampedAtStart() throws {
        let view = try view(5, w: 4, r: 4, members: 2)
        XCTAssertEqual(view.replicationFactor, 2)
        XCTAssertEqual(view.writeQuorum, 2)
        XCTAssertEqual(view.readQuorum, 2)
    }

    func testClusterOfOneSharesOnePlan() {
        let view = ClusterView.single("solo")
        XCTAssertTrue(view.isSingleNode)
        XCTAssertEqual(view.plan(forKey: key(token: 99)), .single("solo"))
        XCTAssertEqual(view.peers, [])
    }

    func testTableReplicationTagsAreParsedAndValidated() throws {
        XCTAssertEqual(try TableReplication.parse([("tern:n", "5"), ("tern:w", "3"), ("other", "x")]), TableReplication(replicationFactor: 5, writeQuorum: 3, readQuorum: nil))
        XCTAssertThrowsError(try TableReplication.parse([("tern:n", "2"), ("tern:r", "3")]))
        XCTAssertThrowsError(try TableReplication.parse([("tern:w", "0")]))
        XCTAssertThrowsError(try TableReplication.parse([("tern:q", "1")]))
        XCTAssertThrowsError(try TableReplication.parse([("tern:n", "17")]))
    }
}
