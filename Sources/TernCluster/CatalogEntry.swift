import TernCore

/// One decided change of the catalog: the value of one slot of the `CatalogLog`.
///
/// The change itself is opaque here (the catalog encodes CreateTable, UpdateTable, DeleteTable
/// and tag changes its own way). The origin and the proposal number make every proposal distinct
/// even when two nodes propose byte-identical changes (two CreateTable of the same table at
/// once), so a node reports success only when its own proposal was chosen, never a look-alike.
public struct CatalogEntry: Sendable, Equatable {
    /// The node that proposed the change.
    public var origin: NodeID
    /// Unique among the origin's proposals, across restarts too (the HLC timestamp of the request
    /// is), so a proposal from before a crash is never mistaken for a new one.
    public var proposal: UInt64
    public var change: [UInt8]

    public init(origin: NodeID, proposal: UInt64, change: [UInt8]) {
        self.origin = origin
        self.proposal = proposal
        self.change = change
    }

    static let formatVersion: UInt8 = 1

    /// The Paxos value: format version (1), origin length (UInt16 big-endian), origin UTF-8,
    /// proposal (UInt64 big-endian), then the change to the end.
    public func encoded() -> [UInt8] {
        let origin = Array(origin.utf8)
        precondition(origin.count <= Int(UInt16.max), "node id too long: \(origin.count) bytes")
        var bytes: [UInt8] = [Self.formatVersion]
        bytes.reserveCapacity(11 + origin.count + change.count)
        bytes.append(contentsOf: [UInt8(origin.count >> 8), UInt8(origin.count & 0xFF)])
        bytes.append(contentsOf: origin)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: proposal >> UInt64(shift))) }
        bytes.append(contentsOf: change)
        return bytes
    }

    /// Nil for bytes that are not an entry of this format (a corrupt or hostile message).
    public init?(decoding bytes: [UInt8]) {
        guard bytes.count >= 11, bytes[0] == Self.formatVersion else { return nil }
        let originCount = Int(bytes[1]) << 8 | Int(bytes[2])
        guard bytes.count >= 11 + originCount, let origin = String(validating: bytes[3..<(3 + originCount)], as: UTF8.self) else { return nil }
        var proposal: UInt64 = 0
        for byte in bytes[(3 + originCount)..<(11 + originCount)] { proposal = proposal << 8 | UInt64(byte) }
        self.init(origin: origin, proposal: proposal, change: Array(bytes[(11 + originCount)...]))
    }
}
