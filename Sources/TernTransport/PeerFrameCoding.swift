import Crypto
import NIOCore
import TernCluster
import TernCore

/// Cuts the inbound byte stream into `PeerFrame`s. The length prefix is checked against the bound
/// before the frame's bytes are waited for, so an oversized announcement is refused at once and
/// the buffer never holds more than one bounded frame plus what one read delivered. Errors reach
/// the connection handler's `errorCaught`, which closes the connection.
struct PeerFrameByteDecoder: ByteToMessageDecoder {
    typealias InboundOut = PeerFrame

    let maxFrameBytes: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let length = try PeerFrame.bodyLength(prefix: prefix, maxFrameBytes: maxFrameBytes)
        guard buffer.readableBytes >= PeerFrame.lengthPrefixBytes + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: PeerFrame.lengthPrefixBytes)
        // Decoded straight from the buffer's bytes: the payload is copied once, into the frame.
        let frame = try PeerFrame.decode(body: buffer.readableBytesView.prefix(length))
        buffer.moveReaderIndex(forwardBy: length)
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Writes frames: the 20 bytes of prefix and header, then the payload.
struct PeerFrameByteEncoder: MessageToByteEncoder {
    typealias OutboundIn = PeerFrame

    func encode(data frame: PeerFrame, out: inout ByteBuffer) throws {
        out.reserveCapacity(minimumWritableBytes: PeerFrame.lengthPrefixBytes + frame.bodyBytes)
        out.writeBytes(frame.encodedHeader())
        out.writeBytes(frame.payload)
    }
}

/// The proofs of `PeerHandshake`: HMAC-SHA256 with the cluster secret, checked in constant time.
struct PeerAuthenticator: Sendable {
    /// The secret's bytes; the key is built per use because `SymmetricKey` is not `Sendable`
    /// (a handshake is rare, so the cost does not matter).
    let secret: [UInt8]?

    init(secret: ClusterSecret?) {
        self.secret = secret?.bytes
    }

    var key: SymmetricKey? { secret.map { SymmetricKey(data: $0) } }

    /// Empty without a secret.
    func proof(of transcript: [UInt8]) -> [UInt8] {
        guard let key else { return [] }
        return Array(HMAC<SHA256>.authenticationCode(for: transcript, using: key))
    }

    /// Without a secret only an empty proof is good: a peer that has one and one that does not
    /// are configured differently and must not talk.
    func verify(_ proof: [UInt8], of transcript: [UInt8]) -> Bool {
        guard let key else { return proof.isEmpty }
        guard proof.count == PeerHandshake.proofBytes else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(proof, authenticating: transcript, using: key)
    }

    /// A fresh nonce (the shell may draw from the system generator: nonces must be unpredictable,
    /// not reproducible).
    static func nonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(PeerHandshake.nonceBytes)
        for _ in 0..<(PeerHandshake.nonceBytes / 8) {
            let word = generator.next()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return bytes
    }
}

/// The monotonic clock of the transport's deadlines and breakers, in milliseconds.
func monotonicMillis() -> UInt64 {
    NIODeadline.now().uptimeNanoseconds / 1_000_000
}
