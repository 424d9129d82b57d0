/// A plain `GET` against a node, for `tern cluster status`.
public enum StatusClient {
    /// The status code and body of `GET path` on `endpoint` (`http://host:port`).
    public static func get(endpoint: String, path: String, timeoutSeconds: Double = 5) throws -> (status: Int, body: String) {
        let (host, port) = try BenchConfiguration.parseEndpoint(endpoint)
        let connection = HTTPConnection(host: host, port: port, timeoutSeconds: timeoutSeconds)
        defer { connection.close() }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n"
        let response = try connection.roundTrip(Array(request.utf8))
        return (response.status, response.bodyText)
    }
}
