import TernCore

/// Big-endian byte writing and bounds-checked reading for the Paxos records and messages. The
/// reader never traps and never allocates more than the input holds: every length is checked
/// against the bytes that remain, so a hostile length costs nothing.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer(_ value: UInt64, width: Int) {
        for index in stride(from: width - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8)))
        }
    }

    /// A length (UInt32) and the bytes.
    mutating func blob(_ value: [UInt8]) {
        precondition(value.count <= Int(UInt32.max), "blob too long: \(value.count) bytes")
        integer(UInt64(value.count), width: 4)
        bytes.append(contentsOf: value)
    }

    /// Timestamp (UInt64), node id length (UInt16), node id UTF-8.
    mutating func ballot(_ ballot: Ballot) {
        let node = Array(ballot.node.utf8)
        precondition(node.count <= Int(UInt16.max), "node id too long: \(node.count) bytes")
        integer(ballot.timestamp, width: 8)
        integer(UInt64(node.count), width: 2)
        bytes.append(contentsOf: node)
    }
}

struct WireReader {
    let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func byte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func integer(width: Int) -> UInt64? {
        guard remaining >= width else { return nil }
        var value: UInt64 = 0
        for _ in 0..<width { value = value << 8 | UInt64(bytes[offset]); offset += 1 }
        return value
    }

    mutating func blob() -> [UInt8]? {
        guard let count = integer(width: 4) else { return nil }
        return bytes(Int(count))
    }

    mutating func ballot() -> Ballot? {
        guard let timestamp = integer(width: 8), let count = integer(width: 2), let node = bytes(Int(count)),
              let id = String(validating: node, as: UTF8.self) else { return nil }
        return Ballot(timestamp: timestamp, node: id)
    }
}
