import TernCluster
import TernCore

/// The shared secret of a cluster (`--cluster-secret-file`). Its bytes never appear in
/// descriptions, so settings can be logged.
public struct ClusterSecret: Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var description: String { "ClusterSecret(\(bytes.count) bytes, redacted)" }
}

/// Every bound and timing of the peer transport (STYLE.md: settings hold every limit and validate
/// themselves at start-up).
public struct PeerTransportSettings: Sendable {
    /// The largest frame accepted or sent (the length prefix's value).
    public var maxFrameBytes: Int
    /// Client side, per peer: requests sent or waiting for the connection and not yet answered.
    /// One more is refused at once with `PeerError.overloaded`.
    public var requestsInFlightMax: Int
    /// Client side, per peer: payload bytes of those requests. A request that would pass it is
    /// refused at once with `PeerError.overloaded`.
    public var bytesInFlightMax: Int
    /// Server side, per connection: requests being handled at once. One more is answered at once
    /// with an error frame of code `PeerError.overloadedCode`. Its default equals
    /// `requestsInFlightMax`'s, and a peer has one connection, so a client within its own bound is
    /// not refused by a server with the same settings.
    public var handledRequestsPerConnectionMax: Int
    /// Server side: inbound connections at once; more are closed as soon as they are accepted.
    public var connectionsMax: Int
    /// How long a connection may take from accept (or connect) to a completed handshake.
    public var handshakeTimeoutMillis: Int64
    /// How long a TCP connect may take.
    public var connectTimeoutMillis: Int64
    public var breaker: CircuitBreaker.Settings
    public var backoff: ReconnectBackoff.Settings
    /// The seed of each client's reconnect jitter; nil draws one from the system generator (the
    /// jitter exists to differ between nodes).
    public var backoffSeed: UInt64?
    /// With a secret, peers must prove they hold it before any request is accepted; nil turns
    /// authentication off.
    public var secret: ClusterSecret?

    public init(
        maxFrameBytes: Int = PeerFrame.maxFrameBytesDefault, requestsInFlightMax: Int = 512, bytesInFlightMax: Int = 64 * 1024 * 1024,
        handledRequestsPerConnectionMax: Int = 512, connectionsMax: Int = 256, handshakeTimeoutMillis: Int64 = 2_000,
        connectTimeoutMillis: Int64 = 1_000, breaker: CircuitBreaker.Settings = .init(), backoff: ReconnectBackoff.Settings = .init(),
        backoffSeed: UInt64? = nil, secret: ClusterSecret? = nil
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.requestsInFlightMax = requestsInFlightMax
        self.bytesInFlightMax = bytesInFlightMax
        self.handledRequestsPerConnectionMax = handledRequestsPerConnectionMax
        self.connectionsMax = connectionsMax
        self.handshakeTimeoutMillis = handshakeTimeoutMillis
        self.connectTimeoutMillis = connectTimeoutMillis
        self.breaker = breaker
        self.backoff = backoff
        self.backoffSeed = backoffSeed
        self.secret = secret
    }

    public func validate() throws(ConfigurationError) {
        guard maxFrameBytes >= 1_024, maxFrameBytes <= Int(UInt32.max) else {
            throw ConfigurationError("peer maxFrameBytes must be 1 KiB … 4 GiB, got \(maxFrameBytes)")
        }
        guard requestsInFlightMax >= 1, bytesInFlightMax >= 1, handledRequestsPerConnectionMax >= 1, connectionsMax >= 1 else {
            throw ConfigurationError("peer in-flight and connection bounds must be at least 1")
        }
        guard handshakeTimeoutMillis >= 1, connectTimeoutMillis >= 1 else {
            throw ConfigurationError("peer handshake and connect timeouts must be at least 1 ms")
        }
        try breaker.validate()
        try backoff.validate()
        if let secret, secret.bytes.isEmpty { throw ConfigurationError("the cluster secret must not be empty") }
    }
}
