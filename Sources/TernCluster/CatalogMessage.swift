import TernCore

/// The messages of the catalog log between members.
public enum CatalogMessage: Sendable, Equatable {
    /// A Paxos message of the instance that decides `slot`.
    case paxos(slot: UInt64, PaxosMessage)
    /// "Send me the decided slots after `after`."
    case catchUpRequest(after: UInt64)
    /// The decided entries of slots `after + 1`, `after + 2`, … (at most `catchUpEntriesMax` and
    /// `catchUpBytesMax`), and the sender's own last applied slot, so the requester knows whether
    /// to ask for more.
    case catchUpAnswer(after: UInt64, entries: [CatalogEntry], appliedThrough: UInt64)
}
