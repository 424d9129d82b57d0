import XCTest
@testable import TernCore

final class PreferenceListTests: XCTestCase {
    /// Every partition's list as text, one line per partition: `"0: A B C | D"`.
    private func lists(_ map: PartitionMap, n: Int) -> [String] {
        (0..<map.ring.partitionCount).map { "\($0): \(map.preferenceList(forPartition: $0, replicationFactor: n))" }
    }

    // MARK: - Fixed vectors (Dynamo §4.3, Figure 2 with Q = 8)

    func testWithoutZonesTheListIsTheNextNDistinctNodesClockwise() throws {
        let map = try partitionMap("v1 q8 A:0-1 B:2 C:3-5 D:6 E:7")
        XCTAssertEqual(lists(map, n: 3), [
            "0: A B C | D E",
            "1: A B C | D E",
            "2: B C D | E A",
            "3: C D E | A B",
            "4: C D E | A B",
            "5: C D E | A B",
            "6: D E A | B C",
            "7: E A B | C D",
        ])
    }

    func testDistinctZonesComeFirstThenTheNearestRemainingNodes() throws {
        let map = try partitionMap("v3 q8 A@z1:0-1 B@z1:2-3 C@z2:4-5 D@z3:6-7")
        XCTAssertEqual(lists(map, n: 3), [
            "0: A C D | B",
            "1: A C D | B",
            "2: B C D | A",
            "3: B C D | A",
            "4: C D A | B",
            "5: C D A | B",
            "6: D A C | B",
            "7: D A C | B",
        ])
        // Three zones, four replicas: the fourth is the nearest node left, after the spread ones.
        XCTAssertEqual(lists(map, n: 4), [
            "0: A C D B", "1: A C D B", "2: B C D A", "3: B C D A",
            "4: C D A B", "5: C D A B", "6: D A C B", "7: D A C B",
        ])
    }

    func testANodeWithoutAZoneIsAZoneOfItsOwn() throws {
        let map = try partitionMap("v1 q4 A:0 B@z1:1 C@z1:2 D:3")
        XCTAssertEqual(lists(map, n: 3), ["0: A B D | C", "1: B D A | C", "2: C D A | B", "3: D A B | C"])
    }

    func testInitialMapWithUnevenZonesFixedVectors() throws {
        let map = try PartitionMap.initial(members: members("n1@a n2@a n3@a n4@b n5@b n6@c"), partitionCount: 8)
        XCTAssertEqual(map.description, "v1 q8 n1@a:0,6 n2@a:2 n3@a:4 n4@b:1,7 n5@b:3 n6@c:5")
        XCTAssertEqual(lists(map, n: 3), [
            "0: n1 n4 n6 | n2 n5 n3",
            "1: n4 n2 n6 | n5 n3 n1",
            "2: n2 n5 n6 | n3 n1 n4",
            "3: n5 n3 n6 | n1 n4 n2",
            "4: n3 n6 n4 | n1 n2 n5",
            "5: n6 n1 n4 | n2 n5 n3",
            "6: n1 n4 n6 | n2 n5 n3",
            "7: n4 n1 n6 | n2 n5 n3",
        ])
    }

    func testReplicationFactorAboveTheMemberCountGivesEveryMember() throws {
        let map = try partitionMap("v1 q4 A:0,2 B:1,3")
        let list = map.preferenceList(forPartition: 1, replicationFactor: 3)
        XCTAssertEqual(list.replicas, ["B", "A"])
        XCTAssertEqual(list.fallbacks, [])
        XCTAssertEqual(list.partition, 1)
        XCTAssertEqual(list.description, "B A")
    }

    func testNodesOwningNoPartitionComeLastInNodeIdOrder() throws {
        let map = try PartitionMap.initial(members: members("E D C B A"), partitionCount: 2)
        XCTAssertEqual(map.description, "v1 q2 A:0 B:1 C D E")
        XCTAssertEqual(lists(map, n: 1), ["0: A | B C D E", "1: B | A C D E"])
        XCTAssertEqual(lists(map, n: 3), ["0: A B C | D E", "1: B A C | D E"])
        let single = try partitionMap("v1 q1 B:0 A C")
        XCTAssertEqual(lists(single, n: 2), ["0: B A | C"])
    }

    func testAClusterOfOneIsEveryPartitionsOnlyReplica() throws {
        let map = try PartitionMap.initial(members: members("n1"))
        for partition in [0, 1, 255] {
            XCTAssertEqual(map.preferenceList(forPartition: partition, replicationFactor: 3).description, "n1")
        }
    }

    // MARK: - Properties

    /// A reference ring walk, written independently: owners of partitions p, p+1, … (twice
    /// round, which meets every owner), first occurrences, then non-owners by node id.
    private func referenceWalk(_ map: PartitionMap, from partition: Int) -> [NodeID] {
        var walk: [NodeID] = []
        let count = map.ring.partitionCount
        for step in 0..<2 * count {
            let owner = map.owner(ofPartition: (partition + step) % count)
            if !walk.contains(owner) { walk.append(owner) }
        }
        walk += map.members.map(\.node).filter { !walk.contains($0) }
        return walk
    }

    func testListsAreDistinctSpreadOverZonesAndFallBackInWalkOrder() throws {
        var rng = SplitMix64(seed: 0x11_57)
        for round in 0..<150 {
            let partitionCount = 1 << rng.int(0...6)
            let zoneCount = rng.int(0...4)
            let nodes = (0..<rng.int(1...8)).map {
                PartitionMap.Member("n\($0)", zone: zoneCount == 0 || rng.oneIn(5) ? nil : "z\(rng.below(zoneCount))")
            }
            let map: PartitionMap
            if round.isMultiple(of: 2) {
                map = try PartitionMap.initial(members: nodes, partitionCount: partitionCount)
            } else {
                let owners = (0..<partitionCount).map { _ in rng.pick(nodes).node }
                map = try PartitionMap(version: 2, ring: Ring(partitionCount: partitionCount), members: nodes, owners: owners)
            }
            let zoneOf = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0.zone ?? "own:" + $0.node) })
            let domains = Set(zoneOf.values).count
            for partition in 0..<partitionCount {
                let walk = referenceWalk(map, from: partition)
                for n in 1...nodes.count + 1 {
                    let list = map.preferenceList(forPartition: partition, replicationFactor: n)
                    let context = "\(map) p\(partition) N=\(n): \(list)"
                    XCTAssertEqual(list.replicas.count, min(n, nodes.count), context)
                    XCTAssertEqual(list.replicas.first, map.owner(ofPartition: partition), context)
                    XCTAssertEqual(Set(list.replicas + list.fallbacks).count, nodes.count, "every member exactly once: \(context)")
                    XCTAssertEqual(list.replicas.count + list.fallbacks.count, nodes.count, context)
                    // The first min(N, zones) replicas are in distinct zones…
                    let spread = min(n, domains)
                    XCTAssertEqual(Set(list.replicas.prefix(spread).map { zoneOf[$0]! }).count, spread, context)
                    // …and they are the first nodes of new zones the walk meets.
                    var seenZones: Set<String> = []
                    let firstOfZones = walk.filter { seenZones.insert(zoneOf[$0]!).inserted }
                    XCTAssertEqual(Array(list.replicas.prefix(spread)), Array(firstOfZones.prefix(spread)), context)
                    // Fallbacks keep the walk's order.
                    XCTAssertEqual(list.fallbacks, walk.filter { list.fallbacks.contains($0) }, context)
                    if zoneCount == 0 {
                        XCTAssertEqual(list.replicas, Array(walk.prefix(n)), "no zones: plain Dynamo walk: \(context)")
                    }
                }
            }
        }
    }
}
