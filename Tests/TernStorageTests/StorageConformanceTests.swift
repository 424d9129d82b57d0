import Foundation
import Synchronization
import TernStorage
@testable import TernRocksDB
import XCTest

// The behaviours every `StorageEngine` must have are written once, as the `check…` methods of
// `StorageConformanceTests`. Each engine's test case supplies `makeEngine()` and runs every
// check as one of its own `test…` methods (spelled out, so that test discovery and the report
// list each behaviour per engine). RocksDB-only behaviours follow in its own test case.

/// The shared suite. Has no `test…` methods itself: subclasses run the checks.
class StorageConformanceTests: XCTestCase {
    /// A fresh, empty engine that is closed (and its files removed) when the test ends.
    func makeEngine() throws -> any StorageEngine {
        fatalError("\(type(of: self)) must override makeEngine()")
    }

    func checkPutGetOverwriteDelete() async throws {
        let engine = try makeEngine()
        try await put(engine, [1], [10])
        XCTAssertEqual(try engine.get([1]), [10])

        try await put(engine, [1], [11, 12])
        XCTAssertEqual(try engine.get([1]), [11, 12], "a put replaces the old value")

        try await engine.write(WriteBatch([.delete(key: [1])]))
        XCTAssertNil(try engine.get([1]))
        try await engine.write(WriteBatch([.delete(key: [1])]))  // deleting a missing key is fine
        XCTAssertNil(try engine.get([1]))

        try await put(engine, [2], [])
        XCTAssertEqual(try engine.get([2]), [], "an empty value is a value, not a missing key")

        let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await put(engine, [3], large)
        XCTAssertEqual(try engine.get([3]), large)
    }

    /// A memory-only read either answers exactly what `get` answers or says it would need disk;
    /// a key just written (in the memtable) is always answered from memory.
    func checkGetIfCachedAgreesWithGet() async throws {
        let engine = try makeEngine()
        try await put(engine, [5], [50])
        XCTAssertEqual(try engine.getIfCached([5]), .value([50]))
        try await engine.write(WriteBatch([.delete(key: [5])]))
        XCTAssertEqual(try engine.getIfCached([5]), .value(nil))
        for key: [UInt8] in [[1], [5], [9, 9]] {
            let cached = try engine.getIfCached(key)
            if case .value(let value) = cached {
                XCTAssertEqual(value, try engine.get(key))
            }
        }
    }

    func checkMissingKeyIsNil() async throws {
        let engine = try makeEngine()
        XCTAssertNil(try engine.get([1]), "empty engine")

        try await put(engine, [1, 0], [7])
        XCTAssertNil(try engine.get([1]), "a prefix of a stored key is not that key")
        XCTAssertNil(try engine.get([1, 0, 0]), "an extension of a stored key is not that key")
        XCTAssertNil(try engine.get([0]))
        XCTAssertEqual(try engine.get([1, 0]), [7])
    }

    func checkBatchAppliesAllOperationsInOrder() async throws {
        let engine = try makeEngine()
        try await put(engine, [3], [3])

        var batch = WriteBatch()
        batch.put([1], [0xA])
        batch.put([2], [0xB])
        batch.delete([3])
        batch.put([1], [0xC])  // the later operation on the same key wins
        batch.put([4], [0xD])
        batch.delete([4])
        try await engine.write(batch)
        XCTAssertEqual(try scanAll(engine), [entry([1], [0xC]), entry([2], [0xB])])

        // Order matters for ranges too: a put after a deleteRange survives it, one before does not.
        try await engine.write(WriteBatch([
            .put(key: [5, 1], value: [1]),
            .deleteRange(start: [5], end: [6]),
            .put(key: [5, 2], value: [2]),
        ]))
        XCTAssertNil(try engine.get([5, 1]))
        XCTAssertEqual(try engine.get([5, 2]), [2])
    }

    /// A reader must never see part of a batch: every scan sees all ten keys from one batch.
    func checkBatchIsAtomicForConcurrentReaders() async throws {
        let engine = try makeEngine()
        let keys = (0..<10).map { [UInt8(9), UInt8($0)] }
        func generationBatch(_ generation: UInt8) -> WriteBatch {
            WriteBatch(keys.map { .put(key: $0, value: [generation]) })
        }
        try await engine.write(generationBatch(0))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for generation in 1...40 {
                    try await engine.write(generationBatch(UInt8(generation)))
                }
            }
            group.addTask {
                for _ in 0..<400 {
                    let entries = try engine.scan(start: [9], end: [10], reverse: false, limit: 100)
                    XCTAssertEqual(entries.map(\.key), keys)
                    XCTAssertEqual(Set(entries.map(\.value)).count, 1, "saw a half-applied batch: \(entries)")
                    await Task.yield()
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try engine.scan(start: [9], end: [10], reverse: false, limit: 100).map(\.value),
                       Array(repeating: [40], count: 10))
    }

    func checkDeleteRange() async throws {
        let engine = try makeEngine()
        let keys: [[UInt8]] = [[1], [1, 0], [1, 5], [1, 0xFF], [2], [2, 0], [3], [0xFF], [0xFF, 0]]
        try await putAll(engine, keys)

        try await engine.write(WriteBatch([.deleteRange(start: [1, 0], end: [2])]))
        XCTAssertEqual(try scanAll(engine).map(\.key), [[1], [2], [2, 0], [3], [0xFF], [0xFF, 0]],
                       "start is inclusive, end exclusive, keys outside untouched")

        try await engine.write(WriteBatch([
            .deleteRange(start: [3], end: [3]),  // empty
            .deleteRange(start: [3], end: [2]),  // inverted
        ]))
        XCTAssertEqual(try scanAll(engine).map(\.key), [[1], [2], [2, 0], [3], [0xFF], [0xFF, 0]],
                       "an empty or inverted range deletes nothing")

        try await engine.write(WriteBatch([.deleteRange(start: [], end: [0xFF])]))
        XCTAssertEqual(try scanAll(engine).map(\.key), [[0xFF], [0xFF, 0]], "the empty key starts everything")
        XCTAssertNil(try engine.get([2, 0]))
    }

    func checkScanForward() async throws {
        let engine = try makeEngine()
        try await putAll(engine, Self.scanKeys)

        XCTAssertEqual(try engine.scan(start: [1], end: [2], reverse: false, limit: 100),
                       [[1], [1, 0], [1, 0, 0], [1, 1]].map(valued))
        XCTAssertEqual(try engine.scan(start: [1, 0], end: [1, 1], reverse: false, limit: 100),
                       [[1, 0], [1, 0, 0]].map(valued), "prefix-style range")
        XCTAssertEqual(try engine.scan(start: [1, 0], end: [9], reverse: false, limit: 2),
                       [[1, 0], [1, 0, 0]].map(valued), "limit keeps the smallest keys")
        XCTAssertEqual(try engine.scan(start: [1, 0, 1], end: [2, 0], reverse: false, limit: 100),
                       [[1, 1], [2]].map(valued), "bounds need not be stored keys")
        XCTAssertEqual(try engine.scan(start: [2], end: [3], reverse: false, limit: 100),
                       [[2], [2, 0]].map(valued), "a stored end key is excluded")
        XCTAssertEqual(try engine.scan(start: [0], end: [9], reverse: false, limit: 100),
                       Self.scanKeys.map(valued))
        XCTAssertEqual(try engine.scan(start: [4], end: [9], reverse: false, limit: 100), [])
        try assertEmptyScans(engine, reverse: false)
    }

    func checkScanReverse() async throws {
        let engine = try makeEngine()
        try await putAll(engine, Self.scanKeys)

        XCTAssertEqual(try engine.scan(start: [1], end: [2], reverse: true, limit: 100),
                       [[1, 1], [1, 0, 0], [1, 0], [1]].map(valued))
        XCTAssertEqual(try engine.scan(start: [1], end: [2], reverse: true, limit: 2),
                       [[1, 1], [1, 0, 0]].map(valued), "limit keeps the greatest keys")
        XCTAssertEqual(try engine.scan(start: [1, 0], end: [1, 1], reverse: true, limit: 100),
                       [[1, 0, 0], [1, 0]].map(valued), "prefix-style range; a stored end key is excluded")
        XCTAssertEqual(try engine.scan(start: [2], end: [3], reverse: true, limit: 100),
                       [[2, 0], [2]].map(valued), "a stored end key is excluded")
        XCTAssertEqual(try engine.scan(start: [1, 0, 1], end: [2, 0], reverse: true, limit: 100),
                       [[2], [1, 1]].map(valued), "bounds need not be stored keys")
        XCTAssertEqual(try engine.scan(start: [0], end: [9], reverse: true, limit: 100),
                       Self.scanKeys.reversed().map(valued), "end past the greatest key")
        XCTAssertEqual(try engine.scan(start: [0], end: [1], reverse: true, limit: 100), [],
                       "end at the smallest key")
        try assertEmptyScans(engine, reverse: true)
    }

    /// Unsigned bytes, and a key sorts right after its own prefix.
    func checkByteWiseOrder() async throws {
        let engine = try makeEngine()
        let ascending: [[UInt8]] = [
            [0x00], [0x00, 0x00], [0x00, 0xFF], [0x01], [0x7F], [0x80], [0xFE, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFF],
        ]
        let insertionOrder = [7, 2, 9, 0, 5, 4, 1, 8, 3, 6].map { ascending[$0] }
        for key in insertionOrder {
            try await put(engine, key, key)
        }

        XCTAssertEqual(try scanAll(engine), ascending.map { entry($0, $0) })
        XCTAssertEqual(try engine.scan(start: [], end: [0xFF, 0xFF, 0xFF], reverse: true, limit: 100),
                       ascending.reversed().map { entry($0, $0) })
        XCTAssertEqual(try engine.scan(start: [0x00], end: [0x00, 0xFF], reverse: false, limit: 100).map(\.key),
                       [[0x00], [0x00, 0x00]])
        XCTAssertEqual(try engine.scan(start: [0x7F], end: [0xFF], reverse: false, limit: 100).map(\.key),
                       [[0x7F], [0x80], [0xFE, 0xFF]], "0x80 sorts after 0x7F: bytes are unsigned")
        XCTAssertEqual(try engine.scan(start: [0xFF], end: [0xFF, 0xFF], reverse: true, limit: 100).map(\.key),
                       [[0xFF, 0x00], [0xFF]])
        XCTAssertEqual(try engine.get([0xFF, 0xFF]), [0xFF, 0xFF])
        XCTAssertEqual(try engine.get([0x00]), [0x00])
    }

    func checkManyConcurrentWriters() async throws {
        let engine = try makeEngine()
        let tasks = 64
        let writesPerTask = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for write in 0..<writesPerTask {
                        try await engine.write(WriteBatch([
                            .put(key: [UInt8(task), UInt8(write)], value: [UInt8(task), UInt8(write), 7]),
                        ]))
                    }
                }
            }
            try await group.waitForAll()
        }

        let expected = (0..<tasks).flatMap { task in
            (0..<writesPerTask).map { write in
                entry([UInt8(task), UInt8(write)], [UInt8(task), UInt8(write), 7])
            }
        }
        XCTAssertEqual(try scanAll(engine), expected)
    }

    func checkClosedEngineThrowsClosed() async throws {
        let engine = try makeEngine()
        try await put(engine, [1], [1])
        try engine.close()

        try await assertThrows(.closed) { _ = try engine.get([1]) }
        try await assertThrows(.closed) { _ = try engine.scan(start: [0], end: [9], reverse: false, limit: 10) }
        try await assertThrows(.closed) { _ = try engine.scan(start: [0], end: [9], reverse: true, limit: 10) }
        try await assertThrows(.closed) { try await engine.write(WriteBatch([.put(key: [2], value: [2])])) }
        XCTAssertNoThrow(try engine.close(), "close is idempotent")
        try await assertThrows(.closed) { _ = try engine.get([1]) }
    }

    // MARK: - Counters (`addCounters`)

    func checkCounterAddsAccumulateAcrossAndWithinBatches() async throws {
        let engine = try makeEngine()
        XCTAssertNil(try engine.get([7]))

        try await engine.write(WriteBatch([.addCounters(key: [7], deltas: [1, 100])]))
        XCTAssertEqual(try counters(engine, [7]), [1, 100], "a missing key starts from zeros")

        var batch = WriteBatch()
        batch.addCounters([7], [1, 50])
        batch.put([8], [0xAB])  // an item written in the same batch, as the coordinator does
        batch.addCounters([7], [1, 25])
        batch.addCounters([9], [5])
        try await engine.write(batch)
        XCTAssertEqual(try counters(engine, [7]), [3, 175], "every add of a batch applies")
        XCTAssertEqual(try counters(engine, [9]), [5])
        XCTAssertEqual(try engine.get([8]), [0xAB])
        XCTAssertEqual(try engine.get([7]), CounterValue.encode([3, 175]), "the stored value is the encoded sum")
    }

    /// Group commit puts many callers' adds into one write; none may be lost or applied twice.
    func checkCounterAddsFromConcurrentWritersAreExact() async throws {
        let engine = try makeEngine()
        let tasks = 8
        let batchesPerTask = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for write in 0..<batchesPerTask {
                        var batch = WriteBatch()
                        batch.put([1, UInt8(task), UInt8(write % 256)], [1])
                        batch.addCounters([0], [1, 100])
                        try await engine.write(batch)
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try counters(engine, [0]), [Int64(tasks * batchesPerTask), Int64(tasks * batchesPerTask * 100)])
    }

    /// Order inside a batch: an add after a put adds to the put value; after a delete (or a
    /// range delete) it starts again from zeros; a delete after an add removes the counters.
    func checkCounterAddAfterPutDeleteAndDeleteRange() async throws {
        let engine = try makeEngine()
        try await engine.write(WriteBatch([
            .put(key: [1], value: CounterValue.encode([10, 20])),
            .addCounters(key: [1], deltas: [1, 2]),
        ]))
        XCTAssertEqual(try counters(engine, [1]), [11, 22], "put then add")

        try await engine.write(WriteBatch([
            .addCounters(key: [1], deltas: [5, 5]),
            .delete(key: [1]),
            .addCounters(key: [1], deltas: [3]),
        ]))
        XCTAssertEqual(try counters(engine, [1]), [3], "delete then add starts from zeros")

        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [4]), .delete(key: [1])]))
        XCTAssertNil(try engine.get([1]), "add then delete leaves nothing")

        try await engine.write(WriteBatch([.addCounters(key: [2, 1], deltas: [7])]))
        try await engine.write(WriteBatch([
            .addCounters(key: [2, 1], deltas: [1]),
            .deleteRange(start: [2], end: [3]),
            .addCounters(key: [2, 1], deltas: [2]),
        ]))
        XCTAssertEqual(try counters(engine, [2, 1]), [2], "range delete then add starts from zeros")

        try await engine.write(WriteBatch([.put(key: [3], value: CounterValue.encode([1]))]))
        try await engine.write(WriteBatch([.addCounters(key: [3], deltas: [1])]))
        try await engine.write(WriteBatch([.put(key: [3], value: CounterValue.encode([40]))]))
        try await engine.write(WriteBatch([.addCounters(key: [3], deltas: [2])]))
        XCTAssertEqual(try counters(engine, [3]), [42], "a later put replaces the counters, earlier adds included")
    }

    func checkDeleteRangeRemovesCounters() async throws {
        let engine = try makeEngine()
        try await engine.write(WriteBatch([
            .addCounters(key: [4, 1], deltas: [1]),
            .addCounters(key: [4, 2], deltas: [2]),
            .addCounters(key: [5], deltas: [3]),
        ]))
        try await engine.write(WriteBatch([.addCounters(key: [4, 1], deltas: [1])]))
        try await engine.write(WriteBatch([.deleteRange(start: [4], end: [5])]))
        XCTAssertNil(try engine.get([4, 1]))
        XCTAssertNil(try engine.get([4, 2]))
        XCTAssertEqual(try scanAll(engine), [entry([5], CounterValue.encode([3]))])

        try await engine.write(WriteBatch([.addCounters(key: [4, 1], deltas: [9])]))
        XCTAssertEqual(try counters(engine, [4, 1]), [9], "an add after the range delete starts from zeros")
    }

    func checkCounterNegativeDeltasAndWrapping() async throws {
        let engine = try makeEngine()
        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [1, 400])]))
        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [-1, -400])]))
        XCTAssertEqual(try counters(engine, [1]), [0, 0], "zeros are kept, not removed")
        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [-3, -7])]))
        XCTAssertEqual(try counters(engine, [1]), [-3, -7], "counters may go below zero")

        try await engine.write(WriteBatch([
            .addCounters(key: [2], deltas: [.max, .min]),
            .addCounters(key: [2], deltas: [1, -1]),
        ]))
        XCTAssertEqual(try counters(engine, [2]), [.min, .max], "overflow wraps instead of trapping")
    }

    /// Vectors of different lengths add as if padded with zeros; foreign bytes under the key
    /// are read with their last partial counter zero-extended; an empty add still creates the key.
    func checkCounterVectorsOfDifferentLengths() async throws {
        let engine = try makeEngine()
        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [1])]))
        try await engine.write(WriteBatch([
            .addCounters(key: [1], deltas: [1, 2, 3]),
            .addCounters(key: [1], deltas: [1, 2]),
        ]))
        XCTAssertEqual(try counters(engine, [1]), [3, 4, 3])
        try await engine.write(WriteBatch([.addCounters(key: [1], deltas: [])]))
        XCTAssertEqual(try counters(engine, [1]), [3, 4, 3], "a shorter add leaves the length alone")

        try await engine.write(WriteBatch([.addCounters(key: [2], deltas: [])]))
        XCTAssertEqual(try engine.get([2]), [], "an empty add to a missing key stores no counters, but stores the key")

        try await engine.write(WriteBatch([.put(key: [3], value: [1, 0, 0, 0, 0, 0, 0, 0, 2, 1])]))
        try await engine.write(WriteBatch([.addCounters(key: [3], deltas: [1])]))
        XCTAssertEqual(try counters(engine, [3]), [2, 0x0102], "a partial last counter is zero-extended")
    }

    /// Scans see the summed value, forwards and backwards, next to ordinary values.
    func checkScansReturnSummedCounters() async throws {
        let engine = try makeEngine()
        try await put(engine, [1], [0xA])
        for delta: Int64 in [1, 2, 3] {
            try await engine.write(WriteBatch([.addCounters(key: [2], deltas: [delta, -delta])]))
        }
        try await put(engine, [3], [0xC])
        let expected = [entry([1], [0xA]), entry([2], CounterValue.encode([6, -6])), entry([3], [0xC])]
        XCTAssertEqual(try scanAll(engine), expected)
        XCTAssertEqual(try engine.scan(start: [], end: [4], reverse: true, limit: 10), expected.reversed())
        if case .value(let cached) = try engine.getIfCached([2]) {
            XCTAssertEqual(cached, CounterValue.encode([6, -6]))
        }
    }

    // MARK: - Helpers

    /// Keys for the scan checks: prefixes and their extensions.
    static let scanKeys: [[UInt8]] = [[1], [1, 0], [1, 0, 0], [1, 1], [2], [2, 0], [3]]

    func put(_ engine: any StorageEngine, _ key: [UInt8], _ value: [UInt8]) async throws {
        try await engine.write(WriteBatch([.put(key: key, value: value)]))
    }

    /// Stores each key with the value `valued(key)`, in one batch.
    func putAll(_ engine: any StorageEngine, _ keys: [[UInt8]]) async throws {
        try await engine.write(WriteBatch(keys.map { .put(key: $0, value: valued($0).value) }))
    }

    /// The counters under `key`; fails the test when the key is missing.
    func counters(_ engine: any StorageEngine, _ key: [UInt8], line: UInt = #line) throws -> [Int64]? {
        guard let value = try engine.get(key) else {
            XCTFail("no counters under \(key)", line: line)
            return nil
        }
        XCTAssertEqual(value.count % CounterValue.counterBytes, 0, "a whole number of counters", line: line)
        return CounterValue.decode(value)
    }

    func valued(_ key: [UInt8]) -> KeyValue {
        entry(key, [0xAA] + key)
    }

    func entry(_ key: [UInt8], _ value: [UInt8]) -> KeyValue {
        KeyValue(key: key, value: value)
    }

    /// Every entry in ascending order (all test keys are below [FF FF FF]).
    func scanAll(_ engine: any StorageEngine) throws -> [KeyValue] {
        try engine.scan(start: [], end: [0xFF, 0xFF, 0xFF], reverse: false, limit: .max)
    }

    func assertEmptyScans(_ engine: any StorageEngine, reverse: Bool, line: UInt = #line) throws {
        XCTAssertEqual(try engine.scan(start: [0], end: [9], reverse: reverse, limit: 0), [], "limit 0", line: line)
        XCTAssertEqual(try engine.scan(start: [1], end: [1], reverse: reverse, limit: 100), [], "start == end", line: line)
        XCTAssertEqual(try engine.scan(start: [2], end: [1], reverse: reverse, limit: 100), [], "start > end", line: line)
    }

    func assertThrows(
        _ expected: StorageError, file: StaticString = #filePath, line: UInt = #line,
        _ body: () async throws -> Void
    ) async throws {
        do {
            try await body()
            XCTFail("expected \(expected), but nothing was thrown", file: file, line: line)
        } catch let error as StorageError {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    /// A directory removed when the test ends.
    func makeTemporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tern-storage-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// A RocksDB engine at `path`, closed when the test ends (teardown blocks run last-added
    /// first, so it is closed before its directory is removed).
    func openRocksDB(at path: String, options: RocksDBStorage.Options = .init()) throws -> RocksDBStorage {
        let engine = try RocksDBStorage(path: path, options: options)
        addTeardownBlock { engine.close() }
        return engine
    }
}

final class InMemoryStorageConformanceTests: StorageConformanceTests {
    override func makeEngine() throws -> any StorageEngine {
        let engine = InMemoryStorage()
        addTeardownBlock { try? engine.close() }
        return engine
    }

    func testPutGetOverwriteDelete() async throws { try await checkPutGetOverwriteDelete() }
    func testMissingKeyIsNil() async throws { try await checkMissingKeyIsNil() }
    func testGetIfCachedAgreesWithGet() async throws { try await checkGetIfCachedAgreesWithGet() }
    func testBatchAppliesAllOperationsInOrder() async throws { try await checkBatchAppliesAllOperationsInOrder() }
    func testBatchIsAtomicForConcurrentReaders() async throws { try await checkBatchIsAtomicForConcurrentReaders() }
    func testDeleteRange() async throws { try await checkDeleteRange() }
    func testScanForward() async throws { try await checkScanForward() }
    func testScanReverse() async throws { try await checkScanReverse() }
    func testByteWiseOrder() async throws { try await checkByteWiseOrder() }
    func testManyConcurrentWriters() async throws { try await checkManyConcurrentWriters() }
    func testClosedEngineThrowsClosed() async throws { try await checkClosedEngineThrowsClosed() }
    func testCounterAddsAccumulateAcrossAndWithinBatches() async throws { try await checkCounterAddsAccumulateAcrossAndWithinBatches() }
    func testCounterAddsFromConcurrentWritersAreExact() async throws { try await checkCounterAddsFromConcurrentWritersAreExact() }
    func testCounterAddAfterPutDeleteAndDeleteRange() async throws { try await checkCounterAddAfterPutDeleteAndDeleteRange() }
    func testDeleteRangeRemovesCounters() async throws { try await checkDeleteRangeRemovesCounters() }
    func testCounterNegativeDeltasAndWrapping() async throws { try await checkCounterNegativeDeltasAndWrapping() }
    func testCounterVectorsOfDifferentLengths() async throws { try await checkCounterVectorsOfDifferentLengths() }
    func testScansReturnSummedCounters() async throws { try await checkScansReturnSummedCounters() }
}

final class RocksDBStorageConformanceTests: StorageConformanceTests {
    override func makeEngine() throws -> any StorageEngine {
        try openRocksDB(at: makeTemporaryDirectory() + "/db")
    }

    func testPutGetOverwriteDelete() async throws { try await checkPutGetOverwriteDelete() }
    func testMissingKeyIsNil() async throws { try await checkMissingKeyIsNil() }
    func testGetIfCachedAgreesWithGet() async throws { try await checkGetIfCachedAgreesWithGet() }
    func testBatchAppliesAllOperationsInOrder() async throws { try await checkBatchAppliesAllOperationsInOrder() }
    func testBatchIsAtomicForConcurrentReaders() async throws { try await checkBatchIsAtomicForConcurrentReaders() }
    func testDeleteRange() async throws { try await checkDeleteRange() }
    func testScanForward() async throws { try await checkScanForward() }
    func testScanReverse() async throws { try await checkScanReverse() }
    func testByteWiseOrder() async throws { try await checkByteWiseOrder() }
    func testManyConcurrentWriters() async throws { try await checkManyConcurrentWriters() }
    func testClosedEngineThrowsClosed() async throws { try await checkClosedEngineThrowsClosed() }
    func testCounterAddsAccumulateAcrossAndWithinBatches() async throws { try await checkCounterAddsAccumulateAcrossAndWithinBatches() }
    func testCounterAddsFromConcurrentWritersAreExact() async throws { try await checkCounterAddsFromConcurrentWritersAreExact() }
    func testCounterAddAfterPutDeleteAndDeleteRange() async throws { try await checkCounterAddAfterPutDeleteAndDeleteRange() }
    func testDeleteRangeRemovesCounters() async throws { try await checkDeleteRangeRemovesCounters() }
    func testCounterNegativeDeltasAndWrapping() async throws { try await checkCounterNegativeDeltasAndWrapping() }
    func testCounterVectorsOfDifferentLengths() async throws { try await checkCounterVectorsOfDifferentLengths() }
    func testScansReturnSummedCounters() async throws { try await checkScansReturnSummedCounters() }

    // MARK: - RocksDB only

    /// After a reopen the data lives in table files and the block cache is cold: a memory-only
    /// read must say so (never fail, never block), and a normal read must still find the value.
    func testGetIfCachedReportsValuesOnlyOnDisk() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        let first = try openRocksDB(at: path)
        let value = [UInt8](repeating: 7, count: 300_000)
        for i in 0..<40 {
            try await first.write(WriteBatch([.put(key: [1, UInt8(i)], value: value)]))
        }
        first.close()
        let second = try openRocksDB(at: path)
        var notCached = 0
        for i in 0..<40 {
            let key: [UInt8] = [1, UInt8(i)]
            switch try second.getIfCached(key) {
            case .notCached: notCached += 1
            case .value(let cached): XCTAssertEqual(cached, value)
            }
            XCTAssertEqual(try second.get(key), value)
        }
        XCTAssertGreaterThan(notCached, 0, "a cold reopen should leave some values on disk only")
    }

    func testDataSurvivesCloseAndReopen() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        let first = try openRocksDB(at: path)
        try await putAll(first, Self.scanKeys)
        try await first.write(WriteBatch([.deleteRange(start: [1, 0], end: [1, 1]), .delete(key: [3])]))
        first.close()

        let second = try openRocksDB(at: path)
        XCTAssertEqual(try scanAll(second), [[1], [1, 1], [2], [2, 0]].map(valued))
        XCTAssertNil(try second.get([1, 0, 0]), "the range deletion survived too")
    }

    /// An acknowledged write is already in the write-ahead log: a copy of the directory taken
    /// while the engine is still open (as a crash would leave it) recovers it.
    func testAcknowledgedWritesAreRecoverableWithoutClose() async throws {
        let directory = try makeTemporaryDirectory()
        let engine = try openRocksDB(at: directory + "/db")
        try await putAll(engine, Self.scanKeys)
        try await engine.write(WriteBatch([.delete(key: [3])]))

        try FileManager.default.copyItem(atPath: directory + "/db", toPath: directory + "/crashed")
        let recovered = try openRocksDB(at: directory + "/crashed")
        XCTAssertEqual(try scanAll(recovered), Self.scanKeys.dropLast().map(valued))
    }

    func testCountersSurviveCloseAndReopen() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        let first = try openRocksDB(at: path)
        for _ in 0..<5 {
            try await first.write(WriteBatch([.addCounters(key: [1], deltas: [1, 100])]))
        }
        try await first.write(WriteBatch([.addCounters(key: [2], deltas: [-4])]))
        first.close()

        let second = try openRocksDB(at: path)
        XCTAssertEqual(try counters(second, [1]), [5, 500])
        try await second.write(WriteBatch([.addCounters(key: [1], deltas: [1, 1])]))
        second.close()

        let third = try openRocksDB(at: path)
        XCTAssertEqual(try counters(third, [1]), [6, 501], "adds after a reopen land on the recovered sum")
        XCTAssertEqual(try counters(third, [2]), [-4])
    }

    /// Flush and compaction fold operands into table files: on top of a base value (full merge)
    /// and without one (partial merge); reads combine table files, memtable and new operands.
    func testCountersMergeThroughFlushAndCompaction() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        let engine = try openRocksDB(at: path)
        try await put(engine, [1], CounterValue.encode([1000]))
        var expectedWithBase: Int64 = 1000
        var expectedWithoutBase: Int64 = 0
        for round in 1...3 {
            for delta in 1...20 {
                try await engine.write(WriteBatch([
                    .addCounters(key: [1], deltas: [Int64(delta)]),
                    .addCounters(key: [2], deltas: [Int64(-delta), Int64(round)]),
                ]))
                expectedWithBase += Int64(delta)
                expectedWithoutBase -= Int64(delta)
            }
            XCTAssertEqual(try counters(engine, [1]), [expectedWithBase], "round \(round), before compaction")
            try engine.compactAll()
            XCTAssertEqual(try counters(engine, [1]), [expectedWithBase], "round \(round), after compaction")
            XCTAssertEqual(try counters(engine, [2]), [expectedWithoutBase, Int64(20 * round * (round + 1) / 2)])
        }
        XCTAssertEqual(try scanAll(engine).map(\.key), [[1], [2]])
        engine.close()

        let reopened = try openRocksDB(at: path)
        XCTAssertEqual(try counters(reopened, [1]), [expectedWithBase])
        XCTAssertEqual(try counters(reopened, [2]), [expectedWithoutBase, 120])
    }

    /// An acknowledged add is in the write-ahead log: a copy of the directory taken while the
    /// engine is open (as kill -9 would leave it) recovers the exact sums.
    func testAcknowledgedCounterAddsAreRecoverableWithoutClose() async throws {
        let directory = try makeTemporaryDirectory()
        let engine = try openRocksDB(at: directory + "/db")
        for _ in 0..<10 {
            try await engine.write(WriteBatch([.put(key: [2], value: [2]), .addCounters(key: [1], deltas: [1, 37])]))
        }

        try FileManager.default.copyItem(atPath: directory + "/db", toPath: directory + "/crashed")
        let recovered = try openRocksDB(at: directory + "/crashed")
        XCTAssertEqual(try counters(recovered, [1]), [10, 370])
    }

    /// The operator's name is persisted in the OPTIONS file; it must not change by accident.
    func testCounterMergeOperatorNameIsRecordedInOptionsFile() throws {
        let path = try makeTemporaryDirectory() + "/db"
        _ = try openRocksDB(at: path)
        let optionsFiles = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("OPTIONS-") }
        XCTAssertFalse(optionsFiles.isEmpty)
        for file in optionsFiles {
            let text = try String(contentsOfFile: path + "/" + file, encoding: .utf8)
            XCTAssertTrue(text.contains("merge_operator=tern.counters.add.v1"), "\(file) names the operator")
        }
    }

    /// Dropping the last reference closes the database (else its lock would stop the reopen).
    func testDeinitClosesTheDatabase() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        do {
            let engine = try RocksDBStorage(path: path)
            try await put(engine, [1], [1])
        }
        let reopened = try openRocksDB(at: path)
        XCTAssertEqual(try reopened.get([1]), [1])
    }

    func testCreatesMissingParentDirectories() async throws {
        let path = try makeTemporaryDirectory() + "/a/b/c/db"
        let engine = try openRocksDB(at: path)
        try await put(engine, [1], [1])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/CURRENT"))
    }

    func testSecondOpenOfSamePathFailsWithIOError() throws {
        let path = try makeTemporaryDirectory() + "/db"
        _ = try openRocksDB(at: path)
        XCTAssertThrowsError(try RocksDBStorage(path: path)) { error in
            let storageError = error as? StorageError
            XCTAssertNotNil(storageError)
            XCTAssertNotEqual(storageError, .closed)
            XCTAssertTrue("\(error)".contains("I/O error"), "\(error)")
            XCTAssertTrue("\(error)".lowercased().contains("lock"), "RocksDB's message is kept: \(error)")
        }
    }

    /// Batches queued while the commit thread is busy are committed together, in one write.
    func testGroupCommitCombinesQueuedBatchesIntoOneWrite() async throws {
        let engine = try openRocksDB(at: makeTemporaryDirectory() + "/db")
        engine.setCommitsPausedForTesting(true)
        let writers = (0..<8).map { index in
            Task { try await engine.write(WriteBatch([.put(key: [UInt8(index)], value: [UInt8(index)])])) }
        }
        try await waitUntilPending(engine, count: 8)
        XCTAssertNil(try engine.get([0]), "nothing is visible before it is committed")

        engine.setCommitsPausedForTesting(false)
        for writer in writers {
            try await writer.value
        }
        XCTAssertEqual(engine.commitStatistics, .init(groupCommits: 1, batches: 8))
        XCTAssertEqual(try scanAll(engine).map(\.key), (0..<8).map { [UInt8($0)] })
    }

    /// Batches committed together, with adds, puts, deletes and range deletes of the same keys
    /// interleaved, leave what applying them one by one leaves (the in-memory engine's answer).
    func testGroupCommittedCounterAddsKeepTheOrderOfOperations() async throws {
        let engine = try openRocksDB(at: makeTemporaryDirectory() + "/db")
        let batches: [WriteBatch] = [
            WriteBatch([.addCounters(key: [1], deltas: [1]), .addCounters(key: [2], deltas: [1, 1])]),
            WriteBatch([.put(key: [1], value: CounterValue.encode([10])), .addCounters(key: [2], deltas: [1])]),
            WriteBatch([.addCounters(key: [1], deltas: [2]), .deleteRange(start: [2], end: [3])]),
            WriteBatch([.addCounters(key: [2], deltas: [7]), .delete(key: [1])]),
            WriteBatch([.addCounters(key: [1], deltas: [3]), .addCounters(key: [2], deltas: [0, 7])]),
        ]
        let reference = InMemoryStorage()
        for batch in batches {
            try await reference.write(batch)
        }

        engine.setCommitsPausedForTesting(true)
        var writers: [Task<Void, any Error>] = []
        for (index, batch) in batches.enumerated() {
            writers.append(Task { try await engine.write(batch) })
            try await waitUntilPending(engine, count: index + 1)  // queued in this order
        }
        engine.setCommitsPausedForTesting(false)
        for writer in writers {
            try await writer.value
        }
        XCTAssertEqual(engine.commitStatistics, .init(groupCommits: 1, batches: batches.count))
        XCTAssertEqual(try scanAll(engine), try scanAll(reference))
        XCTAssertEqual(try counters(engine, [1]), [3])
        XCTAssertEqual(try counters(engine, [2]), [7, 7])
    }

    func testFullCommitQueueThrowsOverloaded() async throws {
        let options = RocksDBStorage.Options(commitQueueCapacity: 4)
        let engine = try openRocksDB(at: makeTemporaryDirectory() + "/db", options: options)
        engine.setCommitsPausedForTesting(true)
        let writers = (0..<4).map { index in
            Task { try await engine.write(WriteBatch([.put(key: [UInt8(index)], value: [1])])) }
        }
        try await waitUntilPending(engine, count: 4)

        // The fifth write must be refused at once, while the queue is still full. It runs in a
        // task so that a regression (the write queued and waiting) fails the test, not hangs it.
        let fifthFinished = Flag()
        let fifth = Task {
            defer { fifthFinished.set() }
            try await engine.write(WriteBatch([.put(key: [9], value: [9])]))
        }
        try await waitUntil("the fifth write is refused or queued") {
            fifthFinished.isSet || engine.pendingWriteCountForTesting > 4
        }
        engine.setCommitsPausedForTesting(false)
        try await assertThrows(.overloaded) { try await fifth.value }
        for writer in writers {
            try await writer.value
        }
        XCTAssertEqual(try scanAll(engine).map(\.key), [[0], [1], [2], [3]], "the refused batch was not written")
        try await put(engine, [9], [9])  // room again once the queue drains
        XCTAssertEqual(try engine.get([9]), [9])
    }

    func testCloseCommitsQueuedWritesFirst() async throws {
        let path = try makeTemporaryDirectory() + "/db"
        let engine = try openRocksDB(at: path)
        engine.setCommitsPausedForTesting(true)
        let writers = (0..<3).map { index in
            Task { try await engine.write(WriteBatch([.put(key: [UInt8(index)], value: [2])])) }
        }
        try await waitUntilPending(engine, count: 3)

        engine.close()  // overrides the pause: drains, then closes
        for writer in writers {
            try await writer.value
        }
        let reopened = try openRocksDB(at: path)
        XCTAssertEqual(try scanAll(reopened).map(\.key), [[0], [1], [2]])
    }

    func testEveryCompressionSettingRoundTrips() async throws {
        for compression in [RocksDBStorage.Compression.none, .snappy, .lz4] {
            let path = try makeTemporaryDirectory() + "/db"
            let options = RocksDBStorage.Options(sync: false, compression: compression)
            let engine = try openRocksDB(at: path, options: options)
            try await putAll(engine, Self.scanKeys)
            engine.close()

            let reopened = try openRocksDB(at: path, options: options)
            XCTAssertEqual(try scanAll(reopened), Self.scanKeys.map(valued), "\(compression)")
            reopened.close()
        }
    }

    private func waitUntilPending(_ engine: RocksDBStorage, count: Int, line: UInt = #line) async throws {
        try await waitUntil("\(count) writes are queued", line: line) {
            engine.pendingWriteCountForTesting >= count
        }
    }

    private func waitUntil(_ what: String, line: UInt = #line, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                XCTFail("timed out waiting until \(what)", line: line)
                return
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// A flag one task sets and another polls.
private final class Flag: Sendable {
    private let value = Mutex(false)

    func set() { value.withLock { $0 = true } }

    var isSet: Bool { value.withLock { $0 } }
}
