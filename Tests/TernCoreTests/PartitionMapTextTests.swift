import XCTest
@testable import TernCore

final class PartitionMapTextTests: XCTestCase {
    func testParsedMapHasItsVersionOwnersAndZones() throws {
        let map = try partitionMap("v3 q8 A:0-3 B@z1:4,6 C@z2:5,7 D")
        XCTAssertEqual(map.version, 3)
        XCTAssertEqual(map.ring.partitionCount, 8)
        XCTAssertEqual(map.members, [.init("A"), .init("B", zone: "z1"), .init("C", zone: "z2"), .init("D")])
        XCTAssertEqual((0..<8).map { map.owner(ofPartition: $0) }, ["A", "A", "A", "A", "B", "C", "B", "C"])
        XCTAssertEqual(map.partitions(ownedBy: "D"), [])
    }

    func testDescriptionIsCanonicalWhateverTheInputOrder() throws {
        let cases: [(String, String)] = [
            ("v3 q8 A:0-3 B:4-7", "v3 q8 A:0-3 B:4-7"),
            ("v3 q8 B:7,4-6 A:3,0,1-2", "v3 q8 A:0-3 B:4-7"),
            ("v3  q8\n  A@z1:0,2,4,6\n  B@z2:1,3,5,7\n", "v3 q8 A@z1:0,2,4,6 B@z2:1,3,5,7"),
            ("v0 q4 A:0-0,1 B:2-3 C", "v0 q4 A:0-1 B:2-3 C"),
            ("v18446744073709551615 q1 n-1.a_b:0", "v18446744073709551615 q1 n-1.a_b:0"),
        ]
        for (input, canonical) in cases {
            XCTAssertEqual(try partitionMap(input).description, canonical, input)
        }
    }

    func testDescriptionParsesBackToAnEqualMap() throws {
        var rng = SplitMix64(seed: 0x7E47)
        for _ in 0..<200 {
            let partitionCount = 1 << rng.int(0...8)
            let nodes = (0..<rng.int(1...8)).map { PartitionMap.Member("n\($0)", zone: rng.bool() ? "z\(rng.below(3))" : nil) }
            // Arbitrary owners, not only the initial deal: any map must survive the round trip.
            let owners = (0..<partitionCount).map { _ in rng.pick(nodes).node }
            let map = try PartitionMap(version: rng.next(), ring: Ring(partitionCount: partitionCount), members: rng.permuted(nodes), owners: owners)
            let parsed = try PartitionMap.parse(map.description)
            XCTAssertEqual(parsed, map, map.description)
            XCTAssertEqual(parsed.description, map.description)
        }
    }

    func testMalformedTextIsRejectedWithTheReason() {
        let cases: [(String, String)] = [
            ("", "partition map text needs a version, a partition count and members: ''"),
            ("v1 q8", "partition map text needs a version, a partition count and members: 'v1 q8'"),
            ("q8 v1 A:0-7", "partition map text must start with its version, as in 'v1': 'q8'"),
            ("v-1 q8 A:0-7", "partition map text must start with its version, as in 'v1': 'v-1'"),
            ("v1 8 A:0-7", "partition map text must give its partition count second, as in 'q256': '8'"),
            ("v1 q6 A:0-5", "partition count must be a power of two from 1 to 65536, got 6"),
            ("v1 q0 A", "partition count must be a power of two from 1 to 65536, got 0"),
            ("v1 q8 A:0-3 B:3-7", "partition 3 is owned by both 'A' and 'B'"),
            ("v1 q8 A:0-3 B:5-7", "partition 4 has no owner"),
            ("v1 q8 A:0-3 B:4-8", "partitions 4-8 of 'B' are outside 0-7"),
            ("v1 q8 A:0-3 B:4-7 A", "node 'A' is named twice among the members"),
            ("v1 q8 A:3-0 B:4-7", "'3-0' in 'A:3-0' is not a partition or an ascending range of partitions"),
            ("v1 q8 A:0-3, B:4-7", "'' in 'A:0-3,' is not a partition or an ascending range of partitions"),
            ("v1 q8 A: B:0-7", "'' in 'A:' is not a partition or an ascending range of partitions"),
            ("v1 q8 A:x B:0-7", "'x' in 'A:x' is not a partition or an ascending range of partitions"),
            ("v1 q8 :0-7", "node id must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', got ''"),
            ("v1 q8 A@:0-7", "zone must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', got '' for node 'A'"),
            ("v1 q8 A@z@y:0-7", "zone must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', got 'z@y' for node 'A'"),
        ]
        for (text, message) in cases {
            assertConfigurationError(message) { try PartitionMap.parse(text) }
        }
    }

    func testMapsAreBuiltOnlyFromValidMembersAndOwners() throws {
        let ring = try Ring(partitionCount: 2)
        assertConfigurationError("a partition map needs at least one member") {
            try PartitionMap(version: 1, ring: ring, members: [], owners: [])
        }
        assertConfigurationError("a partition map of 2 partitions needs as many owners, got 3") {
            try PartitionMap(version: 1, ring: ring, members: members("A"), owners: ["A", "A", "A"])
        }
        assertConfigurationError("partition 1 is owned by 'B', which is not a member") {
            try PartitionMap(version: 1, ring: ring, members: members("A"), owners: ["A", "B"])
        }
        assertConfigurationError("node id must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', got 'a b'") {
            try PartitionMap.initial(members: [.init("a b")], partitionCount: 2)
        }
        assertConfigurationError("node id must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', got '\(String(repeating: "x", count: 65))'") {
            try PartitionMap.initial(members: [.init(String(repeating: "x", count: 65))], partitionCount: 2)
        }
        assertConfigurationError("node 'B' is named twice among the members") {
            try PartitionMap.initial(members: members("B A@z1 B@z2"), partitionCount: 2)
        }
        assertConfigurationError("a partition map needs at least one member") {
            try PartitionMap.initial(members: [], partitionCount: 2)
        }
        assertConfigurationError("partition count must be a power of two from 1 to 65536, got 131072") {
            try PartitionMap.initial(members: members("A"), partitionCount: 131_072)
        }
        // 64 characters is the longest id allowed.
        XCTAssertNoThrow(try PartitionMap.initial(members: [.init(String(repeating: "x", count: 64))], partitionCount: 2))
    }
}
