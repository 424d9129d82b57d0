/// A hybrid logical clock (Kulkarni et al., 2014): 48 bits of physical milliseconds and 16 bits of
/// logical counter. Timestamps never go backwards even if the wall clock does, and they stay
/// close to real time, so last-writer-wins picks the write a user would call the latest.
///
/// Pure: the caller passes the physical time in. This is the clock's state in memory only;
/// The coordinator's `CeilingClock` wraps it with durable ceilings so that it never goes back across restarts.
public struct HybridLogicalClock: Sendable, Equatable {
    public private(set) var last: UInt64 = 0

    public init(last: UInt64 = 0) {
        self.last = last
    }

    /// The next timestamp for a local event at `physicalMillis`.
    public mutating func tick(physicalMillis: UInt64) -> UInt64 {
        let physical = physicalMillis << 16
        // Saturate rather than trap: a corrupt timestamp must not crash the node.
        last = physical > last ? physical : (last == .max ? last : last + 1)
        return last
    }

    /// Advances past a timestamp received from another node.
    public mutating func observe(_ remote: UInt64, physicalMillis: UInt64) -> UInt64 {
        let physical = physicalMillis << 16
        let newest = max(last, remote)
        last = max(physical, newest == .max ? newest : newest + 1)
        return last
    }
}
