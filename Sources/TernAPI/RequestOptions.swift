import TernCluster
import TernCore
import TernTransport

/// What a request says about its replication besides its JSON body: the `X-Tern-W` and
/// `X-Tern-R` headers (DESIGN.md §5: any SDK can add a header), and whether another node
/// forwarded it here. Request-scoped, so the item operations read it as a task local rather
/// than through every call.
public struct RequestOptions: Sendable, Equatable {
    /// W for this request's writes; nil: the node's default.
    public var writeQuorum: Int?
    /// R for this request's reads; nil: the default for the read's consistency.
    public var readQuorum: Int?
    /// The request came from another node, which found this node serialises the key's writes:
    /// it is coordinated here even if this node's view disagrees (no forwarding loops).
    public var forwarded: Bool

    public init(writeQuorum: Int? = nil, readQuorum: Int? = nil, forwarded: Bool = false) {
        self.writeQuorum = writeQuorum
        self.readQuorum = readQuorum
        self.forwarded = forwarded
    }

    public static let defaults = RequestOptions()

    /// The largest quorum a header may ask for (N is at most 16).
    static let quorumMax = 16

    /// Parses a quorum header's value: an integer from 1 to 16 (the cluster clamps it to N).
    public static func quorum(_ value: String, header: String) throws(DynamoDBError) -> Int {
        guard let number = Int(value.filter { $0 != " " && $0 != "\t" }), (1...quorumMax).contains(number) else {
            throw DynamoDBError.validation("The \(header) header must be an integer from 1 to \(quorumMax), got '\(value)'")
        }
        return number
    }

    /// The headers a forwarded request carries so the coordinating node applies the same quorums.
    var forwardedHeaders: [(String, String)] {
        var headers: [(String, String)] = []
        if let writeQuorum { headers.append(("X-Tern-W", "\(writeQuorum)")) }
        if let readQuorum { headers.append(("X-Tern-R", "\(readQuorum)")) }
        return headers
    }

    /// The options of a request another node forwarded.
    public static func forwarded(headers: [(String, String)]) -> RequestOptions {
        var options = RequestOptions(forwarded: true)
        for (name, value) in headers {
            switch name.lowercased() {
            case "x-tern-w": options.writeQuorum = try? quorum(value, header: "X-Tern-W")
            case "x-tern-r": options.readQuorum = try? quorum(value, header: "X-Tern-R")
            default: break
            }
        }
        return options
    }

    @TaskLocal static var current = RequestOptions.defaults
}

/// Sends a request this node does not coordinate to the node that does, and returns its answer.
public typealias RequestForwarder = @Sendable (_ node: NodeID, _ request: ForwardedRequest) async -> APIResponse
