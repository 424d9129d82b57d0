/// Preference lists: walking the ring clockwise from a key's partition (Dynamo §4.3).
extension PartitionMap {
    /// The N replicas of `partition` and its fallbacks.
    ///
    /// Walks partitions clockwise from `partition` (wrapping after Q − 1) and notes each node the
    /// first time it owns one; nodes that own no partition follow, in node-id order. From that
    /// walk it takes, in order, the nodes whose zone is not yet in the list (a node without a
    /// zone is a zone of its own), then, if fewer than N were found, the earliest nodes not yet
    /// taken. The rest of the walk are the fallbacks. With no zones, the replicas are simply the
    /// first N distinct nodes of the walk, as in Dynamo.
    ///
    /// Cost: the walk stops once it has met every member, after about M partitions on the maps
    /// `initial` builds (at most Q on any map); work and memory are O(M) beyond that.
    public func preferenceList(forPartition partition: Int, replicationFactor: Int) -> PreferenceList {
        precondition(partition >= 0 && partition < ring.partitionCount, "partition \(partition) outside 0..<\(ring.partitionCount)")
        precondition(replicationFactor >= 1, "replication factor \(replicationFactor) must be at least 1")
        let walk = ringWalk(from: partition)
        let count = min(replicationFactor, members.count)
        var chosen = [Bool](repeating: false, count: members.count)
        var domainUsed = [Bool](repeating: false, count: domainCount)
        var replicas: [NodeID] = []
        replicas.reserveCapacity(count)
        // Distinct zones first: while N is at most the number of zones, losing a whole zone
        // costs a key at most one replica.
        for member in walk where replicas.count < count && !domainUsed[domainIndexes[member]] {
            chosen[member] = true
            domainUsed[domainIndexes[member]] = true
            replicas.append(members[member].node)
        }
        // Zones ran out: the nearest nodes not yet taken, so N stays N.
        for member in walk where replicas.count < count && !chosen[member] {
            chosen[member] = true
            replicas.append(members[member].node)
        }
        let fallbacks = walk.filter { !chosen[$0] }.map { members[$0].node }
        return PreferenceList(partition: partition, replicas: replicas, fallbacks: fallbacks)
    }

    /// Every member once, as indexes into `members`, in the order a clockwise walk from
    /// `partition` first meets them as owners; members that own nothing come last.
    func ringWalk(from partition: Int) -> [Int] {
        var seen = [Bool](repeating: false, count: members.count)
        var walk: [Int] = []
        walk.reserveCapacity(members.count)
        let mask = ring.partitionCount - 1
        var step = 0
        while walk.count < members.count && step < ring.partitionCount {
            let owner = ownerIndexes[(partition + step) & mask]
            if !seen[owner] {
                seen[owner] = true
                walk.append(owner)
            }
            step += 1
        }
        for member in members.indices where !seen[member] { walk.append(member) }
        return walk
    }
}
