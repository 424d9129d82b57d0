import TernCluster
import TernCore

/// What a peer request carries: a kind the receiver's handler dispatches on, and bytes the
/// transport does not interpret.
public struct PeerMessage: Sendable, Equatable {
    public var kind: UInt16
    public var payload: [UInt8]

    public init(kind: UInt16, payload: [UInt8] = []) {
        self.kind = kind
        self.payload = payload
    }
}

/// Why a peer request failed. Every case is known to the caller in bounded time: nothing waits
/// past its deadline.
public enum PeerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer before the request's deadline (a late answer is dropped).
    case deadlineExceeded
    /// Refused before sending: this peer's requests or bytes in flight are at their bound.
    case overloaded
    /// Refused before sending: the peer's circuit breaker is open.
    case circuitOpen
    /// Not connected: the connection could not be made, failed its handshake, or was lost while
    /// the request waited.
    case unavailable(String)
    /// The request does not fit in one frame.
    case requestTooLarge(bytes: Int, max: Int)
    /// The peer answered with an error frame; see the `…Code` constants.
    case remote(code: UInt16, message: String)
    /// The client was shut down.
    case shutdown

    /// Remote code: the peer's per-connection bound on handled requests is full, or the handler
    /// reported `overloaded`. Counts as a failure for the circuit breaker.
    public static let overloadedCode: UInt16 = 1
    /// Remote code: the handler failed in another way (the message says how).
    public static let handlerFailedCode: UInt16 = 2
    /// Remote code: the handler's response was larger than a frame may be.
    public static let responseTooLargeCode: UInt16 = 3

    /// Whether retrying elsewhere or later is the remedy: the peer or this node is short of capacity.
    public var isOverloaded: Bool {
        switch self {
        case .overloaded: return true
        case .remote(let code, _): return code == PeerError.overloadedCode
        case .deadlineExceeded, .circuitOpen, .unavailable, .requestTooLarge, .shutdown: return false
        }
    }

    public var description: String {
        switch self {
        case .deadlineExceeded: return "peer request deadline exceeded"
        case .overloaded: return "too many peer requests in flight"
        case .circuitOpen: return "peer circuit breaker open"
        case .unavailable(let reason): return "peer unavailable: \(reason)"
        case .requestTooLarge(let bytes, let max): return "peer request of \(bytes) bytes exceeds the frame bound of \(max)"
        case .remote(let code, let message): return "peer error \(code): \(message)"
        case .shutdown: return "peer client shut down"
        }
    }
}

/// Serves requests that arrive from authenticated peers. Called concurrently (at most
/// `handledRequestsPerConnectionMax` at once per connection); the task is cancelled at the
/// request's deadline, after which the answer is dropped anyway.
public protocol PeerRequestHandler: Sendable {
    /// `deadlineMillis`: how long the sender was willing to wait when it sent the request.
    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError>
}

/// What the transport reports for logs and status. The shell that owns the transport decides how
/// to log them.
public enum PeerEvent: Sendable, Equatable {
    /// Server: a peer completed the handshake.
    case accepted(peer: NodeID, remote: String)
    /// Server: a connection was closed for breaking the protocol (malformed, oversized or
    /// unexpected frame, failed authentication, handshake timeout, connection bound).
    case rejected(remote: String, reason: String)
    /// Client: connected and authenticated to the peer. `peer` is its node id, or `host:port`
    /// while no handshake has named it.
    case connected(peer: String)
    /// Client: a connection attempt failed, or the connection was lost.
    case disconnected(peer: String, reason: String)
}
