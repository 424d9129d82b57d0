import NIOCore
import NIOPosix
import Synchronization
import TernCluster
import TernCore

/// This node's connection to one peer: one TCP connection, requests multiplexed over it by
/// request id, a deadline on every request, bounded requests and bytes in flight, reconnection
/// with backoff, and the peer's circuit breaker.
///
/// - `request` consults the breaker first: an open peer fails at once with `.circuitOpen`. Then
///   the bounds: a full peer fails at once with `.overloaded` (nothing queues without bound).
/// - A request made while the connection is being (re)made waits for it, within its deadline.
/// - Every request ends by its deadline: an answer after it is dropped.
/// - The breaker hears a failure for each timed-out request, for each failed connection attempt
///   or lost connection (once, not once per request that was waiting on it), and for each answer
///   that says the peer is overloaded; it hears a success for every other answer and for every
///   completed handshake.
/// - A lost or failed connection is retried after a delay from `ReconnectBackoff` (full jitter),
///   until `shutdown()`, whether or not requests are waiting; a half-open probe does not wait for
///   that delay.
/// - The peer's node id may be known in advance (`peer`), or learned from the first handshake
///   when only an address is known (a seed); either way it is pinned: a different node answering
///   at the address later is refused.
public final class PeerClient: Sendable {
    public let node: NodeID
    let host: String
    let port: Int
    let settings: PeerTransportSettings
    let eventLoop: any EventLoop
    /// Runs tasks on this connection's event loop: a task that sends a request from there writes
    /// its frame and is resumed by the answer without a thread hop.
    public let executor: EventLoopTaskExecutor
    let authenticator: PeerAuthenticator
    let onEvent: @Sendable (PeerEvent) -> Void
    let state: Mutex<State>

    typealias Continuation = CheckedContinuation<Result<PeerMessage, PeerError>, Never>

    struct Pending {
        var continuation: Continuation
        var bytes: Int
        var deadline: Scheduled<Void>?
        /// When the deadline passes (monotonic), so a request that waited for the connection
        /// tells the server how much of its time is left, not how much it had.
        var deadlineAtMillis: UInt64
        /// The frame, until it is written (requests made while connecting wait here).
        var unsent: PeerFrame?
    }

    enum Connection {
        case idle
        case connecting(attempt: UInt64)
        case ready(any Channel, attempt: UInt64)
        case waitingToReconnect(attempt: UInt64, timer: Scheduled<Void>)
        case shutDown
    }

    struct State {
        var connection = Connection.idle
        var pending: [UInt64: Pending] = [:]
        /// Ids of requests waiting for the connection, in the order they were made.
        var unsent: [UInt64] = []
        var bytesInFlight = 0
        var nextRequestId: UInt64 = 1
        var attempts: UInt64 = 0
        /// The peer's id: given at init, or learned from the first handshake.
        var peer: NodeID?
        var breaker: CircuitBreaker
        var backoff: ReconnectBackoff

        /// Removes a request; the caller resumes its continuation.
        mutating func remove(_ id: UInt64) -> Pending? {
            guard let entry = pending.removeValue(forKey: id) else { return nil }
            entry.deadline?.cancel()
            bytesInFlight -= entry.bytes
            if entry.unsent != nil { unsent.removeAll { $0 == id } }
            return entry
        }

        mutating func removeAll() -> [Pending] {
            let all = Array(pending.values)
            for entry in all { entry.deadline?.cancel() }
            pending = [:]
            unsent = []
            bytesInFlight = 0
            return all
        }
    }

    /// What `request` does once the state is decided, outside the lock.
    enum Start {
        case fail(PeerError)
        case send(any Channel, PeerFrame)
        case wait(connect: UInt64?)
    }

    public init(
        node: NodeID, peer: NodeID?, host: String, port: Int, settings: PeerTransportSettings, group: any EventLoopGroup,
        onEvent: @escaping @Sendable (PeerEvent) -> Void = { _ in }
    ) throws {
        try settings.validate()
        guard PeerHandshake.isValidNode(node), peer.map(PeerHandshake.isValidNode) ?? true else {
            throw ConfigurationError("node ids must be 1…255 bytes")
        }
        self.node = node
        self.host = host
        self.port = port
        self.settings = settings
        self.eventLoop = group.next()
        self.executor = EventLoopTaskExecutor(eventLoop)
        self.authenticator = PeerAuthenticator(secret: settings.secret)
        self.onEvent = onEvent
        var seeder = SystemRandomNumberGenerator()
        let backoff = ReconnectBackoff(settings: settings.backoff, seed: settings.backoffSeed ?? seeder.next())
        self.state = Mutex(State(peer: peer, breaker: CircuitBreaker(settings: settings.breaker), backoff: backoff))
    }

    // MARK: - Public interface

    /// Sends `message` and waits for the answer, at most `deadlineMillis`.
    public func request(_ message: PeerMessage, deadlineMillis: UInt32) async throws(PeerError) -> PeerMessage {
        let frame = PeerFrame(kind: .request, deadlineMillis: deadlineMillis, messageKind: message.kind, payload: message.payload)
        return try await exchange(frame).get()
    }

    /// A round trip that only the peer's transport answers (no handler), at most `deadlineMillis`.
    public func ping(deadlineMillis: UInt32) async throws(PeerError) {
        _ = try await exchange(PeerFrame(kind: .ping, deadlineMillis: deadlineMillis)).get()
    }

    /// Sends a ping as the breaker's half-open probe when the breaker is open, its cool-down has
    /// passed and the connection is up; does nothing otherwise. The answer (or the deadline)
    /// closes or reopens the breaker. Needed because an open peer gets no other request: a peer
    /// that was paused (SIGSTOP) keeps its connection, so no reconnection would close the breaker.
    public func probeIfDue(deadlineMillis: UInt32) {
        let due = state.withLock { state -> Bool in
            guard case .open = state.breaker.state, case .ready = state.connection else { return false }
            return state.breaker.wouldAllow(nowMillis: monotonicMillis())
        }
        guard due else { return }
        Task(executorPreference: executor) { try? await self.ping(deadlineMillis: deadlineMillis) }
    }

    /// Starts connecting now instead of at the first request (nothing happens when connected).
    public func connect() {
        let attempt = state.withLock { state -> UInt64? in
            guard case .idle = state.connection else { return nil }
            state.attempts += 1
            state.connection = .connecting(attempt: state.attempts)
            return state.attempts
        }
        if let attempt { open(attempt) }
    }

    /// The peer's node id: the one given, or the one its first handshake named (nil before).
    public var peer: NodeID? { state.withLock { $0.peer } }
    /// How events and messages name the peer.
    var peerName: String { peer ?? "\(host):\(port)" }

    /// The peer's breaker now (for status pages).
    public var breakerState: CircuitBreaker.State { state.withLock { $0.breaker.state } }
    /// Requests in flight (sent or waiting for the connection).
    public var requestsInFlight: Int { state.withLock { $0.pending.count } }
    /// Payload bytes of those requests.
    public var bytesInFlight: Int { state.withLock { $0.bytesInFlight } }
    /// Whether a connection is authenticated and ready now.
    public var isConnected: Bool {
        state.withLock { state in
            if case .ready = state.connection { return true }
            return false
        }
    }

    /// Fails every waiting request with `.shutdown`, closes the connection and stops reconnecting.
    public func shutdown() async {
        let (waiting, channel) = state.withLock { state -> ([Pending], (any Channel)?) in
            var channel: (any Channel)?
            switch state.connection {
            case .ready(let open, _): channel = open
            case .waitingToReconnect(_, let timer): timer.cancel()
            case .idle, .connecting, .shutDown: break
            }
            state.connection = .shutDown
            return (state.removeAll(), channel)
        }
        for entry in waiting { entry.continuation.resume(returning: .failure(.shutdown)) }
        try? await channel?.close()
    }

    // MARK: - Requests

    func exchange(_ frame: PeerFrame) async -> Result<PeerMessage, PeerError> {
        guard frame.bodyBytes <= settings.maxFrameBytes else {
            return .failure(.requestTooLarge(bytes: frame.bodyBytes, max: settings.maxFrameBytes))
        }
        guard frame.deadlineMillis > 0 else { return .failure(.deadlineExceeded) }
        return await withCheckedContinuation { (continuation: Continuation) in
            let start = state.withLock { state in begin(frame, continuation, in: &state) }
            switch start {
            case .fail(let error):
                continuation.resume(returning: .failure(error))
            case .send(let channel, let frame):
                write([frame], to: channel)
            case .wait(let attempt):
                if let attempt { open(attempt) }
            }
        }
    }

    /// Admits a request under the lock: breaker, bounds, then send or wait for the connection.
    private func begin(_ frame: PeerFrame, _ continuation: Continuation, in state: inout State) -> Start {
        if case .shutDown = state.connection { return .fail(.shutdown) }
        let bytes = frame.payload.count
        guard state.pending.count < settings.requestsInFlightMax, state.bytesInFlight + bytes <= settings.bytesInFlightMax else {
            return .fail(.overloaded)
        }
        let now = monotonicMillis()
        guard state.breaker.allow(nowMillis: now) else { return .fail(.circuitOpen) }
        var frame = frame
        frame.requestId = state.nextRequestId
        state.nextRequestId += 1
        let id = frame.requestId
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(frame.deadlineMillis))) { [self] in expire(id) }
        state.bytesInFlight += bytes
        let deadlineAt = now + UInt64(frame.deadlineMillis)
        switch state.connection {
        case .ready(let channel, _):
            state.pending[id] = Pending(continuation: continuation, bytes: bytes, deadline: deadline, deadlineAtMillis: deadlineAt, unsent: nil)
            return .send(channel, frame)
        case .connecting:
            queue(frame, continuation, deadline, deadlineAt, in: &state)
            return .wait(connect: nil)
        case .idle:
            queue(frame, continuation, deadline, deadlineAt, in: &state)
            return .wait(connect: beginAttempt(in: &state))
        case .waitingToReconnect(_, let timer):
            queue(frame, continuation, deadline, deadlineAt, in: &state)
            // A half-open probe tests the peer now rather than after the backoff delay.
            guard case .halfOpen = state.breaker.state else { return .wait(connect: nil) }
            timer.cancel()
            return .wait(connect: beginAttempt(in: &state))
        case .shutDown:
            preconditionFailure("checked above")
        }
    }

    private func queue(_ frame: PeerFrame, _ continuation: Continuation, _ deadline: Scheduled<Void>, _ deadlineAt: UInt64, in state: inout State) {
        state.pending[frame.requestId] = Pending(
            continuation: continuation, bytes: frame.payload.count, deadline: deadline, deadlineAtMillis: deadlineAt, unsent: frame)
        state.unsent.append(frame.requestId)
    }

    private func beginAttempt(in state: inout State) -> UInt64 {
        state.attempts += 1
        state.connection = .connecting(attempt: state.attempts)
        return state.attempts
    }

    /// The deadline of request `id` passed: it fails, and the breaker hears of it.
    func expire(_ id: UInt64) {
        let entry = state.withLock { state -> Pending? in
            guard let entry = state.remove(id) else { return nil }
            state.breaker.record(.failure, nowMillis: monotonicMillis())
            return entry
        }
        entry?.continuation.resume(returning: .failure(.deadlineExceeded))
    }

    /// An answer arrived on the connection. Returns false for a frame a server must not send.
    func received(_ frame: PeerFrame) -> Bool {
        let result: Result<PeerMessage, PeerError>
        switch frame.kind {
        case .response:
            result = .success(PeerMessage(kind: frame.messageKind, payload: frame.payload))
        case .ping:
            result = .success(PeerMessage(kind: 0))
        case .error:
            result = .failure(.remote(code: frame.messageKind, message: String(decoding: frame.payload, as: UTF8.self)))
        case .hello, .challenge, .proof, .request:
            return false
        }
        let entry = state.withLock { state -> Pending? in
            guard let entry = state.remove(frame.requestId) else { return nil }  // late: already failed
            var outcome = CircuitBreaker.Outcome.success
            if case .failure(let error) = result, error.isOverloaded { outcome = .failure }
            state.breaker.record(outcome, nowMillis: monotonicMillis())
            return entry
        }
        entry?.continuation.resume(returning: result)
        return true
    }

    func write(_ frames: [PeerFrame], to channel: any Channel) {
        guard !frames.isEmpty else { return }
        for frame in frames.dropLast() { channel.write(frame, promise: nil) }
        // A write that fails means the connection is broken: closing it fails what waits on it.
        channel.writeAndFlush(frames[frames.count - 1]).whenFailure { _ in channel.close(promise: nil) }
    }

    // MARK: - Connection

    /// Connects for `attempt`; the connection handler reports `ready` or `lost`.
    func open(_ attempt: UInt64) {
        let maxFrameBytes = settings.maxFrameBytes
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(settings.connectTimeoutMillis))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(ByteToMessageHandler(PeerFrameByteDecoder(maxFrameBytes: maxFrameBytes)))
                    try operations.addHandler(MessageToByteHandler(PeerFrameByteEncoder()))
                    try operations.addHandler(PeerClientConnection(client: self, attempt: attempt))
                }
            }
            .connect(host: host, port: port)
            .whenFailure { [self] error in lost(attempt, reason: "connect to \(host):\(port) failed: \(error)") }
    }

    /// Whether `node`, named by the server in a handshake, is the peer; pins it if none was known.
    func admitPeer(_ node: NodeID) -> Bool {
        state.withLock { state in
            guard let peer = state.peer else {
                state.peer = node
                return true
            }
            return peer == node
        }
    }

    /// The handshake of `attempt` completed: send what waited for it.
    func ready(_ channel: any Channel, attempt: UInt64) {
        let frames = state.withLock { state -> [PeerFrame]? in
            guard case .connecting(attempt) = state.connection else { return nil }
            state.connection = .ready(channel, attempt: attempt)
            state.backoff.reset()
            let now = monotonicMillis()
            state.breaker.record(.success, nowMillis: now)
            let frames = state.unsent.compactMap { id -> PeerFrame? in
                guard let entry = state.pending[id], var frame = entry.unsent else { return nil }
                state.pending[id]?.unsent = nil
                frame.deadlineMillis = UInt32(clamping: max(1, Int64(entry.deadlineAtMillis) - Int64(now)))
                return frame
            }
            state.unsent = []
            return frames
        }
        guard let frames else {
            channel.close(promise: nil)  // shut down meanwhile
            return
        }
        onEvent(.connected(peer: peerName))
        write(frames, to: channel)
    }

    /// Connection `attempt` failed or was lost: everything waiting on it fails, and a reconnect
    /// is scheduled after a backoff delay.
    func lost(_ attempt: UInt64, reason: String) {
        let failed = state.withLock { state -> [Pending]? in
            switch state.connection {
            case .connecting(attempt), .ready(_, attempt): break
            case .idle, .connecting, .ready, .waitingToReconnect, .shutDown: return nil
            }
            state.breaker.record(.failure, nowMillis: monotonicMillis())
            let delay = state.backoff.nextDelayMillis()
            state.attempts += 1
            let next = state.attempts
            let timer = eventLoop.scheduleTask(in: .milliseconds(Int64(clamping: delay))) { [self] in reconnect(next) }
            state.connection = .waitingToReconnect(attempt: next, timer: timer)
            return state.removeAll()
        }
        guard let failed else { return }
        onEvent(.disconnected(peer: peerName, reason: reason))
        for entry in failed { entry.continuation.resume(returning: .failure(.unavailable(reason))) }
    }

    func reconnect(_ attempt: UInt64) {
        let due = state.withLock { state -> Bool in
            guard case .waitingToReconnect(attempt, _) = state.connection else { return false }
            state.connection = .connecting(attempt: attempt)
            return true
        }
        if due { open(attempt) }
    }
}

/// The client side of one connection: the handshake (hello, verify the server's challenge and
/// identity, prove), then answers passed to the `PeerClient`.
final class PeerClientConnection: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = PeerFrame

    enum State {
        case awaitingChallenge
        case ready
        case closed
    }

    let client: PeerClient
    let attempt: UInt64
    let nonce = PeerAuthenticator.nonce()
    var state = State.awaitingChallenge
    var closeReason: String?
    var handshakeTimer: Scheduled<Void>?

    init(client: PeerClient, attempt: UInt64) {
        self.client = client
        self.attempt = attempt
    }

    func channelActive(context: ChannelHandlerContext) {
        let hello = PeerHandshake.Hello(node: client.node, nonce: nonce)
        context.writeAndFlush(wrapOutboundOut(PeerFrame(kind: .hello, payload: PeerHandshake.encode(hello))), promise: nil)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        let timeout = client.settings.handshakeTimeoutMillis
        handshakeTimer = context.eventLoop.scheduleTask(in: .milliseconds(timeout)) {
            guard case .awaitingChallenge = bound.value.state else { return }
            bound.value.fail(channel, "handshake not completed in \(timeout) ms")
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .awaitingChallenge:
            receiveChallenge(frame, context: context)
        case .ready:
            if !client.received(frame) { fail(context.channel, "unexpected \(frame.kind) frame from the server") }
        case .closed:
            break
        }
    }

    func receiveChallenge(_ frame: PeerFrame, context: ChannelHandlerContext) {
        guard frame.kind == .challenge else { return fail(context.channel, "\(frame.kind) frame before the challenge") }
        let challenge: PeerHandshake.Challenge
        do {
            challenge = try PeerHandshake.decodeChallenge(frame.payload)
        } catch {
            return fail(context.channel, "\(error)")
        }
        guard client.admitPeer(challenge.node) else {
            return fail(context.channel, "expected node \(client.peerName) at \(client.host):\(client.port), found \(challenge.node)")
        }
        let serverTranscript = PeerHandshake.transcript(role: .server, client: client.node, server: challenge.node, clientNonce: nonce, serverNonce: challenge.nonce)
        guard client.authenticator.verify(challenge.proof, of: serverTranscript) else {
            return fail(context.channel, "authentication of node \(challenge.node) failed")
        }
        let clientTranscript = PeerHandshake.transcript(role: .client, client: client.node, server: challenge.node, clientNonce: nonce, serverNonce: challenge.nonce)
        context.writeAndFlush(wrapOutboundOut(PeerFrame(kind: .proof, payload: client.authenticator.proof(of: clientTranscript))), promise: nil)
        state = .ready
        handshakeTimer?.cancel()
        client.ready(context.channel, attempt: attempt)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        handshakeTimer?.cancel()
        client.lost(attempt, reason: closeReason ?? "connection to \(client.peerName) closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context.channel, "\(error)")
    }

    func fail(_ channel: any Channel, _ reason: String) {
        if case .closed = state { return }
        state = .closed
        closeReason = reason
        channel.close(promise: nil)
    }
}
