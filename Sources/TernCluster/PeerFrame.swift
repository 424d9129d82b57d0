import TernCore

/// One frame of the peer protocol (DESIGN.md §1: TCP between nodes, length-prefixed binary
/// frames, multiplexed). The transport carries payloads it does not interpret; `messageKind`
/// tells the receiver's handler what the payload is.
///
/// On the wire (all integers big-endian):
///
/// | bytes | field |
/// |---|---|
/// | 4 | length of everything after this field (16 + payload) |
/// | 1 | version (`PeerFrame.version`) |
/// | 1 | kind (`PeerFrame.Kind`) |
/// | 8 | request id (0 for the handshake frames) |
/// | 4 | milliseconds left before the sender's deadline (requests and pings; 0 otherwise) |
/// | 2 | message kind (requests, responses; the error code of an error frame) |
/// | … | payload |
public struct PeerFrame: Sendable, Equatable {
    public enum Kind: UInt8, Sendable, Equatable, CaseIterable {
        /// Client → server, first frame: node id and a fresh nonce.
        case hello = 1
        /// Server → client: node id, a fresh nonce, and the server's proof of the shared secret.
        case challenge = 2
        /// Client → server: the client's proof of the shared secret.
        case proof = 3
        case request = 4
        case response = 5
        /// The answer to a request that failed; `messageKind` is a `PeerRemoteError` code.
        case error = 6
        /// A request the transport itself answers (liveness); echoed with the same request id.
        case ping = 7
    }

    /// The only protocol version spoken today. A frame of any other version closes the connection:
    /// an incompatible peer must be noticed, not misread.
    public static let version: UInt8 = 1
    /// The length prefix.
    public static let lengthPrefixBytes = 4
    /// Version, kind, request id, deadline and message kind: the bytes counted by the length
    /// prefix that are not payload.
    public static let headerBytes = 16
    /// The default bound on the length prefix's value. Replica writes carry at most a 400 KB item
    /// and its key; batches of hints may be larger, so there is room to spare.
    public static let maxFrameBytesDefault = 8 * 1024 * 1024

    public var kind: Kind
    public var requestId: UInt64
    public var deadlineMillis: UInt32
    public var messageKind: UInt16
    public var payload: [UInt8]

    public init(kind: Kind, requestId: UInt64 = 0, deadlineMillis: UInt32 = 0, messageKind: UInt16 = 0, payload: [UInt8] = []) {
        self.kind = kind
        self.requestId = requestId
        self.deadlineMillis = deadlineMillis
        self.messageKind = messageKind
        self.payload = payload
    }

    /// The value of this frame's length prefix.
    public var bodyBytes: Int { PeerFrame.headerBytes + payload.count }

    /// The whole frame on the wire: length prefix, header, payload.
    public func encoded() -> [UInt8] {
        var bytes = encodedHeader()
        bytes.reserveCapacity(bytes.count + payload.count)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// The length prefix and the header without the payload (20 bytes), so a shell can write the
    /// payload from where it already is instead of copying it.
    public func encodedHeader() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(PeerFrame.lengthPrefixBytes + PeerFrame.headerBytes)
        append(UInt64(UInt32(truncatingIfNeeded: bodyBytes)), bytes: 4, to: &bytes)
        bytes.append(PeerFrame.version)
        bytes.append(kind.rawValue)
        append(requestId, bytes: 8, to: &bytes)
        append(UInt64(deadlineMillis), bytes: 4, to: &bytes)
        append(UInt64(messageKind), bytes: 2, to: &bytes)
        return bytes
    }

    private func append(_ value: UInt64, bytes count: Int, to bytes: inout [UInt8]) {
        for index in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))))
        }
    }

    /// The body length announced by a length prefix, checked against the bounds before anything
    /// is allocated for it: an oversized announcement is refused at once, without waiting for
    /// (or buffering) the bytes it announces.
    public static func bodyLength(prefix: UInt32, maxFrameBytes: Int) throws(PeerFrameError) -> Int {
        let length = Int(prefix)
        guard length <= maxFrameBytes else { throw .tooLarge(length: length, max: maxFrameBytes) }
        guard length >= headerBytes else { throw .tooShort(length: length) }
        return length
    }

    /// Decodes a frame's body (everything after the length prefix). Total: any input either is a
    /// frame or gives a `PeerFrameError`.
    public static func decode<Body: RandomAccessCollection>(body: Body) throws(PeerFrameError) -> PeerFrame
    where Body.Element == UInt8, Body.Index == Int {
        guard body.count >= headerBytes else { throw .tooShort(length: body.count) }
        let start = body.startIndex
        let version = body[start]
        guard version == PeerFrame.version else { throw .unsupportedVersion(version) }
        let rawKind = body[start + 1]
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        let requestId = readInteger(body, at: start + 2, bytes: 8)
        let deadline = UInt32(truncatingIfNeeded: readInteger(body, at: start + 10, bytes: 4))
        let messageKind = UInt16(truncatingIfNeeded: readInteger(body, at: start + 14, bytes: 2))
        return PeerFrame(
            kind: kind, requestId: requestId, deadlineMillis: deadline, messageKind: messageKind,
            payload: Array(body[(start + headerBytes)...]))
    }

    private static func readInteger<Body: RandomAccessCollection>(_ body: Body, at offset: Int, bytes count: Int) -> UInt64
    where Body.Element == UInt8, Body.Index == Int {
        var value: UInt64 = 0
        for index in offset..<(offset + count) { value = value << 8 | UInt64(body[index]) }
        return value
    }
}

/// Why bytes from a peer are not a frame. Every one closes the connection they came on.
public enum PeerFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The length prefix announces more than the bound.
    case tooLarge(length: Int, max: Int)
    /// The length prefix announces less than a header.
    case tooShort(length: Int)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)

    public var description: String {
        switch self {
        case .tooLarge(let length, let max): return "frame of \(length) bytes exceeds the bound of \(max)"
        case .tooShort(let length): return "frame of \(length) bytes is shorter than its header"
        case .unsupportedVersion(let version): return "unsupported frame version \(version)"
        case .unknownKind(let kind): return "unknown frame kind \(kind)"
        }
    }
}
