import TernCore

/// A per-peer circuit breaker (DESIGN.md §6; Nygard, "Release It!"): after enough consecutive
/// failures a peer is skipped at once instead of waited on, so a sick node does not drag its
/// peers down; after a cool-down a bounded number of probes test it, and one success lets traffic
/// through again.
///
/// A pure state machine: the shell asks `allow(nowMillis:)` before it sends and reports every
/// attempt's outcome with `record(_:nowMillis:)`; `nowMillis` is a monotonic clock.
///
/// - closed: everything passes; `failureThreshold` consecutive failures open it.
/// - open(until): nothing passes until `until`; then the first `allow` makes it half-open.
/// - halfOpen(probesInFlight): at most `halfOpenProbesMax` attempts pass. A success closes it; a
///   failure opens it again for twice the last cool-down (at most `coolDownMaxMillis`), so a peer
///   that stays down is probed ever less often.
///
/// A success in any state closes the breaker: any answer proves the peer is there. A failure
/// while open changes nothing (it belongs to an attempt made before the breaker opened).
public struct CircuitBreaker: Sendable, Equatable {
    public struct Settings: Sendable, Equatable {
        /// Consecutive failures (errors or timeouts) that open a closed breaker.
        public var failureThreshold: Int
        /// The first cool-down after opening.
        public var coolDownMillis: UInt64
        /// The longest cool-down, however often probes fail.
        public var coolDownMaxMillis: UInt64
        /// Attempts let through while half-open.
        public var halfOpenProbesMax: Int

        public init(failureThreshold: Int = 5, coolDownMillis: UInt64 = 1_000, coolDownMaxMillis: UInt64 = 30_000, halfOpenProbesMax: Int = 1) {
            self.failureThreshold = failureThreshold
            self.coolDownMillis = coolDownMillis
            self.coolDownMaxMillis = coolDownMaxMillis
            self.halfOpenProbesMax = halfOpenProbesMax
        }

        public func validate() throws(ConfigurationError) {
            guard failureThreshold >= 1 else { throw ConfigurationError("circuit breaker failure threshold must be at least 1") }
            guard coolDownMillis >= 1, coolDownMaxMillis >= coolDownMillis else {
                throw ConfigurationError("circuit breaker cool-down must be at least 1 ms and at most its maximum")
            }
            guard halfOpenProbesMax >= 1 else { throw ConfigurationError("circuit breaker must let at least one probe through") }
        }
    }

    public enum State: Sendable, Equatable {
        case closed(consecutiveFailures: Int)
        case open(untilMillis: UInt64)
        case halfOpen(probesInFlight: Int)
    }

    public enum Outcome: Sendable, Equatable {
        case success
        /// An error, a timeout, a lost connection.
        case failure
    }

    public let settings: Settings
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// How long the breaker stays open the next time it opens from half-open; it doubles with
    /// every failed probe and returns to `settings.coolDownMillis` when the breaker closes.
    public private(set) var coolDownMillis: UInt64

    public init(settings: Settings = Settings()) {
        self.settings = settings
        self.coolDownMillis = settings.coolDownMillis
    }

    /// Whether an attempt may be made now; counts it as a probe when half-open. An open peer is
    /// refused at once.
    public mutating func allow(nowMillis: UInt64) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard nowMillis >= until else { return false }
            state = .halfOpen(probesInFlight: 1)
            return true
        case .halfOpen(let probes):
            guard probes < settings.halfOpenProbesMax else { return false }
            state = .halfOpen(probesInFlight: probes + 1)
            return true
        }
    }

    /// Whether `allow` would let an attempt through now, without counting one (for status pages).
    public func wouldAllow(nowMillis: UInt64) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until): return nowMillis >= until
        case .halfOpen(let probes): return probes < settings.halfOpenProbesMax
        }
    }

    public mutating func record(_ outcome: Outcome, nowMillis: UInt64) {
        switch (outcome, state) {
        case (.success, _):
            state = .closed(consecutiveFailures: 0)
            coolDownMillis = settings.coolDownMillis
        case (.failure, .closed(let failures)):
            let failures = failures + 1
            state = failures >= settings.failureThreshold ? .open(untilMillis: nowMillis &+ coolDownMillis) : .closed(consecutiveFailures: failures)
        case (.failure, .open):
            break
        case (.failure, .halfOpen):
            let cap = settings.coolDownMaxMillis
            coolDownMillis = coolDownMillis > cap / 2 ? cap : min(coolDownMillis * 2, cap)
            state = .open(untilMillis: nowMillis &+ coolDownMillis)
        }
    }
}
