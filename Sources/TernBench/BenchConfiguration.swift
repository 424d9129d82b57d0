/// What `tern bench` should do: which server, which operation, how hard and for how long.
public struct BenchConfiguration: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case put
        case get
        /// 50% GetItem / 50% PutItem, chosen per request by the thread's PRNG.
        case mix
    }

    public var host: String
    public var port: Int
    public var operation: Operation
    /// Number of keep-alive connections, each driven by its own OS thread.
    public var connections: Int
    /// Length of the measured phase (setup and pre-load are not measured).
    public var seconds: Double
    /// Number of distinct keys; all of them are pre-loaded before measuring `get` and `mix`.
    public var keyCount: Int
    /// Length of the `data` string attribute, so the item is roughly this many bytes.
    public var itemBytes: Int
    public var tableName: String
    /// Further nodes of a cluster: connection i goes to endpoint i mod (1 + count), the first
    /// being `host:port`, so the load spreads over the nodes as clients behind a balancer would.
    public var otherEndpoints: [(host: String, port: Int)] = []

    /// The node connection `index` talks to.
    func endpoint(for index: Int) -> (host: String, port: Int) {
        let slot = index % (1 + otherEndpoints.count)
        return slot == 0 ? (host, port) : otherEndpoints[slot - 1]
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        operation: Operation = .get,
        connections: Int = 16,
        seconds: Double = 10,
        keyCount: Int = 10_000,
        itemBytes: Int = 100,
        tableName: String = "tern-bench"
    ) {
        self.host = host
        self.port = port
        self.operation = operation
        self.connections = connections
        self.seconds = seconds
        self.keyCount = keyCount
        self.itemBytes = itemBytes
        self.tableName = tableName
    }

    /// Convenience for the CLI: takes the endpoint as a URL such as `http://127.0.0.1:8000`.
    public init(
        endpoint: String,
        operation: Operation = .get,
        connections: Int = 16,
        seconds: Double = 10,
        keyCount: Int = 10_000,
        itemBytes: Int = 100,
        tableName: String = "tern-bench"
    ) throws {
        // A comma-separated list names several nodes of one cluster.
        let endpoints = try endpoint.split(separator: ",").map { try Self.parseEndpoint(String($0)) }
        guard let (host, port) = endpoints.first else { throw BenchError.invalidEndpoint(endpoint, "no endpoint given") }
        self.init(
            host: host, port: port, operation: operation, connections: connections,
            seconds: seconds, keyCount: keyCount, itemBytes: itemBytes, tableName: tableName)
        self.otherEndpoints = Array(endpoints.dropFirst())
    }

    /// Splits an endpoint URL into host and port.
    ///
    /// Accepts `http://host:port`, `http://host` (port 80), a bare `host:port`, and bracketed
    /// IPv6 literals (`http://[::1]:8000`); a trailing path such as `/` is ignored. `https` is
    /// rejected because the load generator speaks plain TCP only. The returned host has no
    /// brackets, ready for `getaddrinfo`.
    public static func parseEndpoint(_ url: String) throws -> (host: String, port: Int) {
        var rest = Substring(url.trimmingSpaces())
        if let schemeEnd = rest.range(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" else {
                throw BenchError.invalidEndpoint(url, "only http:// is supported (no TLS), got \(scheme)://")
            }
            rest = rest[schemeEnd.upperBound...]
        }
        // Drop any path, query or fragment: requests always go to "/".
        if let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            rest = rest[..<pathStart]
        }
        if rest.contains("@") {
            throw BenchError.invalidEndpoint(url, "user info is not supported")
        }
        let (host, portText) = try splitHostPort(rest, url: url)
        guard !host.isEmpty else { throw BenchError.invalidEndpoint(url, "missing host") }
        guard let portText else { return (host, 80) }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            throw BenchError.invalidEndpoint(url, "invalid port '\(portText)'")
        }
        return (host, port)
    }

    /// Separates `host[:port]`, understanding `[v6]:port`.
    private static func splitHostPort(_ authority: Substring, url: String) throws -> (String, Substring?) {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw BenchError.invalidEndpoint(url, "unterminated IPv6 literal")
            }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":") else { throw BenchError.invalidEndpoint(url, "garbage after IPv6 literal") }
            return (host, after.dropFirst())
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (String(parts[0]), nil)
        case 2: return (String(parts[0]), parts[1])
        default: throw BenchError.invalidEndpoint(url, "IPv6 hosts must be written in brackets")
        }
    }

    /// Rejects settings that would make the run meaningless or unbounded.
    func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw BenchError.invalidConfiguration(message) }
        }
        try check(!host.isEmpty, "host must not be empty")
        try check((1...65_535).contains(port), "port must be in 1...65535")
        try check((1...4_096).contains(connections), "connections must be in 1...4096")
        try check(seconds > 0 && seconds <= 86_400, "seconds must be in (0, 86400]")
        try check((1...100_000_000).contains(keyCount), "keys must be in 1...100000000")
        // DynamoDB's item size limit is 400 KB.
        try check((0...400_000).contains(itemBytes), "item bytes must be in 0...400000")
        // DynamoDB table-name rules; they also guarantee the name needs no JSON escaping.
        try check((3...255).contains(tableName.utf8.count), "table name must be 3...255 characters")
        try check(
            tableName.utf8.allSatisfy(Self.isTableNameByte),
            "table name may contain only a-z, A-Z, 0-9, '_', '-' and '.'")
    }

    private static func isTableNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}

public enum BenchError: Error, CustomStringConvertible, Sendable {
    case invalidEndpoint(String, String)
    case invalidConfiguration(String)
    /// Table creation or pre-loading failed; the measurement would be meaningless.
    case setupFailed(String)
    /// A socket-level or protocol-level failure talking to the server.
    case connection(String)

    public var description: String {
        switch self {
        case .invalidEndpoint(let url, let why): return "invalid endpoint '\(url)': \(why)"
        case .invalidConfiguration(let why): return "invalid bench configuration: \(why)"
        case .setupFailed(let why): return "bench setup failed: \(why)"
        case .connection(let why): return why
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
