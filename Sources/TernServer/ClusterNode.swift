import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TernAPI
import TernCluster
import TernCore
import TernTransport

/// One `--seeds` entry: where a member's cluster port listens.
public struct SeedAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`.
    public static func parse(_ text: String) throws -> SeedAddress {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
            colon != text.startIndex
        else {
            throw ConfigurationError("a seed is host:port (got '\(text)')")
        }
        return SeedAddress(host: String(text[..<colon]), port: port)
    }

    public var description: String { "\(host):\(port)" }
}

/// The peers of this node: one client per member, reached by node id. Sends replica messages
/// with a deadline and turns the answer into a completion (the coordinator's shell feeds it back
/// as an event).
final class PeerMessenger: ReplicaMessenger {
    let clients: [NodeID: PeerClient]

    init(clients: [NodeID: PeerClient]) {
        self.clients = clients
    }

    func send(
        _ message: ReplicaMessage, to node: NodeID, deadlineMillis: UInt32,
        completion: @escaping @Sendable (Result<ReplicaMessage, PeerError>) -> Void
    ) {
        guard let client = clients[node] else {
            completion(.failure(.unavailable("\(node) is not a member")))
            return
        }
        let request = PeerMessage(kind: message.kind, payload: message.encoded())
        // The transport's request is async; the coordinator waits on its mailbox, not on this
        // task, so a slow replica never holds a reply that W others already made possible.
        // Bounded: the client refuses requests beyond its in-flight bounds at once. The task runs
        // on the connection's event loop: the frame is written and the answer resumes the task
        // there, without hops through the cooperative pool.
        Task(executorPreference: client.executor) {
            do throws(PeerError) {
                let reply = try await client.request(request, deadlineMillis: deadlineMillis)
                completion(Result { try ReplicaMessage.decode(kind: reply.kind, reply.payload) }.mapError { error in
                    PeerError.unavailable("malformed answer from \(node): \(error)")
                })
            } catch {
                completion(.failure(error))
            }
        }
    }

    /// Connected and its breaker closed. A half-open peer is not reachable yet: only the probe
    /// (`probeDuePeers`) tests it, so a partitioned peer whose connection still looks open is not
    /// sent writes and reads (that would wait for their deadline) every time its breaker half-opens.
    func isReachable(_ node: NodeID) -> Bool {
        guard let client = clients[node], client.isConnected else { return false }
        if case .closed = client.breakerState { return true }
        return false
    }

    func probeDuePeers() {
        for client in clients.values { client.probeIfDue(deadlineMillis: 2_000) }
    }

    func breakerState(of node: NodeID) -> String {
        guard let client = clients[node] else { return "unknown" }
        switch client.breakerState {
        case .closed: return client.isConnected ? "closed" : "closed, disconnected"
        case .open: return "open"
        case .halfOpen: return "half-open"
        }
    }

    /// Sends a membership question (start-up only).
    static func identify(_ client: PeerClient) async throws -> MembershipMessage? {
        let reply = try await client.request(PeerMessage(kind: MembershipMessage.identify.kind), deadlineMillis: 1_000)
        return MembershipMessage.decode(kind: reply.kind, reply.payload)
    }
}

/// Answers other nodes' requests: identity at any time; replica reads and writes and forwarded
/// client requests once the node is wired (`attach`).
final class NodePeerHandler: PeerRequestHandler {
    let identity: MembershipMessage
    let wired = Mutex<(shell: CoordinatorShell, service: DynamoDBService, catalog: Catalog)?>(nil)

    init(identity: MembershipMessage) {
        self.identity = identity
    }

    func attach(shell: CoordinatorShell, service: DynamoDBService, catalog: Catalog) {
        wired.withLock { $0 = (shell, service, catalog) }
    }

    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError> {
        if request.kind == MembershipMessage.identify.kind {
            return .success(PeerMessage(kind: identity.kind, payload: identity.encoded()))
        }
        guard let (shell, service, catalog) = wired.withLock({ $0 }) else {
            return .failure(.remote(code: PeerError.overloadedCode, message: "node starting"))
        }
        if request.kind == CatalogPeerMessage.frameKind {
            return await catalog.handlePeerRequest(from: peer, request)
        }
        let message: ReplicaMessage
        do {
            message = try ReplicaMessage.decode(kind: request.kind, request.payload)
        } catch {
            return .failure(.remote(code: PeerError.handlerFailedCode, message: "malformed request of kind \(request.kind)"))
        }
        let reply: ReplicaMessage?
        if case .forward(let forwarded) = message {
            let response = await service.handle(
                target: forwarded.operation, body: forwarded.body, host: nil, options: .forwarded(headers: forwarded.headers)
            )
            reply = .forwardReply(ForwardedResponse(status: response.status, headers: [], body: response.body))
        } else {
            reply = await shell.serve(message)
        }
        guard let reply else {
            return .failure(.remote(code: PeerError.handlerFailedCode, message: "not a request: kind \(request.kind)"))
        }
        return .success(PeerMessage(kind: reply.kind, payload: reply.encoded()))
    }
}

/// The members of the cluster as this node learned them: node id, zone and cluster address of
/// each, this node included. Kept in `<data-dir>/members` once learned, so a node restarted while
/// others are down still knows the map.
struct ClusterMembers: Equatable {
    struct Member: Equatable {
        var node: NodeID
        var zone: Zone?
        var address: SeedAddress
    }

    var members: [Member]

    static func load(_ path: String) throws -> ClusterMembers? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var members: [Member] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 3 else { throw ConfigurationError("\(path): malformed line '\(line)'") }
            members.append(Member(node: fields[0], zone: fields[2] == "-" ? nil : fields[2], address: try SeedAddress.parse(fields[1])))
        }
        return ClusterMembers(members: members)
    }

    func save(_ path: String) throws {
        let text = members.map { "\($0.node) \($0.address) \($0.zone ?? "-")\n" }.joined()
        let temporary = path + ".tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw ConfigurationError("cannot write \(path): errno \(errno)") }
    }
}

/// What a cluster node adds to a single one: the peer server and clients, the view of the
/// members, and the forwarding of writes. A `Service`: it stops the transport on shutdown.
final class ClusterParts: Service, Sendable {
    let view: ClusterView
    let messenger: PeerMessenger
    let handler: NodePeerHandler
    let server: PeerServer
    let group: MultiThreadedEventLoopGroup
    let logger: Logger

    init(view: ClusterView, messenger: PeerMessenger, handler: NodePeerHandler, server: PeerServer, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.view = view
        self.messenger = messenger
        self.handler = handler
        self.server = server
        self.group = group
        self.logger = logger
    }

    var forwarder: RequestForwarder {
        let messenger = self.messenger
        return { node, request in
            let result = await withCheckedContinuation { continuation in
                messenger.send(.forward(request), to: node, deadlineMillis: 10_000) { continuation.resume(returning: $0) }
            }
            switch result {
            case .success(.forwardReply(let response)):
                return APIResponse(status: response.status, body: response.body)
            case .success, .failure:
                // The node that serialises the key's writes did not answer: retryable.
                return .error(DynamoDBError.internalServerError())
            }
        }
    }

    static func start(_ configuration: NodeConfiguration, nodeId: NodeID, logger: Logger) async throws -> ClusterParts {
        var settings = PeerTransportSettings()
        if let file = configuration.clusterSecretFile {
            let secret = try Data(contentsOf: URL(fileURLWithPath: file))
            guard secret.count >= 16 else { throw ConfigurationError("the cluster secret in \(file) must be at least 16 bytes") }
            settings.secret = ClusterSecret(Array(secret))
            logger.info("peer authentication is ON", metadata: ["secret-file": "\(file)"])
        } else {
            logger.warning("peer authentication is OFF: any process that reaches the cluster port can read and write replicas (use --cluster-secret-file FILE)")
        }
        // The node's event loops: the peer transport's, and the HTTP server's too (TernNode).
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.http.eventLoopThreads)
        let identity = MembershipMessage.identity(node: nodeId, zone: configuration.zone, partitionCount: configuration.partitionCount)
        let handler = NodePeerHandler(identity: identity)
        // Connection changes are logged once per change; the failed attempts of a peer that stays
        // down (one per backoff step) only at debug level.
        let connected = Mutex<[String: Bool]>([:])
        let onEvent: @Sendable (PeerEvent) -> Void = { event in
            switch event {
            case .rejected(let remote, let reason): logger.warning("peer connection refused", metadata: ["remote": "\(remote)", "reason": "\(reason)"])
            case .connected(let peer):
                connected.withLock { $0[peer] = true }
                logger.info("peer connected", metadata: ["peer": "\(peer)"])
            case .disconnected(let peer, let reason):
                let changed = connected.withLock { $0.updateValue(false, forKey: peer) != false }
                logger.log(level: changed ? .info : .debug, "peer disconnected", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            case .accepted: break
            }
        }
        let server = try PeerServer(
            node: nodeId, host: configuration.host, port: configuration.clusterPort!, settings: settings, handler: handler, group: group, onEvent: onEvent
        )
        try await server.start()
        let membersFile = configuration.inMemory ? nil : (configuration.dataDirectory as NSString).appendingPathComponent("members")
        let members = try await resolveMembers(configuration, nodeId: nodeId, settings: settings, group: group, membersFile: membersFile, logger: logger, onEvent: onEvent)
        var clients: [NodeID: PeerClient] = [:]
        for member in members.members where member.node != nodeId {
            let client = try PeerClient(node: nodeId, peer: member.node, host: member.address.host, port: member.address.port, settings: settings, group: group, onEvent: onEvent)
            client.connect()
            clients[member.node] = client
        }
        let map = try PartitionMap.initial(members: members.members.map { PartitionMap.Member($0.node, zone: $0.zone) }, partitionCount: configuration.partitionCount)
        let view = ClusterView(
            local: nodeId, map: map, replicationFactor: configuration.replicationFactor,
            writeQuorum: configuration.writeQuorum, readQuorum: configuration.readQuorum
        )
        logger.info("cluster formed", metadata: [
            "members": "\(members.members.map(\.node).joined(separator: ","))", "partitions": "\(configuration.partitionCount)",
            "N": "\(view.replicationFactor)", "W": "\(view.writeQuorum)", "R": "\(view.readQuorum)",
        ])
        // Let the clients connect before the first request, so writes do not begin with every
        // peer counted unreachable.
        for _ in 0..<40 where !clients.values.allSatisfy(\.isConnected) {
            try await Task.sleep(for: .milliseconds(50))
        }
        return ClusterParts(view: view, messenger: PeerMessenger(clients: clients), handler: handler, server: server, group: group, logger: logger)
    }

    /// Every seed's identity: from `<data-dir>/members` when the same seeds were resolved before,
    /// otherwise by asking each seed (retrying until all have answered).
    static func resolveMembers(
        _ configuration: NodeConfiguration, nodeId: NodeID, settings: PeerTransportSettings, group: MultiThreadedEventLoopGroup,
        membersFile: String?, logger: Logger, onEvent: @escaping @Sendable (PeerEvent) -> Void
    ) async throws -> ClusterMembers {
        if let membersFile, let saved = try ClusterMembers.load(membersFile),
            Set(saved.members.map(\.address.description)) == Set(configuration.seeds.map(\.description))
        {
            guard saved.members.contains(where: { $0.node == nodeId }) else {
                throw ConfigurationError("\(membersFile) does not list this node (\(nodeId)); remove it to learn the members again")
            }
            return saved
        }
        var found: [String: ClusterMembers.Member] = [:]
        var clients: [String: PeerClient] = [:]
        defer { for client in clients.values { Task { await client.shutdown() } } }
        var attempt = 0
        while found.count < configuration.seeds.count {
            if Task.isCancelled { throw CancellationError() }
            for seed in configuration.seeds where found[seed.description] == nil {
                let client = try clients[seed.description] ?? PeerClient(
                    node: nodeId, peer: nil, host: seed.host, port: seed.port, settings: settings, group: group, onEvent: { _ in }
                )
                clients[seed.description] = client
                guard case .identity(let node, let zone, let count)? = try? await PeerMessenger.identify(client) else { continue }
                guard count == configuration.partitionCount else {
                    throw ConfigurationError("seed \(seed) (\(node)) uses \(count) partitions, this node \(configuration.partitionCount): every member needs the same --partitions")
                }
                found[seed.description] = ClusterMembers.Member(node: node, zone: zone, address: seed)
            }
            guard found.count < configuration.seeds.count else { break }
            attempt += 1
            if attempt % 10 == 1 {
                let missing = configuration.seeds.filter { found[$0.description] == nil }.map(\.description)
                logger.info("waiting for seeds", metadata: ["missing": "\(missing.joined(separator: ","))"])
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let members = ClusterMembers(members: configuration.seeds.map { found[$0.description]! })
        let ids = members.members.map(\.node)
        guard Set(ids).count == ids.count else { throw ConfigurationError("two seeds answer with the same node id: \(ids)") }
        guard ids.contains(nodeId) else {
            throw ConfigurationError("no seed is this node (\(nodeId)); --seeds must list every member, this one included")
        }
        if let membersFile { try members.save(membersFile) }
        return members
    }

    func run() async throws {
        try? await gracefulShutdown()
        for client in messenger.clients.values { await client.shutdown() }
        await server.stop()
        try? await group.shutdownGracefully()
    }
}
