import Synchronization
import TernCluster
import TernCore
import TernStorage

/// The table definitions the whole cluster agrees on, applied on this node from the `CatalogLog`
/// and persisted in the system key space (table id 0), with the applied state cached in memory.
///
/// Every change (CreateTable, UpdateTable, TagResource, UntagResource, and DeleteTable's two
/// steps) is validated against the applied catalog at version v, proposed as the entry of slot
/// v + 1, and decided by single-decree Paxos among the members (DESIGN.md §4). Every node applies
/// the decided entries in slot order, so every node holds the same tables with the same ids. A
/// proposal that loses its slot to another node's change is validated again against the new
/// version: of two CreateTable of one name, one succeeds and the other gets
/// ResourceInUseException. A cluster of one runs the same path with a majority of one.
///
/// Changes on this node are serialised by one gate (a FIFO async lock, bounded), as before the
/// cluster, so one proposal of this node is in flight at a time and a storm of changes queues at
/// the gate, not in the log. Durable before visible: an applied entry is written (definition, next
/// table id, version, the entry itself) in one batch before the in-memory view changes.
///
/// Table ids come from the applied catalog's counter (`meta/next-table-id`): a CreateTable takes
/// the counter of the version it was validated against, and applying it moves the counter past
/// it, so ids are unique across the cluster and never reused, across restarts too.
///
/// DeleteTable is two entries. The first marks the table DELETING (visible to DescribeTable and
/// ListTables; it refuses item operations and changes); every node that applies it fences the
/// table in its own coordinator (refusing new writes and applies of the table, waiting for those
/// already accepted). The node that asked for the delete then proposes the second entry, which
/// removes definition, items and statistics in one batch on every node; another node takes over
/// if it does not (it crashed), after `Settings.deletionTakeoverMillis`. After its fence and the
/// removal, each node deletes the table's items once more, for writes that were accepted there
/// before its fence but landed after the removal.
///
/// A node serves only once it is caught up: `start` asks the peers for the slots it missed and
/// reports `caughtUp` once a majority has nothing newer (at once on a cluster of one); until then
/// item operations and changes fail with a retryable InternalServerError.
public final class Catalog: Sendable {
    static let systemPrefix = KeyEncoding.tablePrefix(0)
    static let tablePrefix: [UInt8] = systemPrefix + Array("table/".utf8)
    static let nextIdKey: [UInt8] = systemPrefix + Array("meta/next-table-id".utf8)
    /// The applied version (UInt64 big-endian); absent means 0 (a data directory from before the
    /// consensus catalog: its tables are the applied state at version 0).
    static let versionKey: [UInt8] = systemPrefix + Array("catalog/version".utf8)
    /// `catalog/acceptor/` slot (UInt64 big-endian) → `PaxosAcceptor.State.encoded()`.
    static let acceptorPrefix: [UInt8] = systemPrefix + Array("catalog/acceptor/".utf8)
    /// `catalog/decided/` slot (UInt64 big-endian) → `CatalogEntry.encoded()`, the last
    /// `decidedRetainedMax` applied entries, to answer catch-up requests after a restart.
    static let decidedPrefix: [UInt8] = systemPrefix + Array("catalog/decided/".utf8)

    public struct Settings: Sendable, Equatable {
        public var log: CatalogLog.Settings
        /// Deadline of one catalog message to a peer.
        public var messageDeadlineMillis: UInt32
        /// How long a change waits for this node to catch up before it fails (retryably).
        public var catchUpWaitMillis: UInt64
        /// Proposals of one change superseded by other nodes' changes before it fails (retryably).
        public var supersededMax: Int
        /// How long a node waits for the node that asked for a DeleteTable to remove the table
        /// before it proposes the removal itself.
        public var deletionTakeoverMillis: UInt64
        /// Failed removal proposals of one deletion task before it stops (the tick starts a new one).
        public var deletionFailuresMax: Int
        /// Inputs (messages, events) waiting for the catalog log; more are dropped (a dropped
        /// message is a lost message, which the protocol tolerates).
        public var inputsMax: Int
        /// How long a committed change waits for the reachable members to apply it before it
        /// answers, so the next request of the client finds it on any node.
        public var appliedWaitMillis: UInt64

        public init(
            log: CatalogLog.Settings = .init(), messageDeadlineMillis: UInt32 = 1_000, catchUpWaitMillis: UInt64 = 5_000,
            supersededMax: Int = 32, deletionTakeoverMillis: UInt64 = 3_000, deletionFailuresMax: Int = 5, inputsMax: Int = 4_096,
            appliedWaitMillis: UInt64 = 500
        ) {
            self.appliedWaitMillis = appliedWaitMillis
            self.log = log
            self.messageDeadlineMillis = messageDeadlineMillis
            self.catchUpWaitMillis = catchUpWaitMillis
            self.supersededMax = supersededMax
            self.deletionTakeoverMillis = deletionTakeoverMillis
            self.deletionFailuresMax = deletionFailuresMax
            self.inputsMax = inputsMax
        }

        public func validate() throws(ConfigurationError) {
            try log.validate()
            guard messageDeadlineMillis >= 1, supersededMax >= 1, deletionFailuresMax >= 1, inputsMax >= 16 else {
                throw ConfigurationError("catalog bounds must be at least 1 (inputs at least 16)")
            }
        }
    }

    let storage: any StorageEngine
    let coordinator: CoordinatorShell
    let gate = SerialGate()
    public let node: NodeID
    public let members: [NodeID]
    let messenger: (any CatalogMessenger)?
    let settings: Settings
    /// Monotonic milliseconds, for the log's timeouts.
    let monotonicMillis: @Sendable () -> UInt64

    /// What readers see: the applied catalog as far as it is durable.
    struct State {
        var applied = AppliedCatalog()
        var caughtUp = false
        /// Why the catalog stopped (an applied entry could not be made durable); nil while healthy.
        var broken: String?
        /// Set by `shutdown`.
        var stopped = false
        /// Members that answered this node's `decided` message, by slot (see
        /// `waitUntilAppliedByReachableMembers`; at most 64 slots).
        var appliedBy: [UInt64: Set<NodeID>] = [:]
        /// Deletions in progress on this node, by table id (bounded by the tables in DELETING and
        /// those just removed).
        var deletions: [UInt32: Task<Void, Never>] = [:]
    }

    let state: Mutex<State>
    /// The log and what only its driver touches (see Catalog+Log.swift).
    let driver: Mutex<Driver>
    let ticker = Mutex<Task<Void, Never>?>(nil)

    /// A cluster of one (`tern serve` without `--seeds`).
    public convenience init(storage: any StorageEngine, coordinator: CoordinatorShell) throws {
        try self.init(storage: storage, coordinator: coordinator, members: [coordinator.nodeId], messenger: nil)
    }

    /// The catalog of `coordinator.nodeId` among `members` (this node included), reaching the
    /// others through `messenger`. Reads back the applied catalog, the recent decided entries and
    /// the acceptor states; resumes deletions a previous run left unfinished; starts catching up.
    public init(
        storage: any StorageEngine, coordinator: CoordinatorShell, members: [NodeID], messenger: (any CatalogMessenger)?,
        settings: Settings = Settings(), monotonicMillis: (@Sendable () -> UInt64)? = nil
    ) throws {
        try settings.validate()
        precondition(members.contains(coordinator.nodeId), "\(coordinator.nodeId) must be a member of \(members)")
        precondition(members.count == 1 || messenger != nil, "a catalog among several members needs a messenger")
        self.storage = storage
        self.coordinator = coordinator
        self.node = coordinator.nodeId
        self.members = members
        self.messenger = messenger
        self.settings = settings
        self.monotonicMillis = monotonicMillis ?? Catalog.systemMonotonicMillis()
        let (applied, restored) = try Catalog.restore(from: storage)
        state = Mutex(State(applied: applied))
        let log = CatalogLog(
            node: node, members: members, settings: settings.log, restored: restored, seed: UInt64.random(in: .min ... .max)
        )
        driver = Mutex(Driver(log: log, applied: applied))
        start()
        for table in applied.tables.values where table.status == .deleting {
            startDeletion(table, proposeAtOnce: members.count == 1)
        }
    }

    deinit {
        ticker.withLock { $0?.cancel() }
    }

    static func systemMonotonicMillis() -> @Sendable () -> UInt64 {
        let origin = ContinuousClock.now
        return {
            let elapsed = ContinuousClock.now - origin
            return UInt64(elapsed.components.seconds) * 1000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000_000)
        }
    }

    // MARK: - Reads

    /// The table in any state (DescribeTable, ListTables, DeleteTable).
    public func table(named name: String) -> TableDefinition? {
        state.withLock { $0.applied.tables[name] }
    }

    /// The table for item operations: ResourceNotFoundException when it is absent or being
    /// deleted; a retryable InternalServerError while this node is still catching up.
    public func activeTable(named name: String) throws(DynamoDBError) -> TableDefinition {
        let (table, caughtUp) = state.withLock { ($0.applied.tables[name], $0.caughtUp) }
        guard caughtUp else { throw Catalog.catchingUpError }
        guard let table, table.status != .deleting else {
            throw DynamoDBError.resourceNotFound()
        }
        return table
    }

    /// All table names in byte-wise order (DynamoDB lists tables alphabetically), DELETING ones too.
    public func tableNames() -> [String] {
        state.withLock { Array($0.applied.tables.keys) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public var tableCount: Int { state.withLock { $0.applied.tables.count } }

    /// The applied version: the last slot of the catalog log applied on this node.
    public var version: UInt64 { state.withLock { $0.applied.version } }

    /// Whether a majority of members has confirmed that this node knows every change; before
    /// that, the catalog must not serve (the node may miss tables created while it was down).
    public var isCaughtUp: Bool { state.withLock { $0.caughtUp } }

    /// Waits until this node is caught up, at most `timeoutMillis`; false if it is not by then.
    public func waitUntilCaughtUp(timeoutMillis: UInt64) async -> Bool {
        let deadline = monotonicMillis() + timeoutMillis
        while !isCaughtUp {
            guard monotonicMillis() < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Item operations, DescribeTable and ListTables call this before they answer from the catalog.
    public func checkServing() throws(DynamoDBError) {
        let (caughtUp, broken, stopped) = state.withLock { ($0.caughtUp, $0.broken, $0.stopped) }
        if let broken { throw DynamoDBError.internalServerError("The catalog cannot be changed on this node: \(broken)") }
        if stopped { throw DynamoDBError.internalServerError("This node is shutting down; retry on another node") }
        guard caughtUp else { throw Catalog.catchingUpError }
    }

    static let catchingUpError = DynamoDBError.internalServerError(
        "This node is still learning the cluster's table changes; retry (or use another node)"
    )

    static func key(for name: String) -> [UInt8] { tablePrefix + Array(name.utf8) }

    // MARK: - Changes

    /// Creates a table; `build` receives the allocated table id. ResourceInUseException if the
    /// name is taken (a table being deleted holds its name until the deletion completes).
    public func create(_ name: String, build: @Sendable (UInt32) -> TableDefinition) async throws -> TableDefinition {
        try await gate.withLock {
            try await commit { applied throws -> (CatalogChange?, TableDefinition) in
                if applied.tables[name] != nil { throw DynamoDBError.resourceInUse("Table already exists: \(name)") }
                guard applied.nextTableId < UInt32.max else { throw DynamoDBError.limitExceeded("Table ids are exhausted on this node") }
                let table = build(applied.nextTableId)
                precondition(table.name == name && table.tableId == applied.nextTableId, "build must keep the name and id")
                return (.create(table), table)
            }
        }
    }

    /// Changes an ACTIVE table's definition (UpdateTable, tags) as one serialised, decided
    /// read-modify-write, so concurrent TagResource calls never lose a tag and a change never
    /// writes back a table that is being deleted.
    @discardableResult
    public func modify(_ name: String, _ change: @Sendable (inout TableDefinition) throws -> Void) async throws -> TableDefinition {
        try await gate.withLock {
            try await commit { applied throws -> (CatalogChange?, TableDefinition) in
                guard var table = applied.tables[name] else { throw DynamoDBError.resourceNotFound() }
                guard table.status != .deleting else {
                    throw DynamoDBError.resourceInUse("Attempt to change a resource which is still in use: Table is being deleted: \(name)")
                }
                try change(&table)
                return (.update(table), table)
            }
        }
    }

    /// Marks the table DELETING (decided, durably), and waits for the deletion to complete on this
    /// node: the response still says DELETING, as DynamoDB's does, and a client racing the call
    /// sees the table DELETING. Deleting a table that is already DELETING succeeds and changes
    /// nothing, as in DynamoDB. `check` may refuse (deletion protection).
    public func delete(_ name: String, check: @Sendable (TableDefinition) throws -> Void = { _ in }) async throws -> TableDefinition {
        let deleting = try await gate.withLock {
            try await commit { applied throws -> (CatalogChange?, TableDefinition) in
                guard var table = applied.tables[name] else {
                    throw DynamoDBError.resourceNotFound("Requested resource not found: Table: \(name) not found")
                }
                if table.status == .deleting { return (nil, table) }
                try check(table)
                table.status = .deleting
                return (.markDeleting(name: name, tableId: table.tableId), table)
            }
        }
        // Outside the gate: the deletion proposes its removal through the gate itself.
        await state.withLock { $0.deletions[deleting.tableId] }?.value
        return deleting
    }

    /// Validates against the applied catalog and proposes the change for the next slot; after a
    /// proposal superseded by another node's change, validates again against the new version.
    /// `prepare` returns nil as the change when there is nothing to propose.
    func commit<T: Sendable>(_ prepare: (AppliedCatalog) throws -> (CatalogChange?, T)) async throws -> T {
        try await waitUntilServing()
        for _ in 0..<settings.supersededMax {
            let applied = state.withLock { $0.applied }
            let (change, result) = try prepare(applied)
            guard let change else { return result }
            let (outcome, entry) = try await propose(change, basedOn: applied.version)
            switch outcome {
            case .committed(let slot):
                await waitUntilAppliedByReachableMembers(slot, entry)
                return result
            case .superseded:
                continue
            case .failed:
                throw DynamoDBError.internalServerError(
                    "The table change could not reach a majority of the cluster's nodes in time; retry"
                )
            case .refused(.queueFull):
                throw DynamoDBError.limitExceeded("Too many table operations are in progress; retry with backoff")
            case .refused(.changeTooLarge):
                throw DynamoDBError.validation("The table definition is too large")
            }
        }
        throw DynamoDBError.internalServerError("Other table changes kept taking precedence over this one; retry")
    }

    func waitUntilServing() async throws(DynamoDBError) {
        if !isCaughtUp, !(await waitUntilCaughtUp(timeoutMillis: settings.catchUpWaitMillis)) {
            throw Catalog.catchingUpError
        }
        try checkServing()
    }

    // MARK: - Deletions

    func startDeletion(_ table: TableDefinition, proposeAtOnce: Bool) {
        state.withLock { state in
            guard state.deletions[table.tableId] == nil else { return }
            state.deletions[table.tableId] = Task { await self.completeDeletion(table, proposeAtOnce: proposeAtOnce) }
        }
    }

    /// Fences the table in this node's coordinator, has the removal decided (at once on the node
    /// that asked for the delete, after a grace period on the others), then deletes the items
    /// written here before the fence once more, so none outlives the table.
    func completeDeletion(_ table: TableDefinition, proposeAtOnce: Bool) async {
        await coordinator.fence(tableId: table.tableId)
        let takeoverAt = monotonicMillis() + (proposeAtOnce ? 0 : settings.deletionTakeoverMillis)
        var failures = 0
        while isDeleting(table), failures < settings.deletionFailuresMax, !state.withLock({ $0.stopped }) {
            if monotonicMillis() < takeoverAt {
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            do {
                try await gate.withLock {
                    try await commit { applied -> (CatalogChange?, Void) in
                        guard applied.tables[table.name]?.tableId == table.tableId else { return (nil, ()) }
                        return (.remove(name: table.name, tableId: table.tableId), ())
                    }
                }
            } catch {
                failures += 1
                try? await Task.sleep(for: .milliseconds(min(1_000, 50 << failures)))
            }
        }
        if !isDeleting(table) { await purge(table) }
        _ = state.withLock { $0.deletions.removeValue(forKey: table.tableId) }
    }

    func isDeleting(_ table: TableDefinition) -> Bool {
        state.withLock { $0.applied.tables[table.name]?.tableId == table.tableId }
    }

    /// Deletes a removed table's items and statistics (after this node's fence of it).
    func purge(_ table: TableDefinition) async {
        var batch = WriteBatch()
        batch.deleteRange(KeyEncoding.tablePrefix(table.tableId), KeyEncoding.tableEnd(table.tableId))
        batch.delete(TableStatistics.key(tableId: table.tableId))
        // On failure (storage closing) items of a removed table may remain: invisible, since the
        // id is never reused (see docs/architecture.md, "Catalog consensus: the shell").
        try? await storage.write(batch)
    }

    /// Starts deletions of DELETING tables that have none (one ended after failing to reach a
    /// majority); the tick calls this.
    func resumeDeletions() {
        let stalled = state.withLock { state in
            state.stopped ? [] : state.applied.tables.values.filter { $0.status == .deleting && state.deletions[$0.tableId] == nil }
        }
        for table in stalled { startDeletion(table, proposeAtOnce: members.count == 1) }
    }

    /// Waits until every deletion started so far has completed (tests, shutdown).
    public func waitForDeletions() async {
        while let next = state.withLock({ $0.deletions.values.first }) {
            await next.value
        }
    }
}
