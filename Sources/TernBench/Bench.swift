import Foundation
import TernCore

/// The load generator behind `tern bench`.
///
/// A run has three phases: make sure the table exists (not measured), pre-load every key
/// for `get`/`mix` (not measured), then hammer the server from `connections` OS threads,
/// each with one blocking keep-alive connection, for `seconds`. Everything is bounded by
/// deadlines and socket timeouts, so `run` always returns.
public enum Bench {
    /// Bound on connecting and on any single request/response exchange.
    static let requestTimeoutSeconds = 10.0
    /// Bound on waiting for a created table to become ACTIVE.
    static let tableActiveTimeoutSeconds = 60.0

    /// Runs the benchmark. `log` receives progress lines and is only ever called on the
    /// calling thread (worker threads hand messages over through shared state).
    public static func run(_ config: BenchConfiguration, log: (String) -> Void) throws -> BenchResult {
        try config.validate()
        let requests = DynamoRequests(config)
        try ensureTable(config, requests, log: log)
        if config.operation != .put {
            try preload(config, requests, log: log)
        }
        return measure(config, requests, log: log)
    }

    // MARK: Setup

    /// Creates the table if DescribeTable says it is missing, then waits for ACTIVE.
    static func ensureTable(_ config: BenchConfiguration, _ requests: DynamoRequests, log: (String) -> Void) throws {
        let connection = HTTPConnection(host: config.host, port: config.port, timeoutSeconds: requestTimeoutSeconds)
        var clock = AmzDateClock()
        func call(_ target: String, _ body: String) throws -> HTTPResponse {
            try connection.roundTrip(requests.request(target: target, body: body, amzDate: clock.now()))
        }

        let described = try call("DescribeTable", requests.describeTableBody())
        if described.status == 200 {
            if tableStatus(described) == "ACTIVE" {
                log("bench: using existing table \(config.tableName)")
                return
            }
        } else if described.status == 400 && described.bodyText.contains("ResourceNotFoundException") {
            log("bench: creating table \(config.tableName)")
            let created = try call("CreateTable", requests.createTableBody())
            // ResourceInUse means someone else created it meanwhile: just wait for it too.
            let raced = created.status == 400 && created.bodyText.contains("ResourceInUseException")
            guard created.status == 200 || raced else {
                throw BenchError.setupFailed("CreateTable: \(summary(created))")
            }
        } else {
            throw BenchError.setupFailed("DescribeTable: \(summary(described))")
        }

        let deadline = MonotonicClock.nanos() + UInt64(tableActiveTimeoutSeconds * 1e9)
        while MonotonicClock.nanos() < deadline {
            let response = try call("DescribeTable", requests.describeTableBody())
            if response.status == 200 && tableStatus(response) == "ACTIVE" { return }
            MonotonicClock.sleep(nanos: 100_000_000)
        }
        throw BenchError.setupFailed("table \(config.tableName) not ACTIVE after \(tableActiveTimeoutSeconds)s")
    }

    /// `Table.TableStatus` of a DescribeTable response. Setup is off the hot path, so
    /// JSONSerialization is fine here.
    static func tableStatus(_ response: HTTPResponse) -> String? {
        let json = try? JSONSerialization.jsonObject(with: Data(response.body))
        let table = (json as? [String: Any])?["Table"] as? [String: Any]
        return table?["TableStatus"] as? String
    }

    /// "HTTP 400: <start of body>", for error messages.
    static func summary(_ response: HTTPResponse) -> String {
        "HTTP \(response.status): \(response.bodyText.prefix(500))"
    }

    // MARK: Pre-load

    /// Writes every key once, striped across up to `connections` threads, so that gets
    /// during the measured phase hit existing items.
    static func preload(_ config: BenchConfiguration, _ requests: DynamoRequests, log: (String) -> Void) throws {
        let threads = min(config.connections, config.keyCount)
        log("bench: pre-loading \(config.keyCount) items over \(threads) connections")
        let shared = PhaseShared()
        let started = MonotonicClock.nanos()
        var nextProgress = started + 2_000_000_000
        let failedStripes = runOnThreads(
            count: threads,
            poll: {
                if let error = shared.takeUnloggedError() { log("bench: pre-load error: \(error)") }
                let now = MonotonicClock.nanos()
                if now >= nextProgress {
                    nextProgress = now + 2_000_000_000
                    log("bench: pre-loaded \(shared.completed.load(ordering: .relaxed))/\(config.keyCount)")
                }
            },
            body: { index in
                preloadStripe(index, of: threads, config, requests, shared) ? 0 : 1
            }
        ).reduce(0, +)
        guard failedStripes == 0 else {
            throw BenchError.setupFailed(
                "pre-load failed on \(failedStripes) connection(s); first error: \(shared.firstErrorMessage ?? "unknown")")
        }
        let elapsed = Double(MonotonicClock.nanos() - started) / 1e9
        log("bench: pre-loaded \(config.keyCount) items in \(String(format: "%.1f", elapsed))s")
    }

    /// Puts keys `index, index + stride, ...`. Each key gets a few attempts; on a key that
    /// keeps failing the stripe gives up (returns false) since the run will abort anyway.
    static func preloadStripe(
        _ index: Int, of stride: Int, _ config: BenchConfiguration, _ requests: DynamoRequests, _ shared: PhaseShared
    ) -> Bool {
        let (host, port) = config.endpoint(for: index)
        let connection = HTTPConnection(host: host, port: port, timeoutSeconds: requestTimeoutSeconds)
        var clock = AmzDateClock()
        var buffer: [UInt8] = []
        for key in Swift.stride(from: index, to: config.keyCount, by: stride) {
            var stored = false
            for _ in 0..<3 where !stored {
                requests.write(target: "PutItem", body: requests.putItemBody(key: key), amzDate: clock.now(), into: &buffer)
                do {
                    let response = try connection.roundTrip(buffer)
                    stored = response.status == 200
                    if !stored { shared.offerError("PutItem \(summary(response))") }
                } catch {
                    shared.offerError("PutItem: \(error)")
                }
            }
            guard stored else { return false }
            shared.completed.add(1, ordering: .relaxed)
        }
        return true
    }

    // MARK: Measurement

    /// What one measuring thread observed.
    struct WorkerOutcome: Sendable {
        var latencies = LatencyHistogram()
        var successes = 0
        var errors = 0
        /// Monotonic time the thread's last request finished.
        var lastEnd: UInt64 = 0
    }

    static func measure(_ config: BenchConfiguration, _ requests: DynamoRequests, log: (String) -> Void) -> BenchResult {
        let shared = PhaseShared()
        // A common start a little in the future, so every thread has connected (and
        // connection setup is not measured) before the clock starts.
        let startDelay = max(0.2, Double(config.connections) * 0.002)
        let startAt = MonotonicClock.nanos() + UInt64(startDelay * 1e9)
        let deadline = startAt + UInt64(config.seconds * 1e9)
        log("bench: measuring op=\(config.operation.rawValue) for \(config.seconds)s over \(config.connections) connections")

        let outcomes = runOnThreads(
            count: config.connections,
            poll: {
                if let error = shared.takeUnloggedError() { log("bench: first error: \(error)") }
            },
            body: { index in
                measureWorker(index, config, requests, startAt: startAt, deadline: deadline, shared)
            })

        var total = WorkerOutcome()
        for outcome in outcomes {
            total.latencies.merge(outcome.latencies)
            total.successes += outcome.successes
            total.errors += outcome.errors
            total.lastEnd = max(total.lastEnd, outcome.lastEnd)
        }
        let elapsed = total.lastEnd > startAt ? Double(total.lastEnd - startAt) / 1e9 : config.seconds
        return BenchResult(
            configuration: config, requests: total.successes, errors: total.errors,
            seconds: elapsed, latencies: total.latencies)
    }

    /// One thread's closed loop: request, wait for the response, record, repeat until
    /// `deadline`. Keys and (for mix) operations come from a PRNG seeded by `index`.
    static func measureWorker(
        _ index: Int, _ config: BenchConfiguration, _ requests: DynamoRequests,
        startAt: UInt64, deadline: UInt64, _ shared: PhaseShared
    ) -> WorkerOutcome {
        let (host, port) = config.endpoint(for: index)
        let connection = HTTPConnection(host: host, port: port, timeoutSeconds: requestTimeoutSeconds)
        var outcome = WorkerOutcome(lastEnd: startAt)
        var random = SplitMix64(seed: UInt64(index))
        var clock = AmzDateClock()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1024 + config.itemBytes)

        // Connect before the start so the handshake is not measured; failures are retried
        // (and counted) inside the loop.
        try? connection.connect()
        MonotonicClock.sleep(until: startAt)

        while true {
            let begin = MonotonicClock.nanos()
            guard begin < deadline else { break }
            let operation = pick(config.operation, &random)
            let key = random.next(below: config.keyCount)
            switch operation {
            case .get:
                requests.write(target: "GetItem", body: requests.getItemBody(key: key), amzDate: clock.now(), into: &buffer)
            case .put, .mix:
                requests.write(target: "PutItem", body: requests.putItemBody(key: key), amzDate: clock.now(), into: &buffer)
            }
            do {
                let response = try connection.roundTrip(buffer)
                let end = MonotonicClock.nanos()
                outcome.lastEnd = end
                if response.status == 200 {
                    outcome.latencies.record(end - begin)
                    outcome.successes += 1
                } else {
                    outcome.errors += 1
                    shared.offerError("\(operation.rawValue): \(summary(response))")
                }
            } catch {
                outcome.errors += 1
                shared.offerError("\(operation.rawValue): \(error)")
                let now = MonotonicClock.nanos()
                outcome.lastEnd = now
                // Back off briefly so a dead server doesn't turn this into a busy loop.
                MonotonicClock.sleep(until: min(now + 10_000_000, deadline))
            }
        }
        return outcome
    }

    /// Resolves `mix` into get or put with equal probability.
    static func pick(_ operation: BenchConfiguration.Operation, _ random: inout SplitMix64) -> BenchConfiguration.Operation {
        guard operation == .mix else { return operation }
        return random.next() & 1 == 0 ? .get : .put
    }
}
