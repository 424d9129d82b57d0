import Foundation
import NIOPosix
import Synchronization
import TernCluster
import TernCore
import TernStorage
import XCTest

@testable import TernTransport

/// Hands peer requests of kind 20 to a catalog created after the server.
final class CatalogPeerHandler: PeerRequestHandler {
    let catalog = Mutex<Catalog?>(nil)

    func handle(from peer: NodeID, request: PeerMessage, deadlineMillis: UInt32) async -> Result<PeerMessage, PeerError> {
        guard let catalog = catalog.withLock({ $0 }) else { return .failure(.unavailable("no catalog yet")) }
        return await catalog.handlePeerRequest(from: peer, request)
    }
}

/// Three catalogs over the real peer transport (sockets on 127.0.0.1, frame kind 20).
final class CatalogPeerTransportTests: XCTestCase {
    func testThreeCatalogsOverPeerConnectionsAgreeOnAContestedCreateTable() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let members: [NodeID] = ["n1", "n2", "n3"]
        let settings = PeerTransportSettings(handshakeTimeoutMillis: 1_000, connectTimeoutMillis: 1_000)
        var servers: [NodeID: PeerServer] = [:]
        var handlers: [NodeID: CatalogPeerHandler] = [:]
        var ports: [NodeID: Int] = [:]
        for member in members {
            let handler = CatalogPeerHandler()
            let server = try PeerServer(node: member, host: "127.0.0.1", port: 0, settings: settings, handler: handler, group: group)
            ports[member] = try await server.start()
            servers[member] = server
            handlers[member] = handler
        }
        var clients: [PeerClient] = []
        var catalogs: [NodeID: Catalog] = [:]
        let pool = BlockingPool(settings: .init(threads: 1, queueCapacity: 64))
        for member in members {
            var peers: [NodeID: PeerClient] = [:]
            for peer in members where peer != member {
                peers[peer] = try PeerClient(node: member, peer: peer, host: "127.0.0.1", port: ports[peer]!, settings: settings, group: group)
            }
            clients += peers.values
            let storage = InMemoryStorage()
            let coordinator = try CoordinatorShell(nodeId: member, storage: storage, pool: pool, clock: CatalogClusterTests.now)
            let catalog = try Catalog(
                storage: storage, coordinator: coordinator, members: members, messenger: PeerCatalogMessenger(clients: peers)
            )
            handlers[member]!.catalog.withLock { $0 = catalog }
            catalogs[member] = catalog
        }
        for member in members {
            let caughtUp = await catalogs[member]!.waitUntilCaughtUp(timeoutMillis: 10_000)
            XCTAssertTrue(caughtUp, "\(member) catches up over the network")
        }

        let n1 = catalogs["n1"]!, n2 = catalogs["n2"]!
        async let first = CatalogClusterTests.errorCode { _ = try await n1.create("t") { CatalogClusterTests.definition("t", $0) } }
        async let second = CatalogClusterTests.errorCode { _ = try await n2.create("t") { CatalogClusterTests.definition("t", $0) } }
        let outcomes = [await first, await second]
        XCTAssertEqual(outcomes.compactMap { $0 }, ["ResourceInUseException"], "one success, one ResourceInUseException: \(outcomes)")
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, Set(members.map { catalogs[$0]!.table(named: "t")?.tableId }).count != 1 || catalogs["n3"]!.table(named: "t") == nil {
            try await Task.sleep(for: .milliseconds(10))
        }
        let ids = members.map { catalogs[$0]!.table(named: "t")?.tableId }
        XCTAssertEqual(Set(ids).count, 1, "every node describes the same table id: \(ids)")
        XCTAssertNotNil(ids[0])

        for catalog in catalogs.values { await catalog.shutdown() }
        for client in clients { await client.shutdown() }
        for server in servers.values { await server.stop(drainMillis: 500) }
        pool.shutdown()
        try await group.shutdownGracefully()
    }
}
