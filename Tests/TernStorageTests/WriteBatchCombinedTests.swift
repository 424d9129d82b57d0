import TernCore
import TernStorage
import XCTest

final class WriteBatchCombinedTests: XCTestCase {
    func testAddsToOneKeyAcrossBatchesBecomeOneAdd() {
        let combined = WriteBatch.combined([
            WriteBatch([.addCounters(key: [1], deltas: [1, 100]), .put(key: [2], value: [2])]),
            WriteBatch([.addCounters(key: [1], deltas: [1, -30]), .addCounters(key: [3], deltas: [5])]),
            WriteBatch([.addCounters(key: [1], deltas: [1])]),
        ])
        XCTAssertEqual(combined.operations, [
            .addCounters(key: [1], deltas: [3, 70]),
            .put(key: [2], value: [2]),
            .addCounters(key: [3], deltas: [5]),
        ])
    }

    func testOperationsTouchingTheKeyEndTheRun() {
        let combined = WriteBatch.combined([
            WriteBatch([.addCounters(key: [1], deltas: [1]), .put(key: [1], value: [])]),
            WriteBatch([.addCounters(key: [1], deltas: [2]), .delete(key: [1]), .addCounters(key: [1], deltas: [3])]),
            WriteBatch([.deleteRange(start: [0], end: [1, 0]), .addCounters(key: [1], deltas: [4])]),
            WriteBatch([.deleteRange(start: [2], end: [3]), .deleteRange(start: [1], end: [0]), .addCounters(key: [1], deltas: [5])]),
        ])
        XCTAssertEqual(combined.operations, [
            .addCounters(key: [1], deltas: [1]),
            .put(key: [1], value: []),
            .addCounters(key: [1], deltas: [2]),
            .delete(key: [1]),
            .addCounters(key: [1], deltas: [3]),
            .deleteRange(start: [0], end: [1, 0]),
            .addCounters(key: [1], deltas: [9]),  // ranges not covering the key leave the run open
            .deleteRange(start: [2], end: [3]),
            .deleteRange(start: [1], end: [0]),
        ])
    }

    /// Seeded random groups over a few keys: applying the combined batch leaves exactly what
    /// applying the batches one by one leaves.
    func testCombinedBatchHasTheSameEffectAsTheBatchesInOrder() async throws {
        var random = SplitMix64(seed: 0x5EED_C0DE)
        for round in 0..<200 {
            let batches = (0..<(1 + random.next(below: 6))).map { _ in
                WriteBatch((0..<random.next(below: 6)).map { _ in Self.randomOperation(&random) })
            }
            let oneByOne = InMemoryStorage()
            for batch in batches {
                try await oneByOne.write(batch)
            }
            let combined = InMemoryStorage()
            try await combined.write(WriteBatch.combined(batches))
            XCTAssertEqual(try Self.everything(combined), try Self.everything(oneByOne), "round \(round): \(batches)")
        }
    }

    private static func randomOperation(_ random: inout SplitMix64) -> WriteOperation {
        let key: [UInt8] = [UInt8(random.next(below: 3))]
        switch random.next(below: 10) {
        case 0: return .put(key: key, value: CounterValue.encode([Int64(random.next(below: 100))]))
        case 1: return .delete(key: key)
        case 2: return .deleteRange(start: key, end: [UInt8(random.next(below: 4))])
        default:
            let deltas = (0..<random.next(below: 3)).map { _ in Int64(bitPattern: random.next()) }
            return .addCounters(key: key, deltas: deltas)
        }
    }

    private static func everything(_ engine: InMemoryStorage) throws -> [KeyValue] {
        try engine.scan(start: [], end: [0xFF], reverse: false, limit: .max)
    }
}
