import CZlib

/// An HTTP content coding Tern decodes in requests and applies to responses (RFC 9110 §8.4.1).
enum ContentCoding: Sendable, Equatable {
    /// The gzip file format (RFC 1952).
    case gzip
    /// HTTP's "deflate": the zlib format (RFC 1950). Some clients send a raw deflate stream (RFC 1951)
    /// under this name; decoding accepts both, telling them apart by the zlib header.
    case deflate

    var headerValue: String {
        switch self {
        case .gzip: return "gzip"
        case .deflate: return "deflate"
        }
    }
}

/// Why a compressed request body could not be decoded.
enum DecompressionFailure: Error, Equatable {
    /// Not a valid stream of the announced coding (empty, truncated, corrupt, trailing data).
    case malformed(String)
    /// The decoded body would exceed the bound; decoding stopped there.
    case tooLarge
}

/// zlib behind two calls. Every unsafe pointer into zlib lives in this file.
enum HTTPCompression {
    /// Bytes inflated per step. Output grows by at most this much past the bound before decoding
    /// stops, so a small "zip bomb" never allocates more than `limit + inflateChunkBytes`.
    static let inflateChunkBytes = 64 * 1024

    /// Decodes `input`, failing as soon as the output would exceed `limit` bytes.
    /// gzip allows several members one after another (RFC 1952 §2.2); they are decoded in turn.
    static func decompress(_ input: [UInt8], coding: ContentCoding, limit: Int) throws(DecompressionFailure) -> [UInt8] {
        guard !input.isEmpty else { throw .malformed("the body is empty") }
        let windowBits: Int32
        switch coding {
        case .gzip: windowBits = 15 + 16
        case .deflate: windowBits = hasZlibHeader(input) ? 15 : -15
        }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        // zlib keeps a pointer back to the stream, so the stream lives at one address until inflateEnd.
        stream.initialize(to: z_stream())
        defer {
            inflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard tern_inflateInit2(stream, windowBits) == Z_OK else { throw .malformed("the decoder could not start") }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: inflateChunkBytes)
        let result: Result<[UInt8], DecompressionFailure> = input.withUnsafeBufferPointer { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.pointee.avail_in = UInt32(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.pointee.next_out = target.baseAddress
                    stream.pointee.avail_out = UInt32(target.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    output.append(contentsOf: target[0..<(target.count - Int(stream.pointee.avail_out))])
                    return status
                }
                if output.count > limit { return .failure(.tooLarge) }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if stream.pointee.avail_in == 0 { return .success(output) }
                    guard coding == .gzip, inflateReset(stream) == Z_OK else {
                        return .failure(.malformed("data follows the end of the compressed stream"))
                    }
                case Z_BUF_ERROR:
                    // With fresh output space, no progress means the input ended inside the stream.
                    return .failure(.malformed("the compressed stream is truncated"))
                default:
                    return .failure(.malformed(zlibMessage(stream) ?? "invalid compressed data"))
                }
            }
        }
        return try result.get()
    }

    /// Encodes `input`, or nil if zlib failed (the caller then sends the body uncompressed).
    static func compress(_ input: [UInt8], coding: ContentCoding, level: Int32) -> [UInt8]? {
        let windowBits: Int32 = coding == .gzip ? 15 + 16 : 15
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard tern_deflateInit2(stream, level, windowBits) == Z_OK else { return nil }
        // deflateBound covers the worst case (incompressible input plus the wrapper), so one
        // Z_FINISH call always completes.
        let capacity = Int(deflateBound(stream, UInt(input.count)))
        var finished = false
        let output = input.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: capacity) { target, count in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.pointee.avail_in = UInt32(source.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = UInt32(capacity)
                finished = deflate(stream, Z_FINISH) == Z_STREAM_END
                count = finished ? capacity - Int(stream.pointee.avail_out) : 0
            }
        }
        return finished ? output : nil
    }

    /// RFC 1950 §2.2: compression method 8 and a header checksum that is a multiple of 31.
    static func hasZlibHeader(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        return bytes[0] & 0x0F == 8 && (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) % 31 == 0
    }

    static func zlibMessage(_ stream: UnsafeMutablePointer<z_stream>) -> String? {
        stream.pointee.msg.map { String(cString: $0) }
    }
}
