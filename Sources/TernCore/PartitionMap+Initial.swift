/// The first partition map of a cluster.
extension PartitionMap {
    /// The version-1 map of a new cluster: every node computes it alone from the member set
    /// (the `--seeds` list), so all must get the same map whatever order they list members in.
    ///
    /// - Determinism: members are sorted by node id first; nothing else depends on input order.
    /// - Balance: partition `p` goes to the `p mod M`-th member of an interleaved order, so every
    ///   node owns ⌊Q/M⌋ or ⌈Q/M⌉ partitions (none when Q < M leaves it out).
    /// - Zones: the interleaved order puts nodes of different zones next to each other as far as
    ///   the zone sizes allow, so walking the ring meets distinct zones early and preference lists
    ///   span zones with short walks (see `interleaved(domains:domainCount:)`).
    ///
    /// Throws `ConfigurationError` for an invalid partition count, no members, an invalid or
    /// repeated node id, or an invalid zone.
    public static func initial(members: [Member], partitionCount: Int = Ring.partitionCountDefault) throws(ConfigurationError) -> PartitionMap {
        let ring = try Ring(partitionCount: partitionCount)
        let sorted = try validated(members)
        let (domainIndexes, domainCount) = domains(of: sorted)
        let order = interleaved(domains: domainIndexes, domainCount: domainCount)
        let owners = (0..<ring.partitionCount).map { order[$0 % order.count] }
        return PartitionMap(version: 1, ring: ring, sortedMembers: sorted, ownerIndexes: owners)
    }

    /// Member indexes ordered so that neighbours, including the last and the first, are in
    /// different failure domains whenever the largest domain holds at most half the members;
    /// with domains of equal size, every Z consecutive members (cyclically) span all Z domains.
    ///
    /// Greedy: each step takes, from a domain other than the previous step's, the next member
    /// (node-id order) of the domain with the most members left. Ties go to the domain the
    /// sequence started with, so it is drained early instead of ending next to the start; then
    /// to the domain seen first in node-id order. Taking the fullest domain first is what keeps
    /// a large domain from being left with nothing but itself to alternate with.
    static func interleaved(domains: [Int], domainCount: Int) -> [Int] {
        var queues = [[Int]](repeating: [], count: domainCount)
        for (member, domain) in domains.enumerated() { queues[domain].append(member) }
        var taken = [Int](repeating: 0, count: domainCount)
        var order: [Int] = []
        order.reserveCapacity(domains.count)
        var previous: Int? = nil
        var first: Int? = nil
        for _ in domains.indices {
            var best: Int? = nil
            for domain in 0..<domainCount where domain != previous && taken[domain] < queues[domain].count {
                guard let current = best else {
                    best = domain
                    continue
                }
                let left = queues[domain].count - taken[domain]
                let bestLeft = queues[current].count - taken[current]
                if left > bestLeft || (left == bestLeft && domain == first) { best = domain }
            }
            // Only the previous domain has members left: they must sit next to each other.
            guard let chosen = best ?? previous else { preconditionFailure("no member left after \(order.count) of \(domains.count)") }
            order.append(queues[chosen][taken[chosen]])
            taken[chosen] += 1
            previous = chosen
            if first == nil { first = chosen }
        }
        return order
    }
}
