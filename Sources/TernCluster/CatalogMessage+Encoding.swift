import TernCore

/// The wire form of catalog messages, for the peer transport's frames.
///
/// Layout (integers big-endian): format version (1), kind (1 paxos, 2 catch-up request, 3 catch-up
/// answer), then
/// - paxos: slot (UInt64), Paxos kind (1 prepare, 2 promise, 3 accept, 4 accepted, 5 nack,
///   6 decided) and its fields — ballots as in `WireWriter.ballot`, values as length (UInt32) and
///   bytes, a promise's accepted value behind a presence byte;
/// - catch-up request: after (UInt64);
/// - catch-up answer: after, applied-through (UInt64 each), entry count (UInt32), each entry as
///   length (UInt32) and `CatalogEntry.encoded()`.
///
/// Decoding returns nil for anything else — unknown versions or kinds, truncation, trailing
/// bytes, invalid UTF-8, entries that do not decode — and allocates no more than the input holds;
/// the receiver drops such a message (and the transport may close the connection). Semantic
/// bounds (change size, entries per answer) are `CatalogLog`'s to enforce.
extension CatalogMessage {
    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var writer = WireWriter()
        writer.byte(Self.formatVersion)
        switch self {
        case .paxos(let slot, let message):
            writer.byte(1)
            writer.integer(slot, width: 8)
            message.encode(into: &writer)
        case .catchUpRequest(let after):
            writer.byte(2)
            writer.integer(after, width: 8)
        case .catchUpAnswer(let after, let entries, let appliedThrough):
            writer.byte(3)
            writer.integer(after, width: 8)
            writer.integer(appliedThrough, width: 8)
            writer.integer(UInt64(entries.count), width: 4)
            for entry in entries { writer.blob(entry.encoded()) }
        }
        return writer.bytes
    }

    public init?(decoding bytes: [UInt8]) {
        var reader = WireReader(bytes)
        guard reader.byte() == Self.formatVersion, let kind = reader.byte(), let message = Self.decode(kind, from: &reader),
              reader.isAtEnd else { return nil }
        self = message
    }

    static func decode(_ kind: UInt8, from reader: inout WireReader) -> CatalogMessage? {
        switch kind {
        case 1:
            guard let slot = reader.integer(width: 8), let message = PaxosMessage.decode(from: &reader) else { return nil }
            return .paxos(slot: slot, message)
        case 2:
            return reader.integer(width: 8).map { .catchUpRequest(after: $0) }
        case 3:
            guard let after = reader.integer(width: 8), let appliedThrough = reader.integer(width: 8),
                  let count = reader.integer(width: 4) else { return nil }
            var entries: [CatalogEntry] = []
            for _ in 0..<count {
                // Each entry takes at least its length field, so a hostile count ends here.
                guard let blob = reader.blob(), let entry = CatalogEntry(decoding: blob) else { return nil }
                entries.append(entry)
            }
            return .catchUpAnswer(after: after, entries: entries, appliedThrough: appliedThrough)
        default:
            return nil
        }
    }
}

extension PaxosMessage {
    func encode(into writer: inout WireWriter) {
        switch self {
        case .prepare(let ballot):
            writer.byte(1)
            writer.ballot(ballot)
        case .promise(let ballot, let accepted):
            writer.byte(2)
            writer.ballot(ballot)
            writer.byte(accepted == nil ? 0 : 1)
            if let accepted {
                writer.ballot(accepted.ballot)
                writer.blob(accepted.value)
            }
        case .accept(let ballot, let value):
            writer.byte(3)
            writer.ballot(ballot)
            writer.blob(value)
        case .accepted(let ballot):
            writer.byte(4)
            writer.ballot(ballot)
        case .nack(let ballot, let promised):
            writer.byte(5)
            writer.ballot(ballot)
            writer.ballot(promised)
        case .decided(let value):
            writer.byte(6)
            writer.blob(value)
        }
    }

    static func decode(from reader: inout WireReader) -> PaxosMessage? {
        switch reader.byte() {
        case 1:
            return reader.ballot().map { .prepare($0) }
        case 2:
            guard let ballot = reader.ballot(), let present = reader.byte() else { return nil }
            switch present {
            case 0: return .promise(ballot, accepted: nil)
            case 1:
                guard let acceptedAt = reader.ballot(), let value = reader.blob() else { return nil }
                return .promise(ballot, accepted: PaxosAcceptor.Accepted(ballot: acceptedAt, value: value))
            default: return nil
            }
        case 3:
            guard let ballot = reader.ballot(), let value = reader.blob() else { return nil }
            return .accept(ballot, value: value)
        case 4:
            return reader.ballot().map { .accepted($0) }
        case 5:
            guard let ballot = reader.ballot(), let promised = reader.ballot() else { return nil }
            return .nack(ballot, promised: promised)
        case 6:
            return reader.blob().map { .decided(value: $0) }
        default:
            return nil
        }
    }
}
