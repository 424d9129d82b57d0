import Foundation

/// Outcome of the measured phase of a bench run.
///
/// `requests` counts successful (HTTP 200) requests only; `errors` counts non-200
/// responses and connection failures. Throughput and latencies are computed from the
/// successful requests, so a failing server cannot look fast.
public struct BenchResult: Sendable {
    /// The configuration that produced this result (echoed by `report()`).
    public var configuration: BenchConfiguration
    public var requests: Int
    public var errors: Int
    /// Actual measured duration: from the common start until the last in-flight
    /// request finished (slightly above the configured duration).
    public var seconds: Double
    public var requestsPerSecond: Double
    public var p50Micros: Double
    public var p99Micros: Double
    public var p999Micros: Double
    public var maxMicros: Double

    public init(
        configuration: BenchConfiguration, requests: Int, errors: Int, seconds: Double,
        requestsPerSecond: Double, p50Micros: Double, p99Micros: Double, p999Micros: Double, maxMicros: Double
    ) {
        self.configuration = configuration
        self.requests = requests
        self.errors = errors
        self.seconds = seconds
        self.requestsPerSecond = requestsPerSecond
        self.p50Micros = p50Micros
        self.p99Micros = p99Micros
        self.p999Micros = p999Micros
        self.maxMicros = maxMicros
    }

    /// Builds a result from merged worker counts and latency histogram.
    init(configuration: BenchConfiguration, requests: Int, errors: Int, seconds: Double, latencies: LatencyHistogram) {
        func micros(_ nanos: UInt64) -> Double { Double(nanos) / 1_000 }
        self.init(
            configuration: configuration, requests: requests, errors: errors, seconds: seconds,
            requestsPerSecond: seconds > 0 ? Double(requests) / seconds : 0,
            p50Micros: micros(latencies.percentile(0.50)),
            p99Micros: micros(latencies.percentile(0.99)),
            p999Micros: micros(latencies.percentile(0.999)),
            maxMicros: micros(latencies.max))
    }

    /// Human-readable three-line summary, e.g.
    /// ```
    /// op=get connections=16 seconds=10.0 keys=10000 item=100B
    /// requests=123456 errors=0 throughput=12345.6 req/s
    /// latency p50=1.20ms p99=3.40ms p99.9=5.60ms max=9.80ms
    /// ```
    public func report() -> String {
        let c = configuration
        func ms(_ micros: Double) -> String { String(format: "%.2fms", micros / 1_000) }
        return """
            op=\(c.operation.rawValue) connections=\(c.connections) seconds=\(String(format: "%.1f", seconds)) \
            keys=\(c.keyCount) item=\(c.itemBytes)B
            requests=\(requests) errors=\(errors) throughput=\(String(format: "%.1f", requestsPerSecond)) req/s
            latency p50=\(ms(p50Micros)) p99=\(ms(p99Micros)) p99.9=\(ms(p999Micros)) max=\(ms(maxMicros))
            """
    }
}
