import TernCore

/// The payloads of the three handshake frames and the bytes each side's proof covers. Pure: the
/// shell draws the nonces and computes the HMACs.
///
/// The exchange (mutual challenge-response, as in SCRAM or Erlang's distribution cookie, with
/// HMAC-SHA256 over a shared secret):
///
/// 1. client → server `hello`: client node id, client nonce.
/// 2. server → client `challenge`: server node id, server nonce, server proof.
/// 3. client → server `proof`: client proof.
///
/// Each proof is HMAC(secret, transcript(role)), where the transcript holds both node ids and
/// both nonces, so a proof is good for one connection only (fresh nonces from both sides defeat
/// replay) and for one direction only (the role byte defeats reflecting the server's proof back).
/// Without a secret the proofs are empty and the exchange only names the nodes.
public enum PeerHandshake {
    /// Bytes of each nonce.
    public static let nonceBytes = 32
    /// Bytes of an HMAC-SHA256 proof.
    public static let proofBytes = 32
    /// The longest node id a hello may carry (its length is one byte).
    public static let nodeIdBytesMax = 255

    public struct Hello: Sendable, Equatable {
        public var node: NodeID
        public var nonce: [UInt8]

        public init(node: NodeID, nonce: [UInt8]) {
            self.node = node
            self.nonce = nonce
        }
    }

    public struct Challenge: Sendable, Equatable {
        public var node: NodeID
        public var nonce: [UInt8]
        /// Empty when the server has no secret.
        public var proof: [UInt8]

        public init(node: NodeID, nonce: [UInt8], proof: [UInt8]) {
            self.node = node
            self.nonce = nonce
            self.proof = proof
        }
    }

    public enum Role: UInt8, Sendable {
        case client = 0x43  // "C"
        case server = 0x53  // "S"
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)

        public var description: String {
            switch self {
            case .malformed(let what): return "malformed handshake: \(what)"
            }
        }
    }

    public static func encode(_ hello: Hello) -> [UInt8] {
        var bytes: [UInt8] = []
        appendNode(hello.node, to: &bytes)
        bytes.append(contentsOf: hello.nonce)
        return bytes
    }

    public static func encode(_ challenge: Challenge) -> [UInt8] {
        var bytes: [UInt8] = []
        appendNode(challenge.node, to: &bytes)
        bytes.append(contentsOf: challenge.nonce)
        bytes.append(UInt8(challenge.proof.count))
        bytes.append(contentsOf: challenge.proof)
        return bytes
    }

    public static func decodeHello(_ payload: [UInt8]) throws(Failure) -> Hello {
        var reader = Reader(bytes: payload)
        let node = try reader.node()
        let nonce = try reader.take(nonceBytes, "nonce")
        try reader.end()
        return Hello(node: node, nonce: nonce)
    }

    public static func decodeChallenge(_ payload: [UInt8]) throws(Failure) -> Challenge {
        var reader = Reader(bytes: payload)
        let node = try reader.node()
        let nonce = try reader.take(nonceBytes, "nonce")
        let proofCount = try reader.take(1, "proof length")[0]
        let proof = try reader.take(Int(proofCount), "proof")
        try reader.end()
        return Challenge(node: node, nonce: nonce, proof: proof)
    }

    /// What `role`'s proof authenticates: a domain tag, the role, both node ids (length-prefixed,
    /// so no two pairs of ids give the same bytes) and both nonces.
    public static func transcript(
        role: Role, client: NodeID, server: NodeID, clientNonce: [UInt8], serverNonce: [UInt8]
    ) -> [UInt8] {
        var bytes = Array("tern-peer-auth-v1".utf8)
        bytes.append(role.rawValue)
        appendNode(client, to: &bytes)
        appendNode(server, to: &bytes)
        bytes.append(contentsOf: clientNonce)
        bytes.append(contentsOf: serverNonce)
        return bytes
    }

    /// Whether `node` can be sent in a hello (non-empty, at most 255 bytes of UTF-8).
    public static func isValidNode(_ node: NodeID) -> Bool {
        let count = node.utf8.count
        return count >= 1 && count <= nodeIdBytesMax
    }

    private static func appendNode(_ node: NodeID, to bytes: inout [UInt8]) {
        precondition(isValidNode(node), "node id must be 1…255 bytes: \(node)")
        bytes.append(UInt8(node.utf8.count))
        bytes.append(contentsOf: node.utf8)
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func take(_ count: Int, _ what: String) throws(Failure) -> [UInt8] {
            guard bytes.count - offset >= count else { throw .malformed("truncated \(what)") }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func node() throws(Failure) -> NodeID {
            let count = Int(try take(1, "node id length")[0])
            guard count >= 1 else { throw .malformed("empty node id") }
            let raw = try take(count, "node id")
            guard let node = String(validating: raw, as: UTF8.self) else { throw .malformed("node id is not UTF-8") }
            return node
        }

        func end() throws(Failure) {
            guard offset == bytes.count else { throw .malformed("\(bytes.count - offset) trailing bytes") }
        }
    }
}
