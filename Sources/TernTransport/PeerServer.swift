import NIOCore
import NIOPosix
import Synchronization
import TernCluster
import TernCore

/// Accepts peer connections on the cluster port and serves their requests with a
/// `PeerRequestHandler`.
///
/// A connection must complete the handshake (`PeerHandshake`: node ids, and with a secret a
/// mutual HMAC proof) within `handshakeTimeoutMillis` before any request is accepted. A frame that
/// is malformed, oversized, unexpected in the connection's state, or a proof that fails, closes
/// that connection (reported as `PeerEvent.rejected`); the server goes on serving the others.
public final class PeerServer: Sendable {
    let shared: Shared
    let host: String
    let port: Int
    let group: any EventLoopGroup
    let listener = Mutex<(any Channel)?>(nil)
    let connections = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// What every connection handler needs.
    struct Shared: Sendable {
        let node: NodeID
        let settings: PeerTransportSettings
        let handler: any PeerRequestHandler
        let authenticator: PeerAuthenticator
        let onEvent: @Sendable (PeerEvent) -> Void
        /// Handler tasks that have not yet handed their answer to the event loop, so `stop`
        /// can wait for them before the caller shuts the loops down.
        let handlerTasks: HandlerTaskCount
    }

    final class HandlerTaskCount: Sendable {
        let running = Atomic<Int>(0)
    }

    public init(
        node: NodeID, host: String, port: Int, settings: PeerTransportSettings, handler: any PeerRequestHandler,
        group: any EventLoopGroup, onEvent: @escaping @Sendable (PeerEvent) -> Void = { _ in }
    ) throws {
        try settings.validate()
        guard PeerHandshake.isValidNode(node) else { throw ConfigurationError("node id must be 1…255 bytes") }
        self.shared = Shared(
            node: node, settings: settings, handler: handler, authenticator: PeerAuthenticator(secret: settings.secret), onEvent: onEvent,
            handlerTasks: HandlerTaskCount())
        self.host = host
        self.port = port
        self.group = group
    }

    /// Inbound connections open now (authenticated or not).
    public var connectionCount: Int { connections.withLock { $0.count } }

    /// Binds and starts accepting; returns the bound port (useful with port 0).
    @discardableResult
    public func start() async throws -> Int {
        let shared = self.shared
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                let remote = channel.remoteAddress.map { "\($0)" } ?? "unknown"
                guard admit(channel) else {
                    shared.onEvent(.rejected(remote: remote, reason: "connection bound of \(shared.settings.connectionsMax) reached"))
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(ByteToMessageHandler(PeerFrameByteDecoder(maxFrameBytes: shared.settings.maxFrameBytes)))
                    try operations.addHandler(MessageToByteHandler(PeerFrameByteEncoder()))
                    try operations.addHandler(PeerServerConnection(shared: shared, remote: remote))
                }
            }
            .bind(host: host, port: port)
            .get()
        listener.withLock { $0 = channel }
        return channel.localAddress?.port ?? port
    }

    /// Counts the connection if there is room and forgets it when it closes.
    private func admit(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let admitted = connections.withLock { open in
            guard open.count < shared.settings.connectionsMax else { return false }
            open[key] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { [self] _ in _ = connections.withLock { $0.removeValue(forKey: key) } }
        }
        return admitted
    }

    /// Stops accepting, closes every connection (their handlers' tasks are cancelled) and waits,
    /// at most `drainMillis`, for those tasks to return.
    public func stop(drainMillis: Int = 2_000) async {
        let listening = listener.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await listening?.close()
        let open = connections.withLock { Array($0.values) }
        for channel in open { try? await channel.close() }
        let deadline = ContinuousClock.now + .milliseconds(drainMillis)
        while shared.handlerTasks.running.load(ordering: .acquiring) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// One inbound connection: the server side of the handshake, then requests, each handled in its
/// own task (bounded per connection) that runs on the connection's event loop.
final class PeerServerConnection: ChannelInboundHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundOut = PeerFrame

    enum State {
        case awaitingHello
        case awaitingProof(client: NodeID, clientNonce: [UInt8], serverNonce: [UInt8])
        case authenticated(NodeID)
        case closed
    }

    struct Handling {
        let task: Task<Void, Never>
        var deadline: Scheduled<Void>?
        /// The sender's deadline passed: the task was cancelled and its answer will be dropped.
        var expired = false
    }

    let shared: PeerServer.Shared
    let remote: String
    /// Handler tasks run on this connection's event loop (see `EventLoopTaskExecutor`): a replica
    /// request costs no hop to the cooperative pool and back, and its answer is written from the
    /// loop it was read on.
    var executor: EventLoopTaskExecutor?
    var state = State.awaitingHello
    var handling: [UInt64: Handling] = [:]
    var handshakeTimer: Scheduled<Void>?

    init(shared: PeerServer.Shared, remote: String) {
        self.shared = shared
        self.remote = remote
    }

    func channelActive(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        handshakeTimer = context.eventLoop.scheduleTask(in: .milliseconds(shared.settings.handshakeTimeoutMillis)) {
            let connection = bound.value
            switch connection.state {
            case .awaitingHello, .awaitingProof: connection.reject(channel, "handshake not completed in \(connection.shared.settings.handshakeTimeoutMillis) ms")
            case .authenticated, .closed: break
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .awaitingHello:
            receiveHello(frame, context: context)
        case .awaitingProof(let client, let clientNonce, let serverNonce):
            receiveProof(frame, client: client, clientNonce: clientNonce, serverNonce: serverNonce, context: context)
        case .authenticated(let peer):
            receiveAuthenticated(frame, from: peer, context: context)
        case .closed:
            break
        }
    }

    func receiveHello(_ frame: PeerFrame, context: ChannelHandlerContext) {
        guard frame.kind == .hello else { return reject(context.channel, "\(frame.kind) frame before the handshake") }
        let hello: PeerHandshake.Hello
        do {
            hello = try PeerHandshake.decodeHello(frame.payload)
        } catch {
            return reject(context.channel, "\(error)")
        }
        let serverNonce = PeerAuthenticator.nonce()
        let transcript = PeerHandshake.transcript(role: .server, client: hello.node, server: shared.node, clientNonce: hello.nonce, serverNonce: serverNonce)
        let challenge = PeerHandshake.Challenge(node: shared.node, nonce: serverNonce, proof: shared.authenticator.proof(of: transcript))
        state = .awaitingProof(client: hello.node, clientNonce: hello.nonce, serverNonce: serverNonce)
        context.writeAndFlush(wrapOutboundOut(PeerFrame(kind: .challenge, payload: PeerHandshake.encode(challenge))), promise: nil)
    }

    func receiveProof(_ frame: PeerFrame, client: NodeID, clientNonce: [UInt8], serverNonce: [UInt8], context: ChannelHandlerContext) {
        guard frame.kind == .proof else { return reject(context.channel, "\(frame.kind) frame before the proof") }
        let transcript = PeerHandshake.transcript(role: .client, client: client, server: shared.node, clientNonce: clientNonce, serverNonce: serverNonce)
        guard shared.authenticator.verify(frame.payload, of: transcript) else {
            return reject(context.channel, "authentication failed for node \(client)")
        }
        state = .authenticated(client)
        handshakeTimer?.cancel()
        handshakeTimer = nil
        shared.onEvent(.accepted(peer: client, remote: remote))
    }

    func receiveAuthenticated(_ frame: PeerFrame, from peer: NodeID, context: ChannelHandlerContext) {
        switch frame.kind {
        case .request:
            startHandling(frame, from: peer, context: context)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(PeerFrame(kind: .ping, requestId: frame.requestId)), promise: nil)
        case .hello, .challenge, .proof, .response, .error:
            reject(context.channel, "unexpected \(frame.kind) frame from \(peer)")
        }
    }

    func startHandling(_ frame: PeerFrame, from peer: NodeID, context: ChannelHandlerContext) {
        let id = frame.requestId
        guard handling[id] == nil else { return reject(context.channel, "request id \(id) reused while in flight") }
        guard handling.count < shared.settings.handledRequestsPerConnectionMax else {
            let refusal = PeerFrame(kind: .error, requestId: id, messageKind: PeerError.overloadedCode, payload: Array("too many requests in flight".utf8))
            context.writeAndFlush(wrapOutboundOut(refusal), promise: nil)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let handler = shared.handler
        let request = PeerMessage(kind: frame.messageKind, payload: frame.payload)
        let deadlineMillis = frame.deadlineMillis
        let running = shared.handlerTasks
        running.running.add(1, ordering: .relaxed)
        let task = Task(executorPreference: executor) {
            let result = await handler.handle(from: peer, request: request, deadlineMillis: deadlineMillis)
            loop.execute { bound.value.finished(id, result) }
            running.running.subtract(1, ordering: .releasing)
        }
        handling[id] = Handling(task: task)
        handling[id]?.deadline = loop.scheduleTask(in: .milliseconds(Int64(deadlineMillis))) { bound.value.expire(id) }
    }

    /// The sender stops waiting at its deadline; cancelling then lets a cooperative handler free
    /// its slot early. The slot itself is held until the handler returns, so the bound counts
    /// every task that still runs. Its answer is not sent: the sender has given up on it.
    func expire(_ id: UInt64) {
        guard handling[id] != nil else { return }
        handling[id]?.expired = true
        handling[id]?.task.cancel()
    }

    func finished(_ id: UInt64, _ result: Result<PeerMessage, PeerError>) {
        guard let entry = handling.removeValue(forKey: id) else { return }
        entry.deadline?.cancel()
        guard !entry.expired, case .authenticated = state, let channel = channelForWrites else { return }
        channel.writeAndFlush(responseFrame(id, result), promise: nil)
    }

    func responseFrame(_ id: UInt64, _ result: Result<PeerMessage, PeerError>) -> PeerFrame {
        switch result {
        case .success(let message) where PeerFrame.headerBytes + message.payload.count <= shared.settings.maxFrameBytes:
            return PeerFrame(kind: .response, requestId: id, messageKind: message.kind, payload: message.payload)
        case .success(let message):
            return PeerFrame(kind: .error, requestId: id, messageKind: PeerError.responseTooLargeCode, payload: Array("response of \(message.payload.count) bytes".utf8))
        case .failure(let error):
            let (code, message) = Self.remoteForm(of: error)
            return PeerFrame(kind: .error, requestId: id, messageKind: code, payload: Array(message.utf8.prefix(1_024)))
        }
    }

    /// How a handler's error travels: its code and a message (cut to 1 KiB).
    static func remoteForm(of error: PeerError) -> (UInt16, String) {
        switch error {
        case .remote(let code, let message): return (code, message)
        case .overloaded: return (PeerError.overloadedCode, error.description)
        case .deadlineExceeded, .circuitOpen, .unavailable, .requestTooLarge, .shutdown: return (PeerError.handlerFailedCode, error.description)
        }
    }

    /// The channel, kept for answers that arrive from handler tasks after `channelRead` returned.
    var channelForWrites: (any Channel)?

    func handlerAdded(context: ChannelHandlerContext) {
        channelForWrites = context.channel
        executor = EventLoopTaskExecutor(context.eventLoop)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        handshakeTimer?.cancel()
        for entry in handling.values {
            entry.task.cancel()
            entry.deadline?.cancel()
        }
        handling = [:]
        channelForWrites = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reject(context.channel, "\(error)")
    }

    /// Closes the connection for breaking the protocol, once, and says why.
    func reject(_ channel: any Channel, _ reason: String) {
        if case .closed = state { return }
        state = .closed
        shared.onEvent(.rejected(remote: remote, reason: reason))
        channel.close(promise: nil)
    }
}
