import TernCore

/// The durable form of an acceptor's state, which the shell writes before it answers.
///
/// Layout (integers big-endian): format version (1); a flags byte (bit 0: promised present,
/// bit 1: accepted present); then each present ballot as timestamp (UInt64), node id length
/// (UInt16) and node id UTF-8; the accepted value as its ballot, length (UInt32) and bytes.
extension PaxosAcceptor.State {
    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.byte(Self.formatVersion)
        writer.byte((promised == nil ? 0 : 1) | (accepted == nil ? 0 : 2))
        if let promised { writer.ballot(promised) }
        if let accepted {
            writer.ballot(accepted.ballot)
            writer.blob(accepted.value)
        }
        return writer.bytes
    }

    /// Nil for bytes that are not a state of this format (a torn or corrupt record): the shell
    /// must then refuse to start rather than answer with a blank acceptor that forgot a promise.
    public init?(decoding bytes: [UInt8]) {
        var reader = WireReader(bytes)
        guard reader.byte() == Self.formatVersion, let flags = reader.byte(), flags & ~3 == 0 else { return nil }
        var state = PaxosAcceptor.State()
        if flags & 1 != 0 {
            guard let ballot = reader.ballot() else { return nil }
            state.promised = ballot
        }
        if flags & 2 != 0 {
            guard let ballot = reader.ballot(), let value = reader.blob() else { return nil }
            state.accepted = PaxosAcceptor.Accepted(ballot: ballot, value: value)
        }
        guard reader.isAtEnd else { return nil }
        self = state
    }
}
