import TernCore

/// The messages nodes send each other for items (DESIGN.md §1: coordinator → replica), as the
/// payloads of the peer transport's request and response frames. The transport carries a
/// message kind and bytes; this type gives both their meaning. Decoding is total: bytes that are
/// not a well-formed message give an error, never a crash (a peer may be buggy or hostile).
public enum ReplicaMessage: Sendable, Equatable {
    /// Read this node's version of `key`.
    case read(key: [UInt8])
    /// The answer to `read`.
    case readReply(Coordinator.ReplicaRead)
    /// Make `value` durable on this node for `key` of table `tableId`: reconciled into its data
    /// (`hintFor` nil), or kept as a hint for node `hintFor`.
    case write(key: [UInt8], tableId: UInt32, value: StoredValue, hintFor: NodeID?)
    /// The answer to `write`: nil when durable.
    case writeReply(Coordinator.ReplicaFailure?)
    /// A client request this node forwards to the node that serialises writes of its key (the
    /// first reachable replica of the key's preference list): the DynamoDB operation name, the
    /// headers that matter and the JSON body.
    case forward(ForwardedRequest)
    /// The response to `forward`, to be relayed to the client unchanged.
    case forwardReply(ForwardedResponse)
    /// Read this node's entries of a key range, tombstones included (Query and Scan).
    case readRange(RangeRead)
    /// The answer to `readRange`: at most `RangeRead.replyBytesMax` plus one entry.
    case readRangeReply(RangeReadResult)

    /// The frame's message kind for each case (stable: nodes of different builds talk to each other).
    public var kind: UInt16 {
        switch self {
        case .read: 1
        case .readReply: 2
        case .write: 3
        case .writeReply: 4
        case .forward: 5
        case .forwardReply: 6
        case .readRange: 7
        case .readRangeReply: 8
        }
    }

    public struct DecodeError: Error, Sendable, Equatable {
        public var kind: UInt16
        public var offset: Int
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .read(let key):
            writer.lengthPrefixed(key)
        case .readReply(let read):
            switch read {
            case .value(let value):
                writer.bytes.append(0)
                if let value {
                    writer.bytes.append(1)
                    writer.lengthPrefixed(value.encoded())
                } else {
                    writer.bytes.append(0)
                }
            case .failed(let failure):
                writer.bytes.append(1)
                ReplicaMessage.write(failure, into: &writer)
            }
        case .write(let key, let tableId, let value, let hintFor):
            writer.lengthPrefixed(key)
            writer.varint(UInt64(tableId))
            writer.lengthPrefixed(value.encoded())
            if let hintFor {
                writer.bytes.append(1)
                writer.lengthPrefixed(hintFor.utf8)
            } else {
                writer.bytes.append(0)
            }
        case .writeReply(let failure):
            if let failure {
                writer.bytes.append(1)
                ReplicaMessage.write(failure, into: &writer)
            } else {
                writer.bytes.append(0)
            }
        case .forward(let request):
            writer.lengthPrefixed(request.operation.utf8)
            ReplicaMessage.write(request.headers, into: &writer)
            writer.lengthPrefixed(request.body)
        case .forwardReply(let response):
            writer.varint(UInt64(response.status))
            ReplicaMessage.write(response.headers, into: &writer)
            writer.lengthPrefixed(response.body)
        case .readRange(let request):
            writer.lengthPrefixed(request.start)
            writer.lengthPrefixed(request.end)
            writer.bytes.append(request.reverse ? 1 : 0)
            writer.varint(UInt64(max(0, request.maxItems)))
            writer.varint(UInt64(max(0, request.maxBytes)))
            writer.varint(UInt64(max(0, request.tombstonesMax)))
        case .readRangeReply(.page(let page)):
            writer.bytes.append(0)
            writer.varint(page.entries.count)
            for entry in page.entries {
                writer.lengthPrefixed(entry.key)
                writer.lengthPrefixed(entry.value.encoded())
            }
            writer.bytes.append(page.exhausted ? 1 : 0)
        case .readRangeReply(.failed(let failure)):
            writer.bytes.append(1)
            ReplicaMessage.write(failure, into: &writer)
        }
        return writer.bytes
    }

    public static func decode(kind: UInt16, _ bytes: [UInt8]) throws(DecodeError) -> ReplicaMessage {
        var reader = ByteReader(bytes)
        do throws(ItemCodec.DecodeError) {
            let message = try decode(kind: kind, &reader)
            guard reader.isAtEnd else { throw ItemCodec.DecodeError(offset: reader.offset) }
            return message
        } catch {
            throw DecodeError(kind: kind, offset: error.offset)
        }
    }

    static func decode(kind: UInt16, _ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> ReplicaMessage {
        switch kind {
        case 1:
            return .read(key: Array(try reader.lengthPrefixed()))
        case 2:
            switch try reader.byte() {
            case 0:
                switch try reader.byte() {
                case 0: return .readReply(.value(nil))
                case 1: return .readReply(.value(try StoredValue.decode(Array(try reader.lengthPrefixed()))))
                default: throw ItemCodec.DecodeError(offset: reader.offset - 1)
                }
            case 1:
                return .readReply(.failed(try failure(&reader)))
            default:
                throw ItemCodec.DecodeError(offset: reader.offset - 1)
            }
        case 3:
            let key = Array(try reader.lengthPrefixed())
            let tableId = try reader.varint()
            guard tableId <= UInt64(UInt32.max) else { throw ItemCodec.DecodeError(offset: reader.offset) }
            let value = try StoredValue.decode(Array(try reader.lengthPrefixed()))
            switch try reader.byte() {
            case 0: return .write(key: key, tableId: UInt32(tableId), value: value, hintFor: nil)
            case 1: return .write(key: key, tableId: UInt32(tableId), value: value, hintFor: try string(&reader))
            default: throw ItemCodec.DecodeError(offset: reader.offset - 1)
            }
        case 4:
            switch try reader.byte() {
            case 0: return .writeReply(nil)
            case 1: return .writeReply(try failure(&reader))
            default: throw ItemCodec.DecodeError(offset: reader.offset - 1)
            }
        case 5:
            let operation = try string(&reader)
            let headers = try headers(&reader)
            return .forward(ForwardedRequest(operation: operation, headers: headers, body: Array(try reader.lengthPrefixed())))
        case 6:
            let status = try reader.varint()
            guard (100...599).contains(status) else { throw ItemCodec.DecodeError(offset: reader.offset) }
            let headers = try headers(&reader)
            return .forwardReply(ForwardedResponse(status: Int(status), headers: headers, body: Array(try reader.lengthPrefixed())))
        case 7:
            let start = Array(try reader.lengthPrefixed())
            let end = Array(try reader.lengthPrefixed())
            let reverse = try flag(&reader)
            return .readRange(RangeRead(
                start: start, end: end, reverse: reverse,
                maxItems: try count(&reader), maxBytes: try count(&reader), tombstonesMax: try count(&reader)
            ))
        case 8:
            switch try reader.byte() {
            case 0:
                // No capacity is reserved from the count: a lying count fails at the first
                // missing entry, after at most the frame's bytes were read.
                let entries = try reader.varint()
                var page = ReplicaPage(entries: [], exhausted: false)
                var index: UInt64 = 0
                while index < entries {
                    let key = Array(try reader.lengthPrefixed())
                    page.entries.append(ReplicaPage.Entry(key: key, value: try StoredValue.decode(Array(try reader.lengthPrefixed()))))
                    index += 1
                }
                page.exhausted = try flag(&reader)
                return .readRangeReply(.page(page))
            case 1:
                return .readRangeReply(.failed(try failure(&reader)))
            default:
                throw ItemCodec.DecodeError(offset: reader.offset - 1)
            }
        default:
            throw ItemCodec.DecodeError(offset: 0)
        }
    }

    // MARK: Parts

    /// Headers per message, at most; a forwarded request carries a handful.
    static let headersMax = 64

    static func write(_ failure: Coordinator.ReplicaFailure, into writer: inout ByteWriter) {
        switch failure {
        case .wouldBlock: writer.bytes.append(0)
        case .overloaded: writer.bytes.append(1)
        case .tableDeleted: writer.bytes.append(3)
        case .unavailable(let message):
            writer.bytes.append(2)
            writer.lengthPrefixed(message.utf8)
        }
    }

    static func failure(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> Coordinator.ReplicaFailure {
        switch try reader.byte() {
        case 0: return .wouldBlock
        case 1: return .overloaded
        case 2: return .unavailable(try string(&reader))
        case 3: return .tableDeleted
        default: throw ItemCodec.DecodeError(offset: reader.offset - 1)
        }
    }

    static func write(_ headers: [(String, String)], into writer: inout ByteWriter) {
        precondition(headers.count <= headersMax, "\(headers.count) headers in one message")
        writer.varint(headers.count)
        for (name, value) in headers {
            writer.lengthPrefixed(name.utf8)
            writer.lengthPrefixed(value.utf8)
        }
    }

    static func headers(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> [(String, String)] {
        let count = try reader.varint()
        guard count <= UInt64(headersMax) else { throw ItemCodec.DecodeError(offset: reader.offset) }
        var headers: [(String, String)] = []
        for _ in 0..<count {
            headers.append((try string(&reader), try string(&reader)))
        }
        return headers
    }

    static func flag(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> Bool {
        switch try reader.byte() {
        case 0: return false
        case 1: return true
        default: throw ItemCodec.DecodeError(offset: reader.offset - 1)
        }
    }

    /// A non-negative count that fits an `Int`.
    static func count(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> Int {
        let value = try reader.varint()
        guard value <= UInt64(Int.max) else { throw ItemCodec.DecodeError(offset: reader.offset) }
        return Int(value)
    }

    static func string(_ reader: inout ByteReader) throws(ItemCodec.DecodeError) -> String {
        let start = reader.offset
        let bytes = try reader.lengthPrefixed()
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ItemCodec.DecodeError(offset: start) }
        return text
    }
}

/// A client request forwarded between nodes (see `ReplicaMessage.forward`).
public struct ForwardedRequest: Sendable, Equatable {
    /// The DynamoDB operation, e.g. "UpdateItem".
    public var operation: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(operation: String, headers: [(String, String)], body: [UInt8]) {
        self.operation = operation
        self.headers = headers
        self.body = body
    }

    public static func == (a: ForwardedRequest, b: ForwardedRequest) -> Bool {
        a.operation == b.operation && a.body == b.body && a.headers.elementsEqual(b.headers, by: ==)
    }
}

/// The response to a forwarded request (see `ReplicaMessage.forwardReply`).
public struct ForwardedResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: ForwardedResponse, b: ForwardedResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers, by: ==)
    }
}
