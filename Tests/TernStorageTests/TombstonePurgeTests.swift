import Foundation
import Synchronization
import TernCore
import TernStorage
import XCTest
@testable import TernRocksDB

/// A wall clock the test moves by hand; read from RocksDB's compaction threads.
final class ManualWallClock: Sendable {
    private let millis: Atomic<UInt64>

    init(millis: UInt64) { self.millis = Atomic(millis) }

    func read() -> UInt64 { millis.load(ordering: .relaxed) }

    func advance(byMillis delta: UInt64) { millis.add(delta, ordering: .relaxed) }
}

/// The compaction filter on a real RocksDB: which stored values `compactAll` drops and which it keeps.
final class TombstonePurgeTests: XCTestCase {
    static let now: UInt64 = 1_800_000_000_000  // ms since 1970, in 2027
    static let graceSeconds = 100
    static let graceMillis = UInt64(graceSeconds) * 1000

    /// A stored value per the header contract: format, flags, big-endian HLC timestamp, then a body.
    static func value(format: UInt8 = 1, tombstone: Bool, physicalMillis: UInt64, body: [UInt8] = [0]) -> [UInt8] {
        let timestamp = physicalMillis << 16 | 3
        return [format, tombstone ? 1 : 0] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: timestamp >> (8 * $0)) } + body
    }

    static func itemKey(table: UInt32 = 5, _ name: String) -> [UInt8] {
        KeyEncoding.tablePrefix(table) + Array(name.utf8)
    }

    static let longAgo = now - graceMillis - 1
    static let recently = now - graceMillis / 2

    /// Entries that every purge must keep, whatever their age.
    static let kept: [KeyValue] = [
        KeyValue(key: itemKey("young-tombstone"), value: value(tombstone: true, physicalMillis: recently)),
        KeyValue(key: itemKey("tombstone-at-deadline"), value: value(tombstone: true, physicalMillis: now - graceMillis)),
        KeyValue(key: itemKey("ancient-live-item"), value: value(tombstone: false, physicalMillis: 1)),
        KeyValue(key: itemKey("old-live-item-format-2"), value: value(format: 2, tombstone: false, physicalMillis: longAgo)),
        KeyValue(key: itemKey("young-live-item"), value: value(tombstone: false, physicalMillis: recently)),
        KeyValue(key: KeyEncoding.tablePrefix(0) + Array("table/looks-like-a-tombstone".utf8), value: value(tombstone: true, physicalMillis: 1)),
        KeyValue(key: KeyEncoding.tablePrefix(0) + Array("meta/next-table-id".utf8), value: value(tombstone: true, physicalMillis: 1)),
        KeyValue(key: itemKey("unknown-format-3"), value: value(format: 3, tombstone: true, physicalMillis: 1)),
        KeyValue(key: itemKey("unknown-format-0"), value: value(format: 0, tombstone: true, physicalMillis: 1)),
        KeyValue(key: itemKey("truncated-header"), value: [1, 1, 0, 0]),
        KeyValue(key: itemKey("empty-value"), value: []),
        KeyValue(key: [0, 0, 7], value: value(tombstone: true, physicalMillis: 1)),
    ]

    /// Tombstones older than the grace period.
    static let purgeable: [KeyValue] = [
        KeyValue(key: itemKey("old-tombstone"), value: value(tombstone: true, physicalMillis: longAgo)),
        KeyValue(key: itemKey("ancient-tombstone"), value: value(tombstone: true, physicalMillis: 1)),
        KeyValue(key: itemKey("old-tombstone-format-2"), value: value(format: 2, tombstone: true, physicalMillis: longAgo, body: [9, 9])),
        KeyValue(key: itemKey(table: 0xFFFF_FFFE, "last-table"), value: value(tombstone: true, physicalMillis: longAgo)),
        KeyValue(
            key: itemKey("encoded-stored-value"),
            value: StoredValue(item: nil, timestamp: longAgo << 16, clock: VectorClock(["n1": 1])).encoded()
        ),
    ]

    var directory = ""
    let clock = ManualWallClock(millis: TombstonePurgeTests.now)

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tern-purge-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        directory = url.path
    }

    func open() throws -> RocksDBStorage {
        let clock = self.clock
        let options = RocksDBStorage.Options(sync: false, tombstoneGraceSeconds: Self.graceSeconds, nowMillis: { clock.read() })
        let engine = try RocksDBStorage(path: directory, options: options)
        addTeardownBlock { engine.close() }
        return engine
    }

    func put(_ entries: [KeyValue], into engine: RocksDBStorage) async throws {
        try await engine.write(WriteBatch(entries.map { .put(key: $0.key, value: $0.value) }))
    }

    func everything(in engine: RocksDBStorage) throws -> [KeyValue] {
        try engine.scan(start: [], end: [UInt8](repeating: 0xFF, count: 8), reverse: false, limit: 1000)
    }

    static func sorted(_ entries: [KeyValue]) -> [KeyValue] {
        entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }
    }

    func testCompactAllPurgesOnlyTombstonesOlderThanTheGracePeriod() async throws {
        let engine = try open()
        try await put(Self.kept + Self.purgeable, into: engine)

        try engine.compactAll()

        XCTAssertEqual(try everything(in: engine), Self.sorted(Self.kept))
        for entry in Self.purgeable {
            XCTAssertNil(try engine.get(entry.key), "\(String(decoding: entry.key.dropFirst(4), as: UTF8.self)) purged")
        }
        XCTAssertEqual(engine.purgedTombstoneCount, Self.purgeable.count)
    }

    func testNothingIsPurgedBeforeACompaction() async throws {
        let engine = try open()
        try await put(Self.kept + Self.purgeable, into: engine)

        XCTAssertEqual(try everything(in: engine), Self.sorted(Self.kept + Self.purgeable))
        XCTAssertEqual(engine.purgedTombstoneCount, 0)
    }

    func testPurgeIsConsistentAfterReopen() async throws {
        let first = try open()
        try await put(Self.kept + Self.purgeable, into: first)
        try first.compactAll()
        first.close()

        let second = try open()
        XCTAssertEqual(try everything(in: second), Self.sorted(Self.kept))
        // A second full compaction finds nothing more to purge: the kept entries stay kept.
        try second.compactAll()
        XCTAssertEqual(second.purgedTombstoneCount, 0)
        second.close()

        let third = try open()
        XCTAssertEqual(try everything(in: third), Self.sorted(Self.kept))
    }

    func testYoungTombstoneIsPurgedOnceTheClockPassesItsGracePeriod() async throws {
        let engine = try open()
        let key = Self.itemKey("deleted")
        try await put([KeyValue(key: key, value: Self.value(tombstone: true, physicalMillis: Self.now))], into: engine)

        try engine.compactAll()
        XCTAssertNotNil(try engine.get(key), "kept while younger than the grace period")

        clock.advance(byMillis: Self.graceMillis + 1)
        try engine.compactAll()
        XCTAssertNil(try engine.get(key))
        XCTAssertEqual(engine.purgedTombstoneCount, 1)
    }

    func testDefaultGracePeriodIsTenDays() {
        XCTAssertEqual(RocksDBStorage.Options().tombstoneGraceSeconds, 864_000)
    }

    func testCompactAllAfterCloseThrowsClosed() throws {
        let engine = try open()
        engine.close()
        XCTAssertThrowsError(try engine.compactAll()) { XCTAssertEqual($0 as? StorageError, .closed) }
    }
}
