/// The text form of a partition map (STYLE.md habit 8: fixtures as text), for tests, logs and
/// operators:
///
///     v3 q8 A:0-3 B@z1:4,6 C@z2:5,7 D
///
/// `v` the version, `q` the partition count, then one entry per member: its node id, `@` and its
/// zone if it has one, `:` and the partitions it owns as comma-separated numbers and inclusive
/// ranges (nothing for a member that owns none). Whitespace separates entries.
extension PartitionMap: CustomStringConvertible {
    /// The canonical text: members in node-id order, each one's partitions ascending with runs
    /// folded into ranges. `parse(description)` gives back an equal map.
    public var description: String {
        var owned = [[Int]](repeating: [], count: members.count)
        for (partition, owner) in ownerIndexes.enumerated() { owned[owner].append(partition) }
        var parts = ["v\(version)", "q\(ring.partitionCount)"]
        for (index, member) in members.enumerated() {
            var entry = member.node
            if let zone = member.zone { entry += "@" + zone }
            if !owned[index].isEmpty { entry += ":" + PartitionMap.ranges(owned[index]) }
            parts.append(entry)
        }
        return parts.joined(separator: " ")
    }

    /// Reads the text form. Entries may come in any order and spread over lines; every
    /// partition must be owned exactly once. Throws `ConfigurationError` naming what is wrong.
    public static func parse(_ text: String) throws(ConfigurationError) -> PartitionMap {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        guard words.count >= 3 else {
            throw ConfigurationError("partition map text needs a version, a partition count and members: '\(text)'")
        }
        guard words[0].hasPrefix("v"), let version = UInt64(words[0].dropFirst()) else {
            throw ConfigurationError("partition map text must start with its version, as in 'v1': '\(words[0])'")
        }
        guard words[1].hasPrefix("q"), let partitionCount = Int(words[1].dropFirst()) else {
            throw ConfigurationError("partition map text must give its partition count second, as in 'q256': '\(words[1])'")
        }
        let ring = try Ring(partitionCount: partitionCount)
        var members: [Member] = []
        var owners = [NodeID?](repeating: nil, count: partitionCount)
        for word in words.dropFirst(2) {
            let (member, partitions) = try entry(word, partitionCount: partitionCount)
            for partition in partitions {
                if let other = owners[partition] {
                    throw ConfigurationError("partition \(partition) is owned by both '\(other)' and '\(member.node)'")
                }
                owners[partition] = member.node
            }
            members.append(member)
        }
        if let unowned = owners.firstIndex(of: nil) {
            throw ConfigurationError("partition \(unowned) has no owner")
        }
        return try PartitionMap(version: version, ring: ring, members: members, owners: owners.map { $0! })
    }

    // MARK: - Pieces

    /// One member's entry: `node[@zone][:list]`.
    static func entry(_ word: String, partitionCount: Int) throws(ConfigurationError) -> (Member, [Int]) {
        let halves = word.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let names = halves[0].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let member = Member(String(names[0]), zone: names.count == 2 ? String(names[1]) : nil)
        guard halves.count == 2 else { return (member, []) }
        var partitions: [Int] = []
        for item in halves[1].split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1]), first <= last else {
                throw ConfigurationError("'\(item)' in '\(word)' is not a partition or an ascending range of partitions")
            }
            guard first >= 0, last < partitionCount else {
                throw ConfigurationError("partitions \(item) of '\(member.node)' are outside 0-\(partitionCount - 1)")
            }
            partitions.append(contentsOf: first...last)
        }
        return (member, partitions)
    }

    /// Ascending partitions as text, runs of two or more folded into `first-last`.
    static func ranges(_ partitions: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        while index < partitions.count {
            var end = index
            while end + 1 < partitions.count && partitions[end + 1] == partitions[end] + 1 { end += 1 }
            parts.append(end == index ? "\(partitions[index])" : "\(partitions[index])-\(partitions[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}
