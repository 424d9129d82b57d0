/// A node's id as it appears in versions, partition maps and preference lists.
public typealias NodeID = String

/// The failure domain a node runs in (`--zone`: a rack, an availability zone). Optional per node:
/// preference lists place a key's replicas in distinct zones first.
public typealias Zone = String

/// The spelling every node id and zone follows: short, printable, safe in file names, logs, URLs
/// and the partition map's text form (which uses ' ', ':', '@', ',' and '-' around them, never
/// inside an id).
public enum NodeName {
    public static let maxLength = 64

    /// Whether `name` is 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'.
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maxLength else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
    }

    /// Byte-wise order of the UTF-8 spelling: the same on every node and every platform, so every
    /// node sorts the same member set the same way.
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }
}
