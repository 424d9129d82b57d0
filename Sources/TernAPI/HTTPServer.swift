import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TernCore
import TernTransport

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
    let requestIdPrefix: [UInt8]
    static let base36: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    init() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        requestIdPrefix = (0..<20).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
    }

    /// Writes a unique request id in DynamoDB's shape (52 upper-case alphanumerics): a random
    /// prefix of 20 and a sequence number in 32 base-36 digits, straight into the response's
    /// buffer (this runs on every response).
    func writeNextRequestId(into buffer: inout ByteBuffer) {
        let sequence = requestSequence.wrappingAdd(1, ordering: .relaxed).newValue
        let prefix = requestIdPrefix
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 52) { bytes in
            for index in 0..<20 { bytes[index] = prefix[index] }
            var rest = sequence
            for index in stride(from: 51, through: 20, by: -1) {
                bytes[index] = ServerState.base36[Int(rest % 36)]
                rest /= 36
            }
            return 52
        }
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
    let dateCaches: HTTPDateCaches
    /// The bound address, once listening (useful with port 0).
    public let boundPort = Atomic<Int>(0)

    /// Whether `run` shuts `group` down when it stops (a group it made itself).
    let ownsGroup: Bool

    /// `group`: the event loops to serve on, shared with the caller (who shuts them down after
    /// `run` returns); nil makes a group of `configuration.eventLoopThreads` of its own.
    public init(
        configuration: HTTPServerConfiguration, service: DynamoDBService, verifier: SigV4Verifier, logger: Logger,
        group: MultiThreadedEventLoopGroup? = nil
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.service = service
        self.verifier = verifier
        self.logger = logger
        self.ownsGroup = group == nil
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)
        self.dateCaches = HTTPDateCaches(group: self.group)
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
        if ownsGroup { try await group.shutdownGracefully() }
        logger.info("HTTP server stopped")
    }

    func bind() async throws -> Channel {
        let configuration = self.configuration
        let state = self.state
        let dateCaches = self.dateCaches
        let handlerFactory: @Sendable (any EventLoop) -> HTTPHandler = { [service, verifier, logger] loop in
            HTTPHandler(
                service: service, verifier: verifier, state: state, maxBodyBytes: configuration.maxBodyBytes,
                dateCache: dateCaches.cache(for: loop), executor: EventLoopTaskExecutor(loop), logger: logger
            )
        }
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            // A client that half-closes after its last request still gets the answers
            // (`HTTPHandler` closes once they are written).
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                let open = state.connections.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in state.connections.wrappingSubtract(1, ordering: .relaxed) }
                if open > configuration.maxConnections {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    // NIO's request decoder, and no more of NIO's HTTP server pipeline.
                    // `HTTPHandler` answers pipelined requests in order itself and keeps reading
                    // while one request is answered (NIO's `HTTPServerPipelineHandler` stops
                    // reading then: two `epoll_ctl` calls for every request whose answer waits for
                    // a group commit). It encodes each response into one buffer itself, with no
                    // header validation: every name and value is a constant, a number or the
                    // request id, and the one value taken from a request (a preflight's requested
                    // headers) is echoed only when it is a list of tokens (`CORS.isEchoable`).
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(configuration.idleTimeoutSeconds)))
                    try channel.pipeline.syncOperations.addHandler(handlerFactory(channel.eventLoop))
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
///
/// Pipelining (RFC 9112 §9.3): a connection is answered one request at a time, in order. What
/// arrives while a request is being answered (request parts, a malformed request, the client's
/// half-close) waits in `waiting`, in order, and is taken up once the answer is written. Reading
/// goes on while a request is answered (the usual client sends nothing more until it has its
/// answer, so nothing waits), and is held only while something waits: at most one read's worth of
/// pipelined requests is buffered, the bound NIO's pipelining handler keeps.
final class HTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let service: DynamoDBService
    let verifier: SigV4Verifier
    let state: ServerState
    let maxBodyBytes: Int
    let dateCache: HTTPDateCache
    let executor: EventLoopTaskExecutor
    let logger: Logger
    let allocator = ByteBufferAllocator()
    var head: HTTPRequestHead?
    var body: ByteBuffer?
    var bodyTooLarge = false
    /// A request's answer is owed: from its `.end` until its response is written.
    var isResponding = false
    /// What arrived while an answer was owed, in order.
    var waiting = CircularBuffer<Inbound>()
    /// A `read()` held back while something waits.
    var isReadHeld = false
    var isTakingUpWaiting = false

    enum Inbound {
        case part(HTTPServerRequestPart)
        /// The decoder could not parse what followed: answered with a 400, then the connection closes.
        case malformed(any Error)
        /// The client sent all it will (a half-close): the connection closes once it is answered.
        case inputClosed
    }

    init(
        service: DynamoDBService, verifier: SigV4Verifier, state: ServerState, maxBodyBytes: Int, dateCache: HTTPDateCache,
        executor: EventLoopTaskExecutor, logger: Logger
    ) {
        self.executor = executor
        self.service = service
        self.verifier = verifier
        self.state = state
        self.maxBodyBytes = maxBodyBytes
        self.dateCache = dateCache
        self.logger = logger
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting.removeAll()  // nobody to answer: requests not yet taken up are not run
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        arrived(.part(unwrapInboundIn(data)), context: context)
    }

    /// Handles `event` now, or after the answer owed and what already waits.
    func arrived(_ event: Inbound, context: ChannelHandlerContext) {
        if isResponding || !waiting.isEmpty {
            waiting.append(event)
        } else {
            handle(event, context: context)
        }
    }

    func handle(_ event: Inbound, context: ChannelHandlerContext) {
        switch event {
        case .part(let part): receive(part, context: context)
        case .malformed(let error): answerMalformed(context: context, error: error)
        case .inputClosed: context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if waiting.isEmpty {
            context.read()
        } else {
            isReadHeld = true
        }
    }

    /// After an answer: takes up the requests that waited for it, then reads on.
    func takeUpWaiting(context: ChannelHandlerContext) {
        guard !isTakingUpWaiting else { return }  // an answer written while taking up: the loop below goes on
        isTakingUpWaiting = true
        defer { isTakingUpWaiting = false }
        while !isResponding, let event = waiting.popFirst() {
            handle(event, context: context)
        }
        if !isResponding, isReadHeld {
            isReadHeld = false
            context.read()
        }
    }

    func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            self.head = head
            body = nil
            bodyTooLarge = false
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                bodyTooLarge = true
            } else if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // RFC 9110 §10.1.1: tell the client to send the body now rather than after its timeout.
                var interim = allocator.buffer(capacity: 32)
                HTTPHandler.writeStatusLine(version: head.version, status: .continue, into: &interim)
                interim.writeStaticString("\r\n")
                context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
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

    /// Malformed HTTP: answer 400 with the usual headers, then close the connection.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is HTTPParserError else {
            context.close(promise: nil)
            return
        }
        arrived(.malformed(error), context: context)  // the requests before it are answered first
    }

    func answerMalformed(context: ChannelHandlerContext, error: any Error) {
        isResponding = true  // the connection closes after this answer: nothing else is taken up
        let body = APIResponse.error(.serialization("Malformed HTTP request")).body
        let wire = WireResponse(status: 400, body: body, contentType: HTTPHandler.jsonContentType)
        let buffer = encode(wire, version: .http1_1, withBody: true, traits: RequestTraits(), keepAlive: false, extraHeaders: [])
        writeThenClose(buffer, context: context)
    }

    func writeThenClose(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in loopBound.value.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        if let event = event as? ChannelEvent, event == .inputClosed {
            arrived(.inputClosed, context: context)  // answer what the client asked, then close
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        isResponding = true  // every path below ends in `writeWire`
        let traits = RequestTraits(head.headers)
        if bodyTooLarge {
            let error = DynamoDBError.requestTooLarge("Request body exceeds the maximum of \(maxBodyBytes) bytes")
            write(context: context, head: head, response: .error(error), traits: traits, close: true)
            return
        }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        switch (head.method, path) {
        case (.OPTIONS, _):
            // A CORS preflight: browsers send it unsigned, so it is answered before authentication.
            // Answered as a cross-origin response even without an Origin, so a proxy that strips it still works.
            var preflight = traits
            preflight.hasOrigin = true
            let wire = WireResponse(status: 200, body: [], contentType: nil)
            writeWire(context: context, head: head, wire: wire, traits: preflight, extraHeaders: CORS.preflightHeaders(request: head.headers))
            return
        case (.GET, "/"), (.GET, "/health"):
            write(context: context, head: head, response: healthResponse(), traits: traits, contentType: "text/plain")
            return
        case (.GET, "/metrics"):
            // Prometheus text format (DESIGN.md §7), unsigned like the health check.
            let response = WireResponse(status: 200, body: service.metricsText(), contentType: "text/plain; version=0.0.4")
            writeWire(context: context, head: head, wire: response, traits: traits)
            return
        case (.GET, "/cluster/status"):
            // What `tern cluster status` prints. Unsigned, like the health check: it names the
            // members and their state, no data. Built off the event loop (it counts hints).
            let promise = context.eventLoop.makePromise(of: WireResponse.self)
            let service = self.service
            Task { promise.succeed(WireResponse(status: 200, body: await service.clusterStatus(), contentType: "application/json")) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { wire in
                let (handler, context) = bound.value
                handler.writeWire(context: context, head: head, wire: wire, traits: traits)
            }
            return
        case (.POST, _):
            break
        default:
            let error = DynamoDBError.unknownOperation("Tern answers DynamoDB requests as POST /")
            write(context: context, head: head, response: .error(error), traits: traits)
            return
        }
        let bodyBytes = body.map { Array($0.readableBytesView) } ?? []
        body = nil
        // SigV4 signs the body as sent, so a compressed body is verified before it is decoded
        // (botocore compresses first and signs the compressed bytes).
        if let failure = authenticate(head: head, path: path, body: bodyBytes) {
            write(context: context, head: head, response: .error(failure), traits: traits)
            return
        }
        let coding: ContentCoding?
        do {
            coding = try RequestBodyCoding.coding(of: traits.contentEncoding)
        } catch {
            write(context: context, head: head, response: .error(error), traits: traits)
            return
        }
        dispatch(context: context, head: head, body: bodyBytes, coding: coding, traits: traits)
    }

    /// DynamoDB's answer to `GET /`: `healthy: dynamodb.<region>.amazonaws.com ` (trailing space included).
    func healthResponse() -> APIResponse {
        APIResponse(status: 200, body: Array("healthy: dynamodb.\(service.region).amazonaws.com ".utf8))
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

    /// Runs the request. A compressed body is decoded, and a large response compressed, inside the
    /// task rather than on the event loop: both cost CPU in proportion to bodies of up to 16 MB.
    func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8], coding: ContentCoding?, traits: RequestTraits) {
        let target = head.headers.first(name: "x-amz-target")
        let host = head.headers.first(name: "host")
        let service = self.service
        let options: RequestOptions
        do {
            options = try traits.options()
        } catch {
            write(context: context, head: head, response: .error(error), traits: traits)
            return
        }
        if coding == nil, let response = service.handleInline(target: target, body: body, host: host, options: options) {
            write(context: context, head: head, response: response, traits: traits)
            return
        }
        let state = self.state
        let maxBodyBytes = self.maxBodyBytes
        state.inFlight.wrappingAdd(1, ordering: .relaxed)
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
        @Sendable func respond(_ wire: WireResponse) {
            state.inFlight.wrappingSubtract(1, ordering: .relaxed)
            let (handler, context) = bound.value
            handler.writeWire(context: context, head: head, wire: wire, traits: traits)
        }
        @Sendable func run() async {
            let response: APIResponse
            switch RequestBodyCoding.decode(body, coding: coding, limit: maxBodyBytes) {
            case .success(let decoded): response = await service.handle(target: target, body: decoded, host: host, options: options)
            case .failure(let error): response = .error(error)
            }
            let wire = WireResponse(response, contentType: HTTPHandler.jsonContentType, coding: traits.responseCoding)
            // A task on this connection's event loop writes the response itself; another hops there.
            if eventLoop.inEventLoop {
                respond(wire)
            } else {
                eventLoop.execute { respond(wire) }
            }
        }
        // The request's task runs on this connection's event loop (see EventLoopTaskExecutor),
        // except when a compressed body must be inflated first.
        if coding == nil {
            Task(executorPreference: executor) { await run() }
        } else {
            Task { await run() }
        }
    }

    static let jsonContentType = "application/x-amz-json-1.0"
    static let serverName = "Tern"

    /// A whole response as one buffer: status line, the headers every response carries, and the
    /// body (none for HEAD, whose headers still describe it, RFC 9110 §9.3.2). The SDKs verify
    /// `x-amz-crc32` against the bytes on the wire: for a compressed response that is the
    /// compressed body, as DynamoDB computes it.
    func encode(
        _ wire: WireResponse, version: HTTPVersion, withBody: Bool, traits: RequestTraits, keepAlive: Bool,
        extraHeaders: [(String, String)]
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 320 + (withBody ? wire.body.count : 0))
        HTTPHandler.writeStatusLine(version: version, status: HTTPResponseStatus(statusCode: wire.status), into: &buffer)
        buffer.writeStaticString("Server: ")
        buffer.writeString(HTTPHandler.serverName)
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeString(dateCache.current())
        if let contentType = wire.contentType {
            buffer.writeStaticString("\r\nContent-Type: ")
            buffer.writeString(contentType)
        }
        buffer.writeStaticString("\r\nContent-Length: ")
        HTTPHandler.writeDecimal(wire.body.count, into: &buffer)
        buffer.writeStaticString("\r\nx-amzn-RequestId: ")
        state.writeNextRequestId(into: &buffer)
        buffer.writeStaticString("\r\nx-amz-crc32: ")
        HTTPHandler.writeDecimal(CRC32.checksum(wire.body), into: &buffer)
        if let coding = wire.contentCoding {
            buffer.writeStaticString("\r\nContent-Encoding: ")
            buffer.writeString(coding.headerValue)
            buffer.writeStaticString("\r\nVary: Accept-Encoding")
        }
        if traits.hasOrigin {
            buffer.writeStaticString("\r\nAccess-Control-Allow-Origin: ")
            buffer.writeString(CORS.allowOrigin)
            buffer.writeStaticString("\r\nAccess-Control-Expose-Headers: ")
            buffer.writeString(CORS.exposeHeaders)
        }
        for (name, value) in extraHeaders {
            buffer.writeStaticString("\r\n")
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
        }
        if !keepAlive { buffer.writeStaticString("\r\nConnection: close") }
        buffer.writeStaticString("\r\n\r\n")
        if withBody { buffer.writeBytes(wire.body) }
        return buffer
    }

    static func writeStatusLine(version: HTTPVersion, status: HTTPResponseStatus, into buffer: inout ByteBuffer) {
        // The usual lines as constants: built from their parts, a status line cost about 1 µs a
        // response under perf (`status.code`, `reasonPhrase` and three numbers turned into text).
        if version == .http1_1 {
            switch status {
            case .ok:
                buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
                return
            case .badRequest:
                buffer.writeStaticString("HTTP/1.1 400 Bad Request\r\n")
                return
            default: break
            }
        }
        buffer.writeStaticString("HTTP/")
        writeDecimal(version.major, into: &buffer)
        buffer.writeStaticString(".")
        writeDecimal(version.minor, into: &buffer)
        buffer.writeStaticString(" ")
        writeDecimal(status.code, into: &buffer)
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    /// A number's decimal digits (`String` keeps up to 15 bytes inline: no allocation here).
    static func writeDecimal(_ value: some BinaryInteger, into buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
    }

    func write(
        context: ChannelHandlerContext, head: HTTPRequestHead, response: APIResponse, traits: RequestTraits,
        contentType: String = HTTPHandler.jsonContentType, close: Bool = false
    ) {
        let wire = WireResponse(response, contentType: contentType, coding: traits.responseCoding)
        writeWire(context: context, head: head, wire: wire, traits: traits, close: close)
    }

    func writeWire(
        context: ChannelHandlerContext, head: HTTPRequestHead, wire: WireResponse, traits: RequestTraits,
        extraHeaders: [(String, String)] = [], close: Bool = false
    ) {
        let keepAlive = head.isKeepAlive && !close
        let buffer = encode(
            wire, version: head.version, withBody: head.method != .HEAD, traits: traits, keepAlive: keepAlive, extraHeaders: extraHeaders
        )
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            isResponding = false
            takeUpWaiting(context: context)
        } else {
            writeThenClose(buffer, context: context)
        }
    }
}

/// What a request's headers ask of its body and of the response, read in one pass over the headers.
struct RequestTraits: Sendable {
    /// Every `Content-Encoding` value, joined with commas (RFC 9110 §5.3: a list header may repeat).
    var contentEncoding: String?
    /// The coding the client accepts for the response, if any.
    var responseCoding: ContentCoding?
    /// The request names an `Origin`: a browser's cross-origin call, answered with CORS headers.
    var hasOrigin = false
    /// `X-Tern-W` and `X-Tern-R`, unparsed (see `RequestOptions`).
    var writeQuorum: String?
    var readQuorum: String?

    init() {}

    init(_ headers: HTTPHeaders) {
        var acceptEncoding: String?
        for header in headers {
            // Compare lengths first: most headers are rejected without looking at their bytes.
            switch header.name.utf8.count {
            case 6 where RequestTraits.nameEquals(header.name, "origin"):
                hasOrigin = true
            case 8 where RequestTraits.nameEquals(header.name, "x-tern-w"):
                writeQuorum = header.value
            case 8 where RequestTraits.nameEquals(header.name, "x-tern-r"):
                readQuorum = header.value
            case 15 where RequestTraits.nameEquals(header.name, "accept-encoding"):
                acceptEncoding = header.value  // DynamoDB heeds the last one
            case 16 where RequestTraits.nameEquals(header.name, "content-encoding"):
                contentEncoding = contentEncoding.map { "\($0),\(header.value)" } ?? header.value
            default:
                break
            }
        }
        // boto3 (through http.client) sends `identity`: no parsing needed for the common case.
        if let acceptEncoding, acceptEncoding != "identity" {
            responseCoding = AcceptEncoding.preferredCoding(acceptEncoding)
        }
    }

    /// The replication options the headers ask for.
    func options() throws(DynamoDBError) -> RequestOptions {
        guard writeQuorum != nil || readQuorum != nil else { return .defaults }
        return RequestOptions(
            writeQuorum: try writeQuorum.map { (value) throws(DynamoDBError) in try RequestOptions.quorum(value, header: "X-Tern-W") },
            readQuorum: try readQuorum.map { (value) throws(DynamoDBError) in try RequestOptions.quorum(value, header: "X-Tern-R") }
        )
    }

    /// ASCII case-insensitive equality with a lower-case name of the same length.
    static func nameEquals(_ name: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard name.utf8.count == expected.count else { return false }
        for (byte, wanted) in zip(name.utf8, expected) {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded != wanted { return false }
        }
        return true
    }
}

/// A response as it goes on the wire: its body compressed when the client accepts it and the body
/// is large enough to gain from it.
struct WireResponse: Sendable {
    /// DynamoDB compresses responses of 4 KB and more when asked, and leaves smaller ones alone;
    /// below that the bytes saved do not pay for the CPU, and the benchmark's small bodies stay on
    /// the plain path.
    static let compressionThresholdBytes = 4096
    /// zlib's fastest level, as nginx uses by default: JSON compresses well even at level 1, and
    /// a node's CPU is scarcer than a client's bandwidth.
    static let compressionLevel: Int32 = 1

    var status: Int
    var body: [UInt8]
    var contentType: String?
    var contentCoding: ContentCoding?

    init(status: Int, body: [UInt8], contentType: String?) {
        self.status = status
        self.body = body
        self.contentType = contentType
    }

    init(_ response: APIResponse, contentType: String, coding: ContentCoding?) {
        self.init(status: response.status, body: response.body, contentType: contentType)
        guard let coding, response.body.count >= WireResponse.compressionThresholdBytes,
              let compressed = HTTPCompression.compress(response.body, coding: coding, level: WireResponse.compressionLevel),
              compressed.count < response.body.count
        else { return }
        body = compressed
        contentCoding = coding
    }
}

/// The request body's `Content-Encoding`: which coding to undo, and DynamoDB-style errors when it
/// cannot be undone. DynamoDB itself answers these with a 500 InternalServerError, which the SDKs
/// retry; Tern answers 400 SerializationException (413 when too large), which they do not.
enum RequestBodyCoding {
    /// The one coding the header names, nil for none (or only `identity`).
    static func coding(of header: String?) throws(DynamoDBError) -> ContentCoding? {
        guard let header else { return nil }
        let codings = header.split(separator: ",").map { AcceptEncoding.trimmed($0).lowercased() }
            .filter { !$0.isEmpty && $0 != "identity" }
        guard let first = codings.first else { return nil }
        guard codings.count == 1 else {
            throw DynamoDBError.serialization("Content-Encoding '\(header)' applies more than one coding; send the body encoded once, with gzip or deflate")
        }
        switch first {
        case "gzip", "x-gzip": return .gzip
        case "deflate": return .deflate
        default:
            throw DynamoDBError.serialization("Content-Encoding '\(first)' is not supported; send gzip or deflate")
        }
    }

    /// The decoded body, bounded by `limit` bytes.
    static func decode(_ body: [UInt8], coding: ContentCoding?, limit: Int) -> Result<[UInt8], DynamoDBError> {
        guard let coding else { return .success(body) }
        do {
            return .success(try HTTPCompression.decompress(body, coding: coding, limit: limit))
        } catch {
            switch error {
            case .tooLarge:
                return .failure(.requestTooLarge("Request body exceeds the maximum of \(limit) bytes after decompression"))
            case .malformed(let reason):
                return .failure(.serialization("The request body is not valid \(coding.headerValue) data: \(reason)"))
            }
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
