import TernCluster
import TernCore

/// Catalog messages over the peer transport: one request frame of kind
/// `CatalogPeerMessage.frameKind` per message, its answer in the response frame.
public struct PeerCatalogMessenger: CatalogMessenger {
    let clients: [NodeID: PeerClient]

    /// `clients`: one client per other member.
    public init(clients: [NodeID: PeerClient]) {
        self.clients = clients
    }

    public func send(
        _ message: CatalogPeerMessage, to node: NodeID, deadlineMillis: UInt32,
        completion: @escaping @Sendable (Result<CatalogPeerMessage, PeerError>) -> Void
    ) {
        guard let client = clients[node] else { return completion(.failure(.unavailable("no client for \(node)"))) }
        let request = PeerMessage(kind: CatalogPeerMessage.frameKind, payload: message.encoded())
        Task {
            do throws(PeerError) {
                let answer = try await client.request(request, deadlineMillis: deadlineMillis)
                guard answer.kind == CatalogPeerMessage.frameKind, let decoded = CatalogPeerMessage(decoding: answer.payload) else {
                    return completion(.failure(.remote(code: PeerError.handlerFailedCode, message: "undecodable catalog answer")))
                }
                completion(.success(decoded))
            } catch {
                completion(.failure(error))
            }
        }
    }

    /// Not while the peer's breaker is open. A peer that is merely not connected yet counts as
    /// reachable: the request itself connects.
    public func isReachable(_ node: NodeID) -> Bool {
        guard let client = clients[node] else { return false }
        if case .open = client.breakerState { return false }
        return true
    }
}

extension Catalog {
    /// The peer handler's part for frame kind `CatalogPeerMessage.frameKind`: decodes, serves,
    /// encodes the answer. An undecodable message is refused with `handlerFailedCode`.
    public func handlePeerRequest(from peer: NodeID, _ request: PeerMessage) async -> Result<PeerMessage, PeerError> {
        guard request.kind == CatalogPeerMessage.frameKind, let message = CatalogPeerMessage(decoding: request.payload) else {
            return .failure(.remote(code: PeerError.handlerFailedCode, message: "undecodable catalog message"))
        }
        let answer = await serve(message, from: peer)
        return .success(PeerMessage(kind: CatalogPeerMessage.frameKind, payload: answer.encoded()))
    }
}
