/// Cuts a byte stream into `PeerFrame`s, for code that sees the stream in arbitrary pieces (the
/// simulator, tests; the NIO shell does the same over its own buffer with `PeerFrame.bodyLength`
/// and `PeerFrame.decode`).
///
/// Bounded: it holds at most one frame's bytes (≤ the bound plus the prefix) beyond what was
/// appended since the last `next()` returned nil, and a length prefix above the bound is an error
/// as soon as its four bytes are in, before any of the announced bytes arrive. After an error the
/// stream is unusable (framing is lost), as the connection it came from will be closed.
public struct PeerFrameDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: PeerFrameError?

    public init(maxFrameBytes: Int = PeerFrame.maxFrameBytesDefault) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// Bytes appended and not yet consumed by a frame.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Adds bytes from the stream; call `next()` until it returns nil afterwards.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if readIndex > 0 && readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil when more bytes are needed, or the error that ends the stream.
    public mutating func next() throws(PeerFrameError) -> PeerFrame? {
        if let failure { throw failure }
        guard bufferedBytes >= PeerFrame.lengthPrefixBytes else { return nil }
        var prefix: UInt32 = 0
        for index in readIndex..<(readIndex + 4) { prefix = prefix << 8 | UInt32(buffer[index]) }
        do {
            let length = try PeerFrame.bodyLength(prefix: prefix, maxFrameBytes: maxFrameBytes)
            guard bufferedBytes >= PeerFrame.lengthPrefixBytes + length else { return nil }
            let bodyStart = readIndex + PeerFrame.lengthPrefixBytes
            let frame = try PeerFrame.decode(body: buffer[bodyStart..<(bodyStart + length)])
            readIndex = bodyStart + length
            return frame
        } catch {
            failure = error
            throw error
        }
    }
}
