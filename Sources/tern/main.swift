import ArgumentParser
import Foundation
import Logging
import TernBench
import TernServer
import TernSimulation

@main
struct Tern: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tern",
        abstract: "Tern: a masterless, DynamoDB-compatible database.",
        discussion: "Point the AWS CLI, boto3 or any AWS SDK at a running node with --endpoint-url http://127.0.0.1:8000.",
        subcommands: [Serve.self, ClusterCommand.self, BenchCommand.self, SimCommand.self]
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a Tern node that speaks the DynamoDB protocol.",
        discussion: "Stops cleanly on SIGTERM or SIGINT: in-flight requests finish, storage is closed."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port for the DynamoDB API.") var port = 8000
    @Option(name: .customLong("data-dir"), help: "Directory for the node's data (RocksDB).") var dataDir = "./data"
    @Flag(name: .customLong("in-memory"), help: "Keep everything in memory; nothing is written to disk.") var inMemory = false
    @Option(help: "File of `ACCESS_KEY SECRET` lines; when given, request signatures (SigV4) are verified.") var credentials: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel = "info"
    @Option(
        name: .customLong("node-id"),
        help: "This node's id (1-64 of A-Z a-z 0-9 . _ -). Default: the id stored in the data directory; a fresh one gets a generated id (n-<12 hex digits>), stored in <data-dir>/node-id. A data directory refuses to start under a different id."
    ) var nodeId: String?
    @Option(help: "Region shown in ARNs.") var region = "us-east-1"
    @Option(name: .customLong("max-connections"), help: "Connections beyond this are refused.") var maxConnections = 1024
    @Option(
        name: .customLong("tombstone-grace-seconds"),
        help: ArgumentHelp(
            "Seconds a delete's tombstone is kept before compaction may purge it (1 to 315360000).",
            discussion: "10 days by default, as Cassandra's gc_grace_seconds. A replica that misses a delete for longer could bring the item back."
        )
    )
    var tombstoneGraceSeconds = NodeConfiguration.defaultTombstoneGraceSeconds
    @Flag(name: .customLong("unsafe-no-sync"), help: "Acknowledge writes before they are synced to disk (benchmarks only; loses data on crash).")
    var unsafeNoSync = false
    @Option(name: .customLong("cluster-port"), help: "Port this node listens on for its peers (with --seeds).") var clusterPort: Int?
    @Option(
        help: ArgumentHelp(
            "Comma-separated host:port cluster addresses of every member, this node included. Without it the node is a cluster of one.",
            discussion: "Every member derives the same partition map from the members' node ids and zones."
        )
    ) var seeds: String?
    @Option(help: "This node's zone; replicas of a key go to distinct zones first.") var zone: String?
    @Option(help: "Partitions of the ring (a power of two, the same on every member).") var partitions = 256
    @Option(help: "N: replicas of every key (clamped to the cluster's size).") var replication = 3
    @Option(name: .customLong("write-quorum"), help: "W: durable replica acknowledgements before a write is acknowledged.") var writeQuorum = 2
    @Option(name: .customLong("read-quorum"), help: "R for consistent reads (eventually consistent reads use 1).") var readQuorum = 2
    @Option(name: .customLong("cluster-secret-file"), help: "File with the secret (16 bytes or more) peers must prove they share; without it peer authentication is off.")
    var clusterSecretFile: String?
    @Option(name: .customLong("hint-window-seconds"), help: "How long hints are kept for a node that stays down (shorter than the tombstone grace period).")
    var hintWindowSeconds = NodeConfiguration.defaultHintWindowSeconds

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "tern")
        var configuration = NodeConfiguration(
            nodeId: nodeId, host: host, port: port, dataDirectory: dataDir, inMemory: inMemory,
            credentialsFile: credentials, region: region, syncWrites: !unsafeNoSync,
            tombstoneGraceSeconds: tombstoneGraceSeconds
        )
        configuration.http.maxConnections = maxConnections
        configuration.clusterPort = clusterPort
        configuration.seeds = try (seeds ?? "").split(separator: ",").map { try SeedAddress.parse(String($0)) }
        configuration.zone = zone
        configuration.partitionCount = partitions
        configuration.replicationFactor = replication
        configuration.writeQuorum = writeQuorum
        configuration.readQuorum = readQuorum
        configuration.clusterSecretFile = clusterSecretFile
        configuration.hintWindowSeconds = hintWindowSeconds
        let node = try await TernNode.start(configuration: configuration, logger: logger)
        try await node.run()
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency of a running node (use a release build).",
        discussion: "Creates the table if needed, pre-loads keys, then runs the chosen operation for the given time and prints req/s and p50/p99/p99.9 latency."
    )

    @Option(help: "DynamoDB endpoint of the node; several nodes of a cluster as a comma-separated list (connections are spread over them).")
    var endpoint = "http://127.0.0.1:8000"
    @Option(help: "put, get or mix (50% get, 50% put).") var op = "get"
    @Option(help: "Concurrent connections, one thread each.") var connections = 16
    @Option(help: "Measured duration in seconds.") var seconds = 10.0
    @Option(help: "Distinct keys (pre-loaded for get and mix).") var keys = 10_000
    @Option(name: .customLong("item-bytes"), help: "Approximate item size in bytes.") var itemBytes = 100
    @Option(help: "Table to use (created if missing).") var table = "tern-bench"

    func run() throws {
        guard let operation = BenchConfiguration.Operation(rawValue: op) else {
            throw ValidationError("--op must be put, get or mix")
        }
        let configuration = try BenchConfiguration(
            endpoint: endpoint, operation: operation, connections: connections, seconds: seconds,
            keyCount: keys, itemBytes: itemBytes, tableName: table
        )
        let result = try Bench.run(configuration) { print($0) }
        print(result.report())
    }
}

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Look at a running cluster.",
        subcommands: [ClusterStatus.self]
    )
}

struct ClusterStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the members as one node sees them: state, partitions, breakers, hints pending.",
        discussion: "Reads GET /cluster/status from the node's DynamoDB endpoint."
    )

    @Option(help: "DynamoDB endpoint of any node.") var endpoint = "http://127.0.0.1:8000"
    @Flag(help: "Print the node's JSON as it is.") var json = false

    func run() throws {
        let (status, body) = try StatusClient.get(endpoint: endpoint, path: "/cluster/status")
        guard status == 200 else { throw ValidationError("\(endpoint) answered \(status): \(body)") }
        if json {
            print(body)
            return
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let members = object["members"] as? [[String: Any]]
        else { throw ValidationError("\(endpoint) sent a status that is not a JSON object") }
        let replication = object["replication"] as? [String: Any] ?? [:]
        print("node \(object["node"] ?? "?")  partitions \(object["partitions"] ?? "?")  N=\(replication["N"] ?? "?") W=\(replication["W"] ?? "?") R=\(replication["R"] ?? "?")")
        let header = ["NODE", "ZONE", "STATE", "BREAKER", "OWNED", "REPLICATED", "HINTS"]
        var rows = [header]
        for member in members {
            let name = "\(member["node"] ?? "?")" + ((member["self"] as? Bool) == true ? " (self)" : "")
            rows.append([
                name, (member["zone"] as? String) ?? "-", "\(member["state"] ?? "?")", "\(member["breaker"] ?? "?")",
                "\(member["partitionsOwned"] ?? "?")", "\(member["partitionsReplicated"] ?? "?")", "\(member["hintsPending"] ?? "?")",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset] + 2, withPad: " ", startingAt: 0) }.joined())
        }
    }
}

struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the deterministic cluster simulator: seeded faults, virtual time, invariant checkers.",
        discussion: "Each seed fixes the whole run (cluster size, quorums, fault rates, every message). Exits 1 when a checker fails; the failing seed prints the command that reproduces it."
    )

    @Option(help: "The first seed.") var seed: UInt64 = 1
    @Option(help: "Client operations per seed in the faulty phase.") var steps = 200
    @Option(name: .customLong("seeds-count"), help: "How many consecutive seeds to run, from --seed.") var seedsCount = 1
    @Flag(help: "Print every client operation's outcome and every fault.") var verbose = false

    func run() throws {
        guard steps >= 1, steps <= 1_000_000 else { throw ValidationError("--steps must be between 1 and 1000000") }
        guard seedsCount >= 1 else { throw ValidationError("--seeds-count must be at least 1") }
        var failed: [UInt64] = []
        var totals = SimulationReport.Counters()
        for offset in 0..<UInt64(seedsCount) {
            let (current, overflow) = seed.addingReportingOverflow(offset)
            if overflow { break }
            let report = Simulation.run(seed: current, steps: steps, log: verbose ? { print($0) } : nil)
            if seedsCount == 1 || !report.passed { print(report.summary) }
            if !report.passed { failed.append(current) }
            totals.add(report.counters)
        }
        if seedsCount > 1 {
            print("totals: writes acked \(totals.writesAcknowledged), failed \(totals.writesFailed); reads answered \(totals.readsAnswered), failed \(totals.readsFailed); crashes \(totals.crashes), partitions \(totals.partitions), disk write failures \(totals.diskFailures), messages dropped \(totals.messagesDropped) of \(totals.messages); hints stored \(totals.hintsStored), refused \(totals.hintsRefused), delivered \(totals.hintsDelivered); read repairs \(totals.repairs)")
            print("\(seedsCount) seeds from \(seed), \(steps) steps each: \(seedsCount - failed.count) passed, \(failed.count) failed\(failed.isEmpty ? "" : ": \(failed.map(String.init).joined(separator: " "))")")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
