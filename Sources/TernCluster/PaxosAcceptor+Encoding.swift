import TernCore

/// The durable form of an acceptor's state, which the shell writes before it answers.
///
/// Layout (integers big-endian): format version (1); a flags byte (bit 0: promised present,
/// bit 1: accepted present); then each present ballot as timestamp (UInt64), node id length
/// (UInt16) and node id UTF-8; the accepted value as its ballot, length (UInt32) and bytes.
extension PaxosAcceptor.State {
    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.formatVersion, (promised == nil ? 0 : 1) | (accepted == nil ? 0 : 2)]
        if let promised { Self.append(promised, to: &bytes) }
        if let accepted {
            Self.append(accepted.ballot, to: &bytes)
            Self.append(UInt64(accepted.value.count), width: 4, to: &bytes)
            bytes.append(contentsOf: accepted.value)
        }
        return bytes
    }

    /// Nil for bytes that are not a state of this format (a torn or corrupt record): the shell
    /// must then refuse to start rather than answer with a blank acceptor that forgot a promise.
    public init?(decoding bytes: [UInt8]) {
        var reader = Reader(bytes: bytes)
        guard reader.byte() == Self.formatVersion, let flags = reader.byte(), flags & ~3 == 0 else { return nil }
        var state = PaxosAcceptor.State()
        if flags & 1 != 0 {
            guard let ballot = reader.ballot() else { return nil }
            state.promised = ballot
        }
        if flags & 2 != 0 {
            guard let ballot = reader.ballot(), let count = reader.integer(width: 4), let value = reader.bytes(Int(count)) else { return nil }
            state.accepted = PaxosAcceptor.Accepted(ballot: ballot, value: value)
        }
        guard reader.isAtEnd else { return nil }
        self = state
    }

    static func append(_ ballot: Ballot, to bytes: inout [UInt8]) {
        let node = Array(ballot.node.utf8)
        precondition(node.count <= Int(UInt16.max), "node id too long: \(node.count) bytes")
        append(ballot.timestamp, width: 8, to: &bytes)
        append(UInt64(node.count), width: 2, to: &bytes)
        bytes.append(contentsOf: node)
    }

    static func append(_ value: UInt64, width: Int, to bytes: inout [UInt8]) {
        for index in stride(from: width - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8)))
        }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }

        mutating func byte() -> UInt8? {
            bytes(1)?.first
        }

        mutating func bytes(_ count: Int) -> [UInt8]? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func integer(width: Int) -> UInt64? {
            bytes(width).map { $0.reduce(0) { $0 << 8 | UInt64($1) } }
        }

        mutating func ballot() -> Ballot? {
            guard let timestamp = integer(width: 8), let count = integer(width: 2), let node = bytes(Int(count)),
                  let id = String(validating: node, as: UTF8.self) else { return nil }
            return Ballot(timestamp: timestamp, node: id)
        }
    }
}
