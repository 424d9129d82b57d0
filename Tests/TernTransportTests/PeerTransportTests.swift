import NIOCore
import NIOPosix
import Synchronization
import TernCluster
import TernCore
import XCTest

@testable import TernTransport

/// The peer transport over real loopback sockets: multiplexing, deadlines, bounds, the breaker
/// and reconnection, authentication, and connections that break the protocol.
final class PeerTransportTests: XCTestCase {
    var group: MultiThreadedEventLoopGroup!
    let secret = ClusterSecret(Array("correct horse battery staple".utf8))

    override func setUp() async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        try await group.shutdownGracefully()
    }

    /// Short timings, so failures show up in milliseconds; authentication on.
    func settings(_ change: (inout PeerTransportSettings) -> Void = { _ in }) -> PeerTransportSettings {
        var settings = PeerTransportSettings(
            handshakeTimeoutMillis: 300, connectTimeoutMillis: 500,
            breaker: .init(failureThreshold: 3, coolDownMillis: 300, coolDownMaxMillis: 1_200),
            backoff: .init(baseMillis: 10, capMillis: 50), backoffSeed: 1, secret: secret)
        change(&settings)
        return settings
    }

    func server(_ handler: any PeerRequestHandler, settings: PeerTransportSettings? = nil, port: Int = 0, events: EventLog? = nil) async throws -> (PeerServer, Int) {
        let server = try PeerServer(
            node: "n2", host: "127.0.0.1", port: port, settings: settings ?? self.settings(), handler: handler, group: group,
            onEvent: { event in events?.append(event) })
        let bound = try await server.start()
        return (server, bound)
    }

    func client(port: Int, settings: PeerTransportSettings? = nil, events: EventLog? = nil) throws -> PeerClient {
        try PeerClient(
            node: "n1", peer: "n2", host: "127.0.0.1", port: port, settings: settings ?? self.settings(), group: group,
            onEvent: { event in events?.append(event) })
    }

    /// Polls `condition` every 10 ms for at most `seconds`.
    func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    func requestError(_ client: PeerClient, _ message: PeerMessage = PeerMessage(kind: 1), deadlineMillis: UInt32 = 1_000) async -> PeerError? {
        do {
            _ = try await client.request(message, deadlineMillis: deadlineMillis)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Round trips

    func testManyConcurrentRequestsShareOneConnectionAndEachGetsItsOwnAnswer() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port)
        let answers = try await withThrowingTaskGroup(of: (Int, PeerMessage).self) { tasks in
            for index in 0..<300 {
                tasks.addTask {
                    let payload = Array("request \(index)".utf8) + Array(repeating: UInt8(index % 256), count: index * 7)
                    return (index, try await client.request(PeerMessage(kind: UInt16(index), payload: payload), deadlineMillis: 5_000))
                }
            }
            var answers: [Int: PeerMessage] = [:]
            for try await (index, answer) in tasks { answers[index] = answer }
            return answers
        }
        XCTAssertEqual(answers.count, 300)
        for (index, answer) in answers {
            let payload = Array("request \(index)".utf8) + Array(repeating: UInt8(index % 256), count: index * 7)
            XCTAssertEqual(answer, PeerMessage(kind: UInt16(index) &+ 1, payload: Array("n1:".utf8) + payload), "request \(index)")
        }
        try await client.ping(deadlineMillis: 1_000)
        XCTAssertEqual(server.connectionCount, 1, "one connection per peer carries every request")
        XCTAssertEqual(client.requestsInFlight, 0)
        XCTAssertEqual(client.bytesInFlight, 0)
        await client.shutdown()
        await server.stop()
    }

    func testWithoutSecretsOnBothSidesPeersStillTalk() async throws {
        let open = settings { $0.secret = nil }
        let (server, port) = try await server(EchoHandler(), settings: open)
        let client = try client(port: port, settings: open)
        let answer = try await client.request(PeerMessage(kind: 7, payload: [1, 2, 3]), deadlineMillis: 2_000)
        XCTAssertEqual(answer, PeerMessage(kind: 8, payload: Array("n1:".utf8) + [1, 2, 3]))
        await client.shutdown()
        await server.stop()
    }

    func testHandlerErrorsTravelWithTheirCode() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port)
        let error = await requestError(client, PeerMessage(kind: EchoHandler.failingKind))
        XCTAssertEqual(error, .remote(code: 77, message: "no such thing"))
        XCTAssertEqual(client.breakerState, .closed(consecutiveFailures: 0), "an answer, even an error, shows the peer is there")
        await client.shutdown()
        await server.stop()
    }

    // MARK: - Deadlines

    func testRequestFailsAtItsDeadlineWhenTheHandlerNeverAnswersAndTheLateAnswerIsDropped() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port)
        let started = ContinuousClock.now
        let error = await requestError(client, PeerMessage(kind: EchoHandler.silentKind), deadlineMillis: 200)
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(error, .deadlineExceeded)
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(200))
        XCTAssertLessThan(elapsed, .seconds(2))
        XCTAssertEqual(client.requestsInFlight, 0)
        // The server cancels the silent handler at the deadline and its late error frame is
        // dropped; the connection goes on answering the right requests.
        let answer = try await client.request(PeerMessage(kind: 1, payload: [9]), deadlineMillis: 2_000)
        XCTAssertEqual(answer, PeerMessage(kind: 2, payload: Array("n1:".utf8) + [9]))
        XCTAssertEqual(server.connectionCount, 1)
        await client.shutdown()
        await server.stop()
    }

    // MARK: - Bounds

    func testRequestsBeyondTheInFlightBoundsAreRefusedAtOnce() async throws {
        let handler = HeldHandler()
        let (server, port) = try await server(handler)
        let client = try client(port: port, settings: settings { $0.requestsInFlightMax = 2; $0.bytesInFlightMax = 1_000 })
        let tooManyBytes = await requestError(client, PeerMessage(kind: 1, payload: Array(repeating: 0, count: 1_001)))
        XCTAssertEqual(tooManyBytes, .overloaded, "one request above the byte bound is refused")
        async let first = client.request(PeerMessage(kind: 1, payload: [1]), deadlineMillis: 5_000)
        async let second = client.request(PeerMessage(kind: 1, payload: [2]), deadlineMillis: 5_000)
        let bothHeld = await eventually { handler.started == 2 }
        XCTAssertTrue(bothHeld)
        let started = ContinuousClock.now
        let third = await requestError(client, PeerMessage(kind: 1, payload: [3]), deadlineMillis: 5_000)
        XCTAssertEqual(third, .overloaded)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "refused at once, not queued until its deadline")
        handler.release()
        let answers = try await [first, second]
        XCTAssertEqual(answers.map(\.payload), [[1], [2]])
        XCTAssertEqual(client.requestsInFlight, 0)
        XCTAssertEqual(client.bytesInFlight, 0)
        await client.shutdown()
        await server.stop()
    }

    func testServerRefusesRequestsBeyondItsPerConnectionBoundWithOverloaded() async throws {
        let handler = HeldHandler()
        let (server, port) = try await server(handler, settings: settings { $0.handledRequestsPerConnectionMax = 1 })
        let client = try client(port: port)
        async let held = client.request(PeerMessage(kind: 1, payload: [1]), deadlineMillis: 5_000)
        let isHeld = await eventually { handler.started == 1 }
        XCTAssertTrue(isHeld)
        let refused = await requestError(client, PeerMessage(kind: 1, payload: [2]))
        XCTAssertEqual(refused?.isOverloaded, true, "got \(String(describing: refused))")
        XCTAssertEqual(handler.started, 1, "the refused request never reached the handler")
        handler.release()
        _ = try await held
        await client.shutdown()
        await server.stop()
    }

    func testRequestLargerThanAFrameIsRefused() async throws {
        let client = try client(port: 1, settings: settings { $0.maxFrameBytes = 1_024 })
        let error = await requestError(client, PeerMessage(kind: 1, payload: Array(repeating: 0, count: 1_024)))
        XCTAssertEqual(error, .requestTooLarge(bytes: 1_040, max: 1_024))
        await client.shutdown()
    }

    // MARK: - Breaker and reconnection

    func testBreakerOpensWhilePeerIsDownFailsFastThenRecoversWhenThePeerReturns() async throws {
        // A port that nothing listens on (a server bound it and stopped).
        let (probe, port) = try await server(EchoHandler())
        await probe.stop()
        let events = EventLog()
        let client = try client(port: port, events: events)

        let firstError = await requestError(client)
        guard case .unavailable = firstError else { return XCTFail("expected unavailable, got \(String(describing: firstError))") }
        // Background reconnects keep failing; after three failures the breaker opens.
        let opened = await eventually {
            if case .open = client.breakerState { return true }
            return false
        }
        XCTAssertTrue(opened, "breaker: \(client.breakerState)")
        let started = ContinuousClock.now
        let fast = await requestError(client, deadlineMillis: 5_000)
        XCTAssertEqual(fast, .circuitOpen)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1), "an open peer is skipped at once, not waited on until the deadline")

        let (server, _) = try await server(EchoHandler(), port: port)
        var answer: PeerMessage?
        let recovered = await eventuallyAsync {
            answer = try? await client.request(PeerMessage(kind: 1, payload: [5]), deadlineMillis: 500)
            return answer != nil
        }
        XCTAssertTrue(recovered, "breaker: \(client.breakerState); events: \(events.all)")
        XCTAssertEqual(answer?.payload, Array("n1:".utf8) + [5])
        XCTAssertEqual(client.breakerState, .closed(consecutiveFailures: 0))
        XCTAssertTrue(events.all.contains(.connected(peer: "n2")))
        await client.shutdown()
        await server.stop()
    }

    func testClientReconnectsAfterTheConnectionDrops() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port)
        _ = try await client.request(PeerMessage(kind: 1), deadlineMillis: 2_000)
        await server.stop()
        let dropped = await eventually { !client.isConnected }
        XCTAssertTrue(dropped)
        let (again, _) = try await self.server(EchoHandler(), port: port)
        let reconnected = await eventually { client.isConnected }
        XCTAssertTrue(reconnected, "reconnects in the background, without a request")
        let answer = try await client.request(PeerMessage(kind: 1, payload: [4]), deadlineMillis: 2_000)
        XCTAssertEqual(answer.payload, Array("n1:".utf8) + [4])
        await client.shutdown()
        await again.stop()
    }

    /// Three requests the server never answers (the settings' failure threshold): the breaker
    /// opens while the connection stays up.
    func openBreakerWithTimeouts(_ client: PeerClient) async throws {
        for _ in 0..<3 {
            let error = await requestError(client, PeerMessage(kind: EchoHandler.silentKind), deadlineMillis: 50)
            XCTAssertEqual(error, .deadlineExceeded)
        }
        guard case .open = client.breakerState else {
            XCTFail("breaker: \(client.breakerState)")
            throw BreakerDidNotOpen()
        }
    }

    struct BreakerDidNotOpen: Error {}

    func testRepeatedTimeoutsOpenTheBreakerOnALivePeer() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port, settings: settings { $0.breaker.coolDownMillis = 1_000 })
        try await openBreakerWithTimeouts(client)
        let error = await requestError(client)
        XCTAssertEqual(error, .circuitOpen)
        // After the cool-down one probe passes; its success closes the breaker.
        let closed = await eventuallyAsync { await self.requestError(client) == nil }
        XCTAssertTrue(closed)
        XCTAssertEqual(client.breakerState, .closed(consecutiveFailures: 0))
        await client.shutdown()
        await server.stop()
    }

    /// A peer that was paused keeps its connection, and an open peer gets no request: only the
    /// probe (a ping once the cool-down has passed) can close its breaker.
    func testAnOpenBreakerOnALiveConnectionIsClosedByAProbeWithoutAnyRequest() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try client(port: port, settings: settings { $0.breaker.coolDownMillis = 300 })
        try await openBreakerWithTimeouts(client)
        client.probeIfDue(deadlineMillis: 1_000)  // before the cool-down: nothing is sent
        try await Task.sleep(for: .milliseconds(100))
        guard case .open = client.breakerState else { return XCTFail("probed before the cool-down: \(client.breakerState)") }
        let closed = await eventually {
            client.probeIfDue(deadlineMillis: 1_000)
            return client.breakerState == .closed(consecutiveFailures: 0)
        }
        XCTAssertTrue(closed, "breaker: \(client.breakerState)")
        XCTAssertTrue(client.isConnected)
        await client.shutdown()
        await server.stop()
    }

    func eventuallyAsync(within seconds: Double = 5, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    // MARK: - Authentication

    func testWrongSecretNeverReachesTheHandler() async throws {
        let handler = CountingHandler()
        let serverEvents = EventLog()
        let clientEvents = EventLog()
        let (server, port) = try await server(handler, events: serverEvents)
        let wrong = settings { $0.secret = ClusterSecret(Array("wrong".utf8)) }
        let client = try client(port: port, settings: wrong, events: clientEvents)
        let error = await requestError(client)
        guard case .unavailable(let reason) = error else { return XCTFail("expected unavailable, got \(String(describing: error))") }
        XCTAssertTrue(reason.contains("authentication"), reason)
        let noSecret = try self.client(port: port, settings: settings { $0.secret = nil })
        let alsoRefused = await requestError(noSecret)
        guard case .unavailable = alsoRefused else { return XCTFail("expected unavailable, got \(String(describing: alsoRefused))") }
        XCTAssertEqual(handler.calls, 0)
        XCTAssertFalse(serverEvents.all.contains { if case .accepted = $0 { return true } else { return false } })
        await client.shutdown()
        await noSecret.shutdown()
        await server.stop()
    }

    func testClientRefusesAServerWithAnotherNodeId() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try PeerClient(node: "n1", peer: "n3", host: "127.0.0.1", port: port, settings: settings(), group: group)
        let error = await requestError(client)
        guard case .unavailable(let reason) = error else { return XCTFail("expected unavailable, got \(String(describing: error))") }
        XCTAssertTrue(reason.contains("expected node n3"), reason)
        await client.shutdown()
        await server.stop()
    }

    func testClientGivenOnlyAnAddressLearnsThePeerIdAndPinsIt() async throws {
        let (server, port) = try await server(EchoHandler())
        let client = try PeerClient(node: "n1", peer: nil, host: "127.0.0.1", port: port, settings: settings(), group: group)
        XCTAssertNil(client.peer)
        _ = try await client.request(PeerMessage(kind: 1), deadlineMillis: 2_000)
        XCTAssertEqual(client.peer, "n2")
        await server.stop()
        let impostor = try PeerServer(node: "n9", host: "127.0.0.1", port: port, settings: settings(), handler: EchoHandler(), group: group)
        try await impostor.start()
        let refused = await eventuallyAsync {
            if case .unavailable(let reason) = await self.requestError(client) { return reason.contains("expected node n2") }
            return false
        }
        XCTAssertTrue(refused, "another node at the same address is refused")
        await client.shutdown()
        await impostor.stop()
    }

    // MARK: - Connections that break the protocol

    func rawConnection(port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
    }

    /// Whether the server closed `channel` within `seconds`.
    func closedByServer(_ channel: any Channel, within seconds: Double = 2) async -> Bool {
        let closed = Mutex(false)
        channel.closeFuture.whenComplete { _ in closed.withLock { $0 = true } }
        let result = await eventually(within: seconds) { closed.withLock { $0 } }
        if !result { try? await channel.close() }
        return result
    }

    func testGarbageOversizedAndUnauthenticatedFramesCloseTheirConnectionAndTheServerServesOn() async throws {
        let handler = CountingHandler()
        let events = EventLog()
        let (server, port) = try await server(handler, events: events)
        var random = SplitMix64(seed: 0xBAD_F00D)
        let garbage = (0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let request = PeerFrame(kind: .request, requestId: 1, deadlineMillis: 1_000, messageKind: 1, payload: [1]).encoded()
        var wrongVersion = PeerFrame(kind: .hello).encoded()
        wrongVersion[4] = 9
        let hello = PeerFrame(kind: .hello, payload: PeerHandshake.encode(.init(node: "intruder", nonce: Array(repeating: 1, count: 32)))).encoded()
        let forgedProof = PeerFrame(kind: .proof, payload: Array(repeating: 0xAB, count: 32)).encoded()
        let cases: [(String, [UInt8], String)] = [
            ("random bytes", garbage, ""),
            ("oversized length, no body", [0xFF, 0xFF, 0xFF, 0xFF], "exceeds the bound"),
            ("request before the handshake", request, "request frame before the handshake"),
            ("unknown version", wrongVersion, "unsupported frame version 9"),
            ("forged proof, then a request", hello + forgedProof + request, "authentication failed for node intruder"),
            ("nothing at all", [], "handshake not completed"),
        ]
        for (name, bytes, reason) in cases {
            let before = events.rejections.count
            let channel = try await rawConnection(port: port)
            if !bytes.isEmpty { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) }
            let closed = await closedByServer(channel)
            XCTAssertTrue(closed, "\(name): the server must close the connection")
            let logged = await eventually { events.rejections.count > before }
            XCTAssertTrue(logged, "\(name): the rejection is reported")
            if !reason.isEmpty { XCTAssertTrue(events.rejections.last?.contains(reason) ?? false, "\(name): \(events.rejections)") }
        }
        XCTAssertEqual(handler.calls, 0, "no request from an unauthenticated connection reached the handler")
        let client = try client(port: port)
        let answer = try await client.request(PeerMessage(kind: 1, payload: [1]), deadlineMillis: 2_000)
        XCTAssertEqual(answer, PeerMessage(kind: 1, payload: [1]))
        XCTAssertEqual(handler.calls, 1)
        let onlyTheGoodClient = await eventually { server.connectionCount == 1 }
        XCTAssertTrue(onlyTheGoodClient, "rejected connections are gone: \(server.connectionCount)")
        await client.shutdown()
        await server.stop()
    }

    func testAFrameArrivingInPiecesIsReassembled() async throws {
        let events = EventLog()
        let (server, port) = try await server(CountingHandler(), events: events)
        let hello = PeerFrame(kind: .hello, payload: PeerHandshake.encode(.init(node: "slow", nonce: Array(repeating: 7, count: 32)))).encoded()
        let channel = try await rawConnection(port: port)
        for piece in [hello[0..<2], hello[2..<11], hello[11...]] {
            try await channel.writeAndFlush(ByteBuffer(bytes: piece))
            try await Task.sleep(for: .milliseconds(20))
        }
        let closed = await closedByServer(channel)
        XCTAssertTrue(closed)
        // The hello was understood: the server waited for the proof until the handshake timeout.
        XCTAssertEqual(events.rejections.count, 1)
        XCTAssertTrue(events.rejections.first?.contains("handshake not completed") ?? false, "\(events.rejections)")
        await server.stop()
    }

    func testSeededRandomStreamsFromManyConnectionsAreAllClosedAndNeverReachTheHandler() async throws {
        let handler = CountingHandler()
        let (server, port) = try await server(handler)
        var random = SplitMix64(seed: 0x5EED_0007)
        var channels: [any Channel] = []
        for _ in 0..<40 {
            var stream: [UInt8] = []
            for _ in 0..<(1 + random.next(below: 4)) {
                let kind = PeerFrame.Kind.allCases[random.next(below: PeerFrame.Kind.allCases.count)]
                var payload = (0..<random.next(below: 80)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if kind == .hello && random.next(below: 2) == 0 {
                    payload = PeerHandshake.encode(.init(node: "x\(random.next(below: 100))", nonce: Array(payload.prefix(32)) + Array(repeating: 0, count: max(0, 32 - payload.count))))
                }
                stream += PeerFrame(kind: kind, requestId: random.next(), deadlineMillis: 1_000, messageKind: 1, payload: payload).encoded()
            }
            if random.next(below: 3) == 0 { stream += (0..<random.next(below: 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
            if random.next(below: 3) == 0, !stream.isEmpty {
                let bit = random.next(below: stream.count * 8)
                stream[bit / 8] ^= 1 << UInt8(bit % 8)
            }
            let channel = try await rawConnection(port: port)
            try await channel.writeAndFlush(ByteBuffer(bytes: stream))
            channels.append(channel)
        }
        for (index, channel) in channels.enumerated() {
            let closed = await closedByServer(channel)
            XCTAssertTrue(closed, "connection \(index) must be closed (bad frame, failed proof or handshake timeout)")
        }
        XCTAssertEqual(handler.calls, 0)
        let client = try client(port: port)
        let answer = try await client.request(PeerMessage(kind: 3, payload: [3]), deadlineMillis: 2_000)
        XCTAssertEqual(answer, PeerMessage(kind: 3, payload: [3]))
        await client.shutdown()
        await server.stop()
    }

    func testConnectionsBeyondTheBoundAreClosedOnAccept() async throws {
        let events = EventLog()
        let (server, port) = try await server(EchoHandler(), settings: settings { $0.connectionsMax = 1; $0.handshakeTimeoutMillis = 5_000 }, events: events)
        let first = try await rawConnection(port: port)
        let admitted = await eventually { server.connectionCount == 1 }
        XCTAssertTrue(admitted)
        let second = try await rawConnection(port: port)
        let closed = await closedByServer(second)
        XCTAssertTrue(closed)
        XCTAssertTrue(events.rejections.contains { $0.contains("connection bound") })
        try await first.close()
        await server.stop()
    }
}

// MARK: - Handlers and helpers

/// Answers kind k with kind k + 1 and the sender's id before the payload; `silentKind` never
/// answers (until cancelled), `failingKind` answers with an error.
struct EchoHandler: PeerRequestHandler {
    static let silentKind: UInt16 = 0xFFFE
    static let failingKind: UInt16 = 0xFFFD

    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError> {
        switch request.kind {
        case Self.silentKind:
            try? await Task.sleep(for: .seconds(60))
            return .failure(.remote(code: 99, message: "too late"))
        case Self.failingKind:
            return .failure(.remote(code: 77, message: "no such thing"))
        default:
            return .success(PeerMessage(kind: request.kind &+ 1, payload: Array("\(peer):".utf8) + request.payload))
        }
    }
}

/// Answers with the request itself and counts calls.
final class CountingHandler: PeerRequestHandler {
    private let count = Mutex(0)
    var calls: Int { count.withLock { $0 } }

    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError> {
        count.withLock { $0 += 1 }
        return .success(request)
    }
}

/// Holds every request until `release()` (or until its task is cancelled), then echoes it.
final class HeldHandler: PeerRequestHandler {
    private let state = Mutex((started: 0, released: false))
    var started: Int { state.withLock { $0.started } }

    func release() { state.withLock { $0.released = true } }

    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError> {
        state.withLock { $0.started += 1 }
        while !state.withLock({ $0.released }) && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return .success(request)
    }
}

final class EventLog: Sendable {
    private let events = Mutex<[PeerEvent]>([])

    func append(_ event: PeerEvent) { events.withLock { $0.append(event) } }
    var all: [PeerEvent] { events.withLock { $0 } }
    var rejections: [String] {
        all.compactMap { event in
            if case .rejected(_, let reason) = event { return reason }
            return nil
        }
    }
}
