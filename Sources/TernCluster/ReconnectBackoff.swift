import TernCore

/// Delays between attempts to reconnect to a peer: capped exponential backoff with full jitter
/// (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015): attempt k waits a
/// uniformly drawn delay in 0 … min(cap, base · 2ᵏ). The jitter spreads the reconnects of many
/// nodes to one peer that came back, so they do not arrive in lockstep; the cap bounds how long
/// a returning peer goes unnoticed.
///
/// Pure: the delays come from its own seeded generator, so a seed reproduces them.
public struct ReconnectBackoff: Sendable {
    public struct Settings: Sendable, Equatable {
        public var baseMillis: UInt64
        public var capMillis: UInt64

        public init(baseMillis: UInt64 = 50, capMillis: UInt64 = 2_000) {
            self.baseMillis = baseMillis
            self.capMillis = capMillis
        }

        public func validate() throws(ConfigurationError) {
            guard baseMillis >= 1, capMillis >= baseMillis else {
                throw ConfigurationError("reconnect backoff base must be at least 1 ms and at most its cap")
            }
        }
    }

    public let settings: Settings
    /// Failed attempts since the last success.
    public private(set) var attempts = 0
    private var generator: SplitMix64

    public init(settings: Settings = Settings(), seed: UInt64) {
        self.settings = settings
        self.generator = SplitMix64(seed: seed)
    }

    /// The largest delay the next attempt may draw: min(cap, base · 2^attempts).
    public var ceilingMillis: UInt64 {
        let doublings = min(attempts, 63)
        let (scaled, overflow) = settings.baseMillis.multipliedReportingOverflow(by: UInt64(1) << UInt64(doublings))
        return overflow ? settings.capMillis : min(scaled, settings.capMillis)
    }

    /// The delay before the next attempt, drawn from 0 … `ceilingMillis`; counts one more attempt.
    public mutating func nextDelayMillis() -> UInt64 {
        let ceiling = ceilingMillis
        attempts += 1
        return ceiling == UInt64.max ? generator.next() : generator.next() % (ceiling + 1)
    }

    /// A connection succeeded: the next failure starts again from the base.
    public mutating func reset() {
        attempts = 0
    }
}
