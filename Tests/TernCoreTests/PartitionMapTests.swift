import XCTest
@testable import TernCore

/// A map from its text form; the fixture is known to be valid.
func partitionMap(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> PartitionMap {
    do {
        return try PartitionMap.parse(text)
    } catch {
        XCTFail("fixture should parse: \(error)", file: file, line: line)
        throw error
    }
}

/// Members from text: `"A@z1 B C@z2"`.
func members(_ text: String) -> [PartitionMap.Member] {
    text.split(separator: " ").map { word in
        let parts = word.split(separator: "@")
        return PartitionMap.Member(String(parts[0]), zone: parts.count > 1 ? String(parts[1]) : nil)
    }
}

extension SplitMix64 {
    /// A Fisher–Yates shuffle drawn from this seeded generator.
    mutating func permuted<T>(_ values: [T]) -> [T] {
        var out = values
        for index in stride(from: out.count - 1, to: 0, by: -1) {
            out.swapAt(index, below(index + 1))
        }
        return out
    }
}

final class PartitionMapTests: XCTestCase {
    // MARK: - The initial map

    func testInitialMapDealsPartitionsRoundRobinInNodeIdOrder() throws {
        let map = try PartitionMap.initial(members: members("C B A"), partitionCount: 8)
        XCTAssertEqual(map.description, "v1 q8 A:0,3,6 B:1,4,7 C:2,5")
        XCTAssertEqual(map.owner(ofPartition: 0), "A")
        XCTAssertEqual(map.owner(ofPartition: 7), "B")
        XCTAssertEqual(map.partitions(ownedBy: "C"), [2, 5])
        XCTAssertEqual(map.partitions(ownedBy: "Z"), [])
    }

    /// Fixed vectors: a change to the initial assignment changes every cluster's data placement,
    /// so it must fail here first.
    func testInitialMapFixedVectors() throws {
        let cases: [(members: String, partitions: Int, map: String)] = [
            ("A", 1, "v1 q1 A:0"),
            ("A", 4, "v1 q4 A:0-3"),
            ("A B", 1, "v1 q1 A:0 B"),
            ("A B C", 2, "v1 q2 A:0 B:1 C"),
            ("n2 n10 n1", 4, "v1 q4 n1:0,3 n10:1 n2:2"),
            ("C@z2 A@z1 D@z2 B@z1", 8, "v1 q8 A@z1:0,4 B@z1:2,6 C@z2:1,5 D@z2:3,7"),
            ("n1@a n2@a n3@a n4@b n5@b n6@c", 8, "v1 q8 n1@a:0,6 n2@a:2 n3@a:4 n4@b:1,7 n5@b:3 n6@c:5"),
            ("a@z3 b@z1 c@z1 d@z1 e@z2 f@z2", 8, "v1 q8 a@z3:3 b@z1:0,6 c@z1:2 d@z1:4 e@z2:1,7 f@z2:5"),
            ("A@x B@x C@y D", 8, "v1 q8 A@x:0,4 B@x:2,6 C@y:1,5 D:3,7"),
        ]
        for (memberText, partitions, expected) in cases {
            let map = try PartitionMap.initial(members: members(memberText), partitionCount: partitions)
            XCTAssertEqual(map.description, expected, memberText)
            XCTAssertEqual(map.version, 1)
        }
    }

    func testInitialMapDefaultsTo256Partitions() throws {
        let map = try PartitionMap.initial(members: members("A B C"))
        XCTAssertEqual(map.ring.partitionCount, 256)
        XCTAssertEqual(map.partitions(ownedBy: "A").count, 86)
        XCTAssertEqual(map.partitions(ownedBy: "C").count, 85)
    }

    func testEveryNodeOwnsFloorOrCeilOfQOverM() throws {
        var rng = SplitMix64(seed: 0xBA1A)
        for memberCount in 1...7 {
            for bits in 3...10 {
                let partitionCount = 1 << bits
                // With and without zones: zones change the order, never the counts.
                for zoned in [false, true] {
                    let nodes = (0..<memberCount).map { PartitionMap.Member("n\($0)", zone: zoned ? "z\(rng.below(3))" : nil) }
                    let map = try PartitionMap.initial(members: nodes, partitionCount: partitionCount)
                    let counts = nodes.map { map.partitions(ownedBy: $0.node).count }
                    let floor = partitionCount / memberCount
                    let ceil = (partitionCount + memberCount - 1) / memberCount
                    XCTAssertEqual(counts.reduce(0, +), partitionCount)
                    XCTAssertTrue(counts.allSatisfy { $0 == floor || $0 == ceil }, "M=\(memberCount) Q=\(partitionCount) zoned=\(zoned): \(counts)")
                }
            }
        }
    }

    func testInitialMapDependsOnTheMemberSetNotItsOrder() throws {
        var rng = SplitMix64(seed: 0x5EED)
        for _ in 0..<50 {
            let count = rng.int(1...9)
            let nodes = (0..<count).map { PartitionMap.Member("node-\(rng.below(1000))-\($0)", zone: rng.oneIn(3) ? nil : "z\(rng.below(3))") }
            let reference = try PartitionMap.initial(members: nodes, partitionCount: 64)
            for _ in 0..<5 {
                let again = try PartitionMap.initial(members: rng.permuted(nodes), partitionCount: 64)
                XCTAssertEqual(again, reference)
                XCTAssertEqual(again.description, reference.description)
            }
        }
    }

    /// The zone of each partition's owner, in partition order.
    private func ownerZones(_ map: PartitionMap) -> [Zone?] {
        (0..<map.ring.partitionCount).map { partition in
            map.members.first { $0.node == map.owner(ofPartition: partition) }!.zone
        }
    }

    /// With zones of equal size, every Z consecutive partitions have Z different zones, so the
    /// first Z nodes of every ring walk are in different zones.
    func testEqualZonesAlternateAroundTheRing() throws {
        for zoneCount in 1...4 {
            for perZone in 1...4 {
                let nodes = (0..<zoneCount * perZone).map { PartitionMap.Member("n\($0)", zone: "z\($0 / perZone)") }
                let map = try PartitionMap.initial(members: nodes, partitionCount: 256)
                let zones = ownerZones(map)
                // Up to the last whole deal of M partitions; after it the deal restarts at 0.
                let dealt = 256 / nodes.count * nodes.count
                for start in 0...(dealt - zoneCount) {
                    XCTAssertEqual(Set(zones[start..<start + zoneCount]).count, zoneCount, "Z=\(zoneCount) ×\(perZone) at \(start)")
                }
            }
        }
    }

    /// Whenever no zone holds more than half the nodes, no two neighbours in the deal order —
    /// counting the last and the first — share a zone.
    func testNeighboursAreInDifferentZonesWhenNoZoneHoldsAMajority() throws {
        var rng = SplitMix64(seed: 0x20_4E)
        var checked = 0
        while checked < 300 {
            let sizes = (0..<rng.int(2...6)).map { _ in rng.int(1...6) }
            let total = sizes.reduce(0, +)
            guard sizes.max()! * 2 <= total else { continue }
            checked += 1
            var nodes: [PartitionMap.Member] = []
            for (zone, size) in sizes.enumerated() {
                for _ in 0..<size { nodes.append(.init("n\(rng.below(1_000_000))-\(nodes.count)", zone: "z\(zone)")) }
            }
            let map = try PartitionMap.initial(members: nodes, partitionCount: 64)
            let zones = ownerZones(map)
            let order = Array(zones[0..<total])
            for index in order.indices {
                XCTAssertNotEqual(order[index], order[(index + 1) % total], "sizes \(sizes): \(order)")
            }
        }
    }
}
