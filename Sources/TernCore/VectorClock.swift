/// A vector clock: one counter per node that coordinated a write (Dynamo §4.4), with server
/// (node) ids as actors, never client ids.
///
/// Why a vector clock with node actors, and not a full dotted version vector (Preguiça et al.,
/// "Dotted Version Vectors", 2012; Riak 2.0): DVVs exist because a node that accepts two writes
/// with stale client contexts must keep both as siblings, and a plain node-actor clock would make
/// the second falsely dominate the first. Tern's coordinator never takes a context from the
/// client (the DynamoDB API has none): it writes under the key's lock after reading its own
/// stored version, so every write a node coordinates descends from that node's previous write of
/// the key, and the write's dot (writer, counter) is always contiguous with the clock. A vector
/// clock plus the writer's id (`StoredValue.writer`) is then exactly a DVV whose dot lies inside
/// the vector. When siblings are kept, each one stores its own writer, i.e. its own dot.
///
/// Counters of a node increase strictly from write to write. `StoredValue.successor` advances the
/// writer's counter to at least the write's HLC timestamp, which never goes backwards on a node
/// even across restarts (the coordinator's durable clock ceiling), so a node that lost a key's history (a purged
/// tombstone) still stamps dots above every earlier dot of its own.
///
/// Entries are sorted by the UTF-8 bytes of the node id and counters are never zero (a missing
/// entry means zero), so equal clocks are `==` and encodings are canonical. Every comparison of
/// node ids is byte-wise, never Swift's Unicode-equivalence `==` on `String`.
public struct VectorClock: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var node: String
        public var counter: UInt64

        public init(node: String, counter: UInt64) {
            self.node = node
            self.counter = counter
        }
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }

    public init(_ pairs: [String: UInt64]) {
        entries = pairs.filter { $0.value > 0 }.map { Entry(node: $0.key, counter: $0.value) }
            .sorted { VectorClock.order($0.node, $1.node) < 0 }
    }

    /// Entries already in canonical form (strictly ascending node bytes, counters > 0).
    init(canonicalEntries: [Entry]) {
        entries = canonicalEntries
    }

    /// Entries in any order, possibly repeating a node or holding zero counters; a repeated node
    /// keeps its last counter (as a dictionary built from them would).
    init(unsortedEntries: [Entry]) {
        var sorted: [Entry] = []
        sorted.reserveCapacity(unsortedEntries.count)
        for entry in unsortedEntries {
            switch VectorClock.search(entry.node, in: sorted) {
            case .found(let index): sorted[index].counter = entry.counter
            case .insertAt(let index): sorted.insert(entry, at: index)
            }
        }
        entries = sorted.filter { $0.counter > 0 }
    }

    public func counter(for node: String) -> UInt64 {
        switch VectorClock.search(node, in: entries) {
        case .found(let index): return entries[index].counter
        case .insertAt: return 0
        }
    }

    /// This clock with `node`'s counter advanced by one (saturating: 2⁶⁴ writes never happen, and
    /// a corrupt counter must not crash the node).
    public func incremented(for node: String) -> VectorClock {
        let current = counter(for: node)
        return advanced(for: node, atLeast: current == .max ? current : current + 1)
    }

    /// This clock with `node`'s counter raised to `minimum` if it is below it.
    public func advanced(for node: String, atLeast minimum: UInt64) -> VectorClock {
        var copy = self
        switch VectorClock.search(node, in: entries) {
        case .found(let index):
            copy.entries[index].counter = max(copy.entries[index].counter, minimum)
        case .insertAt(let index):
            if minimum > 0 { copy.entries.insert(Entry(node: node, counter: minimum), at: index) }
        }
        return copy
    }

    /// The least clock that descends from both: the pointwise maximum. Commutative, associative
    /// and idempotent (a join semilattice), so replicas that merge in any order agree.
    public func merged(with other: VectorClock) -> VectorClock {
        var result: [Entry] = []
        result.reserveCapacity(max(entries.count, other.entries.count))
        var i = 0
        var j = 0
        while i < entries.count, j < other.entries.count {
            let order = VectorClock.order(entries[i].node, other.entries[j].node)
            if order < 0 {
                result.append(entries[i])
                i += 1
            } else if order > 0 {
                result.append(other.entries[j])
                j += 1
            } else {
                result.append(Entry(node: entries[i].node, counter: max(entries[i].counter, other.entries[j].counter)))
                i += 1
                j += 1
            }
        }
        result.append(contentsOf: entries[i...])
        result.append(contentsOf: other.entries[j...])
        return VectorClock(canonicalEntries: result)
    }

    public enum Relation: Sendable, Equatable { case equal, before, after, concurrent }

    /// How `self` relates to `other` in causal order: one walk over both sorted entry lists.
    public func compare(_ other: VectorClock) -> Relation {
        var less = false  // some counter of self is below other's
        var greater = false  // some counter of self is above other's
        var i = 0
        var j = 0
        while i < entries.count, j < other.entries.count, !(less && greater) {
            let order = VectorClock.order(entries[i].node, other.entries[j].node)
            if order < 0 {
                greater = true  // counters are never zero, so a node only self has is ahead
                i += 1
            } else if order > 0 {
                less = true
                j += 1
            } else {
                if entries[i].counter < other.entries[j].counter { less = true }
                if entries[i].counter > other.entries[j].counter { greater = true }
                i += 1
                j += 1
            }
        }
        if i < entries.count { greater = true }
        if j < other.entries.count { less = true }
        switch (less, greater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    /// True when `self` has seen everything `other` has (pointwise ≥): `other` happened before
    /// `self` or is the same version. Riak's `vclock:descends`.
    public func descends(_ other: VectorClock) -> Bool {
        switch compare(other) {
        case .equal, .after: return true
        case .before, .concurrent: return false
        }
    }

    // MARK: Byte-wise node order

    /// Three-way comparison of the UTF-8 bytes of two node ids: negative, zero or positive.
    static func order(_ a: String, _ b: String) -> Int {
        // Not `==`: it calls canonically equivalent spellings equal, and node ids are bytes.
        var a = a
        var b = b
        return a.withUTF8 { left in
            b.withUTF8 { right in
                for index in 0..<min(left.count, right.count) where left[index] != right[index] {
                    return left[index] < right[index] ? -1 : 1
                }
                return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
            }
        }
    }

    enum SearchResult: Equatable {
        case found(Int)
        case insertAt(Int)
    }

    /// Binary search for `node` in entries sorted by node bytes.
    static func search(_ node: String, in entries: [Entry]) -> SearchResult {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let order = VectorClock.order(entries[middle].node, node)
            if order == 0 { return .found(middle) }
            if order < 0 { low = middle + 1 } else { high = middle }
        }
        return .insertAt(low)
    }
}
