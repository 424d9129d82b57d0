import TernCore

/// The coordinator's hybrid logical clock with a durable ceiling, so that timestamps never go
/// backwards across restarts, even when the wall clock steps back while the node is down.
///
/// The rule (as in TiDB's timestamp oracle and Spanner's leases): a timestamp is issued only
/// below the last ceiling that is durable; a restart resumes the clock at that ceiling, above
/// every timestamp ever stored. Ceilings are requested ahead of need (half a window early), so
/// writes wait for one only when the clock outruns the window (a forward jump, or right after
/// start-up). At most one ceiling is in flight at a time, so durable ceilings only grow.
struct CeilingClock: Sendable, Equatable {
    enum Tick: Sendable, Equatable {
        /// Use this timestamp; `persist`, when set, asks the shell to make a new ceiling durable.
        case timestamp(UInt64, persist: UInt64?)
        /// No timestamp can be issued before a higher ceiling is durable.
        case mustWait(persist: UInt64?)
    }

    private(set) var hlc: HybridLogicalClock
    private(set) var durableCeiling: UInt64
    private(set) var requestedCeiling: UInt64?
    let windowMillis: UInt64

    init(durableCeiling: UInt64, windowMillis: UInt64) {
        self.hlc = HybridLogicalClock(last: durableCeiling)
        self.durableCeiling = durableCeiling
        self.windowMillis = windowMillis
    }

    /// A timestamp for a new version; `after` is the timestamp of the version it replaces, which
    /// the clock observes first so that the new version is stamped above it (reconciliation
    /// relies on timestamps that respect causality).
    mutating func tick(wallMillis: UInt64, after predecessor: UInt64? = nil) -> Tick {
        var next = hlc
        let timestamp = predecessor.map { next.observe($0, physicalMillis: wallMillis) } ?? next.tick(physicalMillis: wallMillis)
        guard timestamp < durableCeiling else {
            return .mustWait(persist: requestCeiling(wallMillis: wallMillis))
        }
        hlc = next
        return .timestamp(timestamp, persist: renewalIfRunningLow(wallMillis: wallMillis))
    }

    /// Moves the clock past a timestamp seen elsewhere; may ask for a new ceiling.
    mutating func observe(_ remote: UInt64, wallMillis: UInt64) -> UInt64? {
        _ = hlc.observe(remote, physicalMillis: wallMillis)
        return renewalIfRunningLow(wallMillis: wallMillis)
    }

    /// A new ceiling when the clock has passed the durable ceiling or is within half a window of it.
    private mutating func renewalIfRunningLow(wallMillis: UInt64) -> UInt64? {
        let halfWindow = (windowMillis / 2) << 16
        let runningLow = hlc.last >= durableCeiling || durableCeiling - hlc.last <= halfWindow
        return runningLow ? requestCeiling(wallMillis: wallMillis) : nil
    }

    /// The shell reports a ceiling write; writes waiting for it tick again afterwards.
    mutating func persisted(_ ceiling: UInt64, succeeded: Bool) {
        if requestedCeiling == ceiling { requestedCeiling = nil }
        if succeeded { durableCeiling = max(durableCeiling, ceiling) }
    }

    /// A new ceiling one window above the newer of the wall clock and the clock, unless one is
    /// already in flight.
    private mutating func requestCeiling(wallMillis: UInt64) -> UInt64? {
        guard requestedCeiling == nil else { return nil }
        let base = max(wallMillis, hlc.last >> 16)
        let millis = min(base + windowMillis, (UInt64.max >> 16))
        let ceiling = millis << 16
        requestedCeiling = ceiling
        return ceiling
    }
}
