/// Which node owns each partition of the ring: a versioned, immutable value (DESIGN.md §4).
///
/// Every node holds the same map for the same version; a key's replicas are found by walking
/// the ring from its partition (`preferenceList(forPartition:replicationFactor:)`, Dynamo §4.3).
/// The first map of a cluster comes from `initial(members:partitionCount:)`, which every node
/// derives alone from the same member set; later maps (membership changes) get higher versions.
///
/// Text form (`description`, `parse`), one entry per member in node-id order, each with its zone
/// and the partitions it owns as ranges:
///
///     v1 q8 A@z1:0,4 B@z1:2,6 C@z2:1,5 D@z2:3,7
public struct PartitionMap: Sendable, Equatable {
    /// A node of the cluster and the failure domain it runs in.
    public struct Member: Sendable, Equatable {
        public var node: NodeID
        /// nil: the node shares its failure domain with no one (a zone of its own).
        public var zone: Zone?

        public init(_ node: NodeID, zone: Zone? = nil) {
            self.node = node
            self.zone = zone
        }
    }

    /// Orders maps: a node adopts a map only if its version is higher than the one it holds.
    public let version: UInt64
    public let ring: Ring
    /// Every member, in node-id order (`NodeName.precedes`), each once.
    public let members: [Member]
    /// The owner of each partition, as an index into `members`.
    let ownerIndexes: [Int]
    /// The failure domain of each member, as a small number: members with the same zone share
    /// one; a member without a zone has one of its own. Preference lists compare these.
    let domainIndexes: [Int]
    let domainCount: Int

    /// A map assigning partition `p` to `owners[p]`. Members may come in any order; each must be
    /// named once with a valid id (and zone, if any), and every owner must be a member.
    public init(version: UInt64, ring: Ring, members: [Member], owners: [NodeID]) throws(ConfigurationError) {
        let sorted = try PartitionMap.validated(members)
        guard owners.count == ring.partitionCount else {
            throw ConfigurationError("a partition map of \(ring.partitionCount) partitions needs as many owners, got \(owners.count)")
        }
        var indexes: [Int] = []
        indexes.reserveCapacity(owners.count)
        for (partition, owner) in owners.enumerated() {
            guard let index = PartitionMap.index(of: owner, in: sorted) else {
                throw ConfigurationError("partition \(partition) is owned by '\(owner)', which is not a member")
            }
            indexes.append(index)
        }
        self.init(version: version, ring: ring, sortedMembers: sorted, ownerIndexes: indexes)
    }

    /// The one place stored properties are set; callers have validated everything.
    init(version: UInt64, ring: Ring, sortedMembers: [Member], ownerIndexes: [Int]) {
        precondition(ownerIndexes.count == ring.partitionCount, "\(ownerIndexes.count) owners for \(ring.partitionCount) partitions")
        self.version = version
        self.ring = ring
        self.members = sortedMembers
        self.ownerIndexes = ownerIndexes
        (self.domainIndexes, self.domainCount) = PartitionMap.domains(of: sortedMembers)
    }

    /// The node that owns `partition`: the first of its preference list.
    public func owner(ofPartition partition: Int) -> NodeID {
        members[ownerIndexes[partition]].node
    }

    /// The partitions `node` owns, in token order (empty for a node that is not a member).
    public func partitions(ownedBy node: NodeID) -> [Int] {
        guard let index = PartitionMap.index(of: node, in: members) else { return [] }
        return ownerIndexes.indices.filter { ownerIndexes[$0] == index }
    }

    // MARK: - Validation

    /// The members sorted by node id, after checking ids, zones and uniqueness.
    static func validated(_ members: [Member]) throws(ConfigurationError) -> [Member] {
        guard !members.isEmpty else { throw ConfigurationError("a partition map needs at least one member") }
        for member in members {
            guard NodeName.isValid(member.node) else {
                throw ConfigurationError(
                    "node id must be 1 to \(NodeName.maxLength) characters from A-Z, a-z, 0-9, '.', '_' and '-', got '\(member.node)'")
            }
            if let zone = member.zone, !NodeName.isValid(zone) {
                throw ConfigurationError(
                    "zone must be 1 to \(NodeName.maxLength) characters from A-Z, a-z, 0-9, '.', '_' and '-', got '\(zone)' for node '\(member.node)'")
            }
        }
        let sorted = members.sorted { NodeName.precedes($0.node, $1.node) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.node == next.node {
            throw ConfigurationError("node '\(next.node)' is named twice among the members")
        }
        return sorted
    }

    /// Binary search in members sorted by node id.
    static func index(of node: NodeID, in sorted: [Member]) -> Int? {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if NodeName.precedes(sorted[middle].node, node) { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low].node == node ? low : nil
    }

    /// Numbers the failure domains: one per distinct zone, in order of first appearance among
    /// the sorted members, and one for each member without a zone.
    static func domains(of sorted: [Member]) -> (indexes: [Int], count: Int) {
        // Linear search: zones are few, and a map is built once, not per request.
        var zoneDomains: [(zone: Zone, domain: Int)] = []
        var indexes: [Int] = []
        var count = 0
        for member in sorted {
            if let zone = member.zone, let known = zoneDomains.first(where: { $0.zone == zone }) {
                indexes.append(known.domain)
                continue
            }
            if let zone = member.zone { zoneDomains.append((zone, count)) }
            indexes.append(count)
            count += 1
        }
        return (indexes, count)
    }
}
