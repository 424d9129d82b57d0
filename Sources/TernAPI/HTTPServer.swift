import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TernCore

/// Settings of the HTTP front door. Every bound is here and checked at start-up.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxConnections: Int
    /// The largest request body accepted. DynamoDB's largest requests (BatchWriteItem) are 16 MB.
    public var maxBodyBytes: Int
    /// A connection with no request for this long is closed.
    public var idleTimeoutSeconds: Int64
    /// How long a graceful shutdown waits for in-flight requests.
    public var drainTimeoutSeconds: Int64
    public var eventLoopThreads: Int

    public init(
        host: String = "127.0.0.1", port: Int = 8000, maxConnections: Int = 1024, maxBodyBytes: Int = 16 * 1024 * 1024 + 64 * 1024,
        idleTimeoutSeconds: Int64 = 300, drainTimeoutSeconds: Int64 = 10, eventLoopThreads: Int = System.coreCount
    ) {
        self.host = host
        self.port = port
        self.maxConnections = maxConnections
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.eventLoopThreads = eventLoopThreads
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigurationError("port must be 0…65535, got \(port)") }
        guard maxConnections >= 1 else { throw ConfigurationError("maxConnections must be at least 1") }
        guard maxBodyBytes >= 1024 else { throw ConfigurationError("maxBodyBytes must be at least 1024") }
        guard eventLoopThreads >= 1 else { throw ConfigurationError("eventLoopThreads must be at least 1") }
    }
}

/// Counts what the server is doing, for bounds and for draining on shutdown.
final class ServerState: Sendable {
    let connections = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let requestSequence = Atomic<UInt64>(0)
    let requestIdPrefix: String

    init() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        requestIdPrefix = String((0..<20).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }

    /// A unique request id in DynamoDB's shape (52 upper-case alphanumerics).
    func nextRequestId() -> String {
        let sequence = requestSequence.wrappingAdd(1, ordering: .relaxed).newValue
        let digits = String(sequence, radix: 36, uppercase: true)
        return requestIdPrefix + String(repeating: "0", count: max(0, 32 - digits.count)) + digits
    }
}

/// The DynamoDB HTTP endpoint on SwiftNIO: HTTP/1.1 with keep-alive and pipelining (requests on
/// one connection are answered in order), bounded connections and bodies.
public final class HTTPServer: Service, Sendable {
    let configuration: HTTPServerConfiguration
    let service: DynamoDBService
    let verifier: SigV4Verifier
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let state = ServerState()
    /// The bound address, once listening (useful with port 0).
    public let boundPort = Atomic<Int>(0)

    public init(configuration: HTTPServerConfiguration, service: DynamoDBService, verifier: SigV4Verifier, logger: Logger) throws {
        try configuration.validate()
        self.configuration = configuration
        self.service = service
        self.verifier = verifier
        self.logger = logger
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
    }

    public func run() async throws {
        let channel = try await bind()
        let port = channel.localAddress?.port ?? configuration.port
        boundPort.store(port, ordering: .relaxed)
        logger.info("listening", metadata: ["host": "\(configuration.host)", "port": "\(port)"])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        await drain()
        try await group.shutdownGracefully()
        logger.info("HTTP server stopped")
    }

    func bind() async throws -> Channel {
        let configuration = self.configuration
        let state = self.state
        let handlerFactory: @Sendable () -> HTTPHandler = { [service, verifier, logger] in
            HTTPHandler(service: service, verifier: verifier, state: state, maxBodyBytes: configuration.maxBodyBytes, logger: logger)
        }
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                let open = state.connections.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in state.connections.wrappingSubtract(1, ordering: .relaxed) }
                if open > configuration.maxConnections {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(configuration.idleTimeoutSeconds)))
                    try channel.pipeline.syncOperations.addHandler(handlerFactory())
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
    }

    /// Waits (bounded) for in-flight requests to finish after the listener closed.
    func drain() async {
        let deadline = ContinuousClock.now + .seconds(configuration.drainTimeoutSeconds)
        while state.inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Aggregates one HTTP request, authenticates it, hands it to the service and writes the answer.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let service: DynamoDBService
    let verifier: SigV4Verifier
    let state: ServerState
    let maxBodyBytes: Int
    let logger: Logger
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var bodyTooLarge = false

    init(service: DynamoDBService, verifier: SigV4Verifier, state: ServerState, maxBodyBytes: Int, logger: Logger) {
        self.service = service
        self.verifier = verifier
        self.state = state
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            bodyTooLarge = false
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                bodyTooLarge = true
            } else if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // RFC 9110 §10.1.1: tell the client to send the body now rather than after its timeout.
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var part):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > maxBodyBytes {
                bodyTooLarge = true
                body = nil
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(context: context, head: head)
        }
    }

    /// Malformed HTTP: answer 400 with the usual headers, written beneath the HTTP encoder (the
    /// request never parsed, so there is no response slot for it), then close the connection.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError,
              let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        else {
            context.close(promise: nil)
            return
        }
        let body = APIResponse.error(.serialization("Malformed HTTP request")).body
        var text = "HTTP/1.1 400 Bad Request\r\n"
        for header in responseHeaders(body: body, contentType: HTTPHandler.jsonContentType, keepAlive: false) {
            text += "\(header.name): \(header.value)\r\n"
        }
        text += "\r\n"
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count + body.count)
        buffer.writeString(text)
        buffer.writeBytes(body)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        encoder.writeAndFlush(NIOAny(buffer)).whenComplete { _ in loopBound.value.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        if bodyTooLarge {
            let error = DynamoDBError.requestTooLarge("Request body exceeds the maximum of \(maxBodyBytes) bytes")
            write(context: context, head: head, response: .error(error), close: true)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        switch (head.method, path) {
        case (.GET, "/"), (.GET, "/health"):
            write(context: context, head: head, response: APIResponse(status: 200, body: Array("healthy: tern\n".utf8)), contentType: "text/plain")
            return
        case (.POST, _):
            break
        default:
            let error = DynamoDBError.unknownOperation("Tern answers DynamoDB requests as POST /")
            write(context: context, head: head, response: .error(error))
            return
        }
        let bodyBytes = body.map { Array($0.readableBytesView) } ?? []
        body = nil
        if let failure = authenticate(head: head, path: path, body: bodyBytes) {
            write(context: context, head: head, response: .error(failure))
            return
        }
        dispatch(context: context, head: head, body: bodyBytes)
    }

    func authenticate(head: HTTPRequestHead, path: String, body: [UInt8]) -> DynamoDBError? {
        // Authentication off and one well-formed header: nothing else to look at, so skip
        // copying the headers and body into a SigV4Request (this runs on every request).
        if verifier.credentials == nil {
            let values = head.headers["authorization"]
            if values.count == 1, SigV4Verifier.hasWellFormedShape(values[0]) { return nil }
        }
        let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let request = SigV4Request(
            method: head.method.rawValue, path: path, query: query,
            headers: head.headers.map { (name: $0.name, value: $0.value) }, body: body
        )
        do {
            try verifier.verify(request, now: Int64(NIODeadline.wallClockSeconds()))
            return nil
        } catch let error as DynamoDBError {
            return error
        } catch {
            return DynamoDBError.invalidSignature("\(error)")
        }
    }

    func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8]) {
        let target = head.headers.first(name: "x-amz-target")
        let host = head.headers.first(name: "host")
        let service = self.service
        if let response = service.handleInline(target: target, body: body, host: host) {
            write(context: context, head: head, response: response)
            return
        }
        let state = self.state
        state.inFlight.wrappingAdd(1, ordering: .relaxed)
        let promise = context.eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask {
            await service.handle(target: target, body: body, host: host)
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            state.inFlight.wrappingSubtract(1, ordering: .relaxed)
            let (handler, context) = bound.value
            handler.write(context: context, head: head, response: response)
        }
    }

    static let jsonContentType = "application/x-amz-json-1.0"

    /// The headers every response carries; the SDKs verify `x-amz-crc32` against the body.
    func responseHeaders(body: [UInt8], contentType: String, keepAlive: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "x-amzn-RequestId", value: state.nextRequestId())
        headers.add(name: "x-amz-crc32", value: String(CRC32.checksum(body)))
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return headers
    }

    func write(context: ChannelHandlerContext, head: HTTPRequestHead, response: APIResponse, contentType: String = HTTPHandler.jsonContentType, close: Bool = false) {
        let keepAlive = head.isKeepAlive && !close
        let headers = responseHeaders(body: response.body, contentType: contentType, keepAlive: keepAlive)
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlushPromise(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    func writeAndFlushPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}

extension NIODeadline {
    /// Seconds since 1970 from the wall clock (request signatures carry wall-clock times).
    static func wallClockSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
