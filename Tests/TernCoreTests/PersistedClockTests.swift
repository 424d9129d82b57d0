import XCTest
@testable import TernCore

final class PersistedClockTests: XCTestCase {
    let window = PersistedClock.defaultWindowMillis

    func testFreshClockWritesACeilingWithItsFirstTimestampUntilItIsDurable() {
        var clock = PersistedClock(recoveredCeiling: nil)
        let first = clock.tick(physicalMillis: 1_000)
        XCTAssertEqual(first.timestamp, 1_000 << 16)
        XCTAssertEqual(first.newCeiling, (1_000 + window) << 16, "a window past the current time")
        // Not yet durable: every later stamp above the durable ceiling carries the same ceiling.
        let second = clock.tick(physicalMillis: 1_001)
        XCTAssertEqual(second.timestamp, 1_001 << 16)
        XCTAssertEqual(second.newCeiling, first.newCeiling)
        clock.ceilingIsDurable(first.newCeiling!)
        XCTAssertNil(clock.pendingCeiling)
        XCTAssertEqual(clock.durableCeiling, (1_000 + window) << 16)
        let third = clock.tick(physicalMillis: 5_000)
        XCTAssertEqual(third.timestamp, 5_000 << 16)
        XCTAssertNil(third.newCeiling, "covered by the durable ceiling")
        // Past the window, a higher ceiling.
        let late = clock.tick(physicalMillis: 1_000 + window + 1)
        XCTAssertEqual(late.newCeiling, (1_000 + 2 * window + 1) << 16)
        XCTAssertGreaterThanOrEqual(late.newCeiling!, late.timestamp)
    }

    func testRestartWithWallClockSteppedBackStaysAboveEveryEarlierTimestamp() {
        var before = PersistedClock(recoveredCeiling: nil)
        var issued: [UInt64] = []
        var stored: UInt64 = 0
        for millis in stride(from: UInt64(1_700_000_000_000), to: 1_700_000_030_000, by: 700) {
            let stamp = before.tick(physicalMillis: millis)
            issued.append(stamp.timestamp)
            if let ceiling = stamp.newCeiling {
                stored = max(stored, ceiling)
                before.ceilingIsDurable(ceiling)
            }
        }
        // Crash; the wall clock is now an hour behind.
        var after = PersistedClock(recoveredCeiling: stored)
        let stamp = after.tick(physicalMillis: 1_700_000_000_000 - 3_600_000)
        XCTAssertGreaterThan(stamp.timestamp, issued.max()!)
        XCTAssertEqual(stamp.timestamp, stored + 1, "starts just above the recovered ceiling")
        XCTAssertEqual(after.durableCeiling, stored)
        XCTAssertNotNil(stamp.newCeiling, "the recovered ceiling is used up at once")
        XCTAssertGreaterThanOrEqual(stamp.newCeiling!, stamp.timestamp)
        // And without the ceiling, today's behaviour: the clock would go back with the wall clock.
        var unpersisted = HybridLogicalClock()
        XCTAssertLessThan(unpersisted.tick(physicalMillis: 1_700_000_000_000 - 3_600_000), issued.max()!)
    }

    func testObservingARemoteTimestampAheadMovesTheCeiling() {
        var clock = PersistedClock(recoveredCeiling: nil)
        let local = clock.tick(physicalMillis: 1_000)
        clock.ceilingIsDurable(local.newCeiling!)
        let remote: UInt64 = (1_000_000 << 16) + 5
        let observed = clock.observe(remote, physicalMillis: 1_001)
        XCTAssertEqual(observed.timestamp, remote + 1)
        XCTAssertEqual(observed.newCeiling, (1_000_000 + window) << 16)
        // A remote timestamp inside the durable ceiling needs nothing written.
        var other = PersistedClock(recoveredCeiling: nil)
        other.ceilingIsDurable(other.tick(physicalMillis: 1_000).newCeiling!)
        XCTAssertNil(other.observe(2_000 << 16, physicalMillis: 1_000).newCeiling)
    }

    func testTickAfterAPredecessorIsAboveIt() {
        var clock = PersistedClock(recoveredCeiling: nil)
        _ = clock.tick(physicalMillis: 1_000)
        // A stored version from a peer (or from before ceilings) stamped in the future.
        let predecessor: UInt64 = 9_000 << 16
        let stamp = clock.tick(physicalMillis: 1_001, after: predecessor)
        XCTAssertEqual(stamp.timestamp, predecessor + 1)
        XCTAssertGreaterThanOrEqual(stamp.newCeiling ?? 0, stamp.timestamp)
        // An older predecessor changes nothing but the usual advance.
        let next = clock.tick(physicalMillis: 1_001, after: 5)
        XCTAssertEqual(next.timestamp, predecessor + 2)
    }

    func testVersionReplacingOldIsStampedAboveItAndDescendsFromIt() {
        var clock = PersistedClock(recoveredCeiling: nil)
        let first = clock.version(replacing: nil, item: AttributeMap(), node: "n1", physicalMillis: 1_000)
        XCTAssertEqual(first.value, StoredValue(item: AttributeMap(), timestamp: 1_000 << 16, clock: VectorClock(["n1": 1_000 << 16]), writer: "n1"))
        XCTAssertEqual(first.newCeiling, (1_000 + window) << 16)
        // The stored version came from a node whose clock runs 5 s ahead.
        let remote = StoredValue(item: nil, timestamp: 6_000 << 16, clock: VectorClock(["n2": 6_000 << 16]), writer: "n2")
        let next = clock.version(replacing: remote, item: nil, node: "n1", physicalMillis: 1_001)
        XCTAssertGreaterThan(next.value.timestamp, remote.timestamp)
        XCTAssertEqual(next.value.clock.compare(remote.clock), .after)
        XCTAssertEqual(next.newCeiling, first.newCeiling, "still pending, and it covers the new timestamp")
    }

    func testCeilingKeysAreSystemKeysThatSortByCeiling() {
        XCTAssertEqual(PersistedClock.ceilingKeyPrefix, [0, 0, 0, 0] + Array("meta/hlc-ceiling/".utf8))
        XCTAssertEqual(PersistedClock.ceilingKey(0x0102_0304_0506_0708), PersistedClock.ceilingKeyPrefix + [1, 2, 3, 4, 5, 6, 7, 8])
        var rng = SplitMix64(seed: 0xCE11)
        for _ in 0..<500 {
            let a = rng.next() >> rng.below(64)
            let b = rng.next() >> rng.below(64)
            XCTAssertEqual(PersistedClock.ceiling(fromKey: PersistedClock.ceilingKey(a)), a)
            XCTAssertEqual(PersistedClock.ceilingKey(a).lexicographicallyPrecedes(PersistedClock.ceilingKey(b)), a < b)
        }
        XCTAssertNil(PersistedClock.ceiling(fromKey: PersistedClock.ceilingKeyPrefix))
        XCTAssertNil(PersistedClock.ceiling(fromKey: PersistedClock.ceilingKey(7) + [0]))
        XCTAssertNil(PersistedClock.ceiling(fromKey: [0, 0, 0, 0] + Array("meta/next-table-id".utf8)))
        XCTAssertFalse(PersistedClock.ceilingKey(.max).starts(with: [0, 0, 0, 0] + Array("meta/next-table-id".utf8)))
    }

    func testCeilingWriteDeletesOnlyCeilingsBelowTheDurableOne() {
        var clock = PersistedClock(recoveredCeiling: 77 << 16)
        let stamp = clock.tick(physicalMillis: 1_000)
        let write = clock.ceilingWrite(for: stamp.newCeiling!)
        XCTAssertEqual(write.key, PersistedClock.ceilingKey((1_000 + window) << 16))
        XCTAssertEqual(write.obsoleteStart, PersistedClock.ceilingKeyPrefix)
        XCTAssertEqual(write.obsoleteEnd, PersistedClock.ceilingKey(77 << 16), "the durable ceiling itself stays")
    }

    /// Two batches raise the ceiling to P1 and then P2; the second commits first. With one
    /// overwritten key the store would end at P1, below a durable timestamp; with one key per
    /// ceiling the greatest key survives.
    func testBatchesCommittingOutOfOrderNeverLowerTheRecoveredCeiling() {
        var store = SimulatedStore()
        var clock = PersistedClock(recoveredCeiling: nil)
        let x = clock.tick(physicalMillis: 1_000)
        let xWrite = clock.ceilingWrite(for: x.newCeiling!)
        let y = clock.tick(physicalMillis: 1_000 + window + 5)  // a stall: X is still in flight
        XCTAssertGreaterThan(y.newCeiling!, x.newCeiling!)
        XCTAssertGreaterThan(y.timestamp, x.newCeiling!)
        let yWrite = clock.ceilingWrite(for: y.newCeiling!)
        store.apply(yWrite)
        clock.ceilingIsDurable(y.newCeiling!)
        store.apply(xWrite)
        clock.ceilingIsDurable(x.newCeiling!)
        XCTAssertEqual(clock.durableCeiling, y.newCeiling)
        XCTAssertEqual(store.recoveredCeiling, y.newCeiling)
        var restarted = PersistedClock(recoveredCeiling: store.recoveredCeiling)
        XCTAssertGreaterThan(restarted.tick(physicalMillis: 0).timestamp, y.timestamp)
        // The next raise clears the stale key X re-created.
        let z = clock.tick(physicalMillis: 1_000 + 3 * window)
        store.apply(clock.ceilingWrite(for: z.newCeiling!))
        XCTAssertEqual(store.ceilings, [y.newCeiling!, z.newCeiling!])
    }

    /// Seeded runs of ticks, remote observations, batches committing in any order or failing,
    /// and crashes after which the wall clock may have stepped back: every timestamp a restarted
    /// node issues is above every timestamp that was durable before, and ceiling keys stay few.
    func testRandomCrashesReordersAndClockStepsNeverReissueATimestamp() {
        var rng = SplitMix64(seed: 0x5EED_C10C)
        for run in 0..<200 {
            var store = SimulatedStore()
            var clock = PersistedClock(recoveredCeiling: nil, windowMillis: UInt64(rng.int(1...50)))
            var physical: UInt64 = 1_000_000
            var inFlight: [(timestamp: UInt64, ceiling: UInt64?, write: PersistedClock.CeilingWrite?)] = []
            var durableMax: UInt64 = 0
            var issuedMax: UInt64 = 0
            let inFlightMax = 8
            for step in 0..<400 {
                physical = UInt64(max(0, Int64(physical) + Int64(rng.int(-30...40))))
                // A commit queue is bounded: at most `inFlightMax` batches wait at once.
                switch inFlight.count >= inFlightMax ? 5 : rng.below(10) {
                case 0...3:
                    let stamp = rng.oneIn(4) ? clock.tick(physicalMillis: physical, after: durableMax) : clock.tick(physicalMillis: physical)
                    XCTAssertGreaterThan(stamp.timestamp, issuedMax, "run \(run) step \(step): monotonic")
                    issuedMax = stamp.timestamp
                    if let ceiling = stamp.newCeiling { XCTAssertGreaterThanOrEqual(ceiling, stamp.timestamp) }
                    inFlight.append((stamp.timestamp, stamp.newCeiling, stamp.newCeiling.map { clock.ceilingWrite(for: $0) }))
                case 4:
                    let remote = (UInt64(max(0, Int64(physical) + Int64(rng.int(-500...500)))) << 16) + UInt64(rng.below(9))
                    let stamp = clock.observe(remote, physicalMillis: physical)
                    XCTAssertGreaterThan(stamp.timestamp, max(issuedMax, remote))
                    issuedMax = stamp.timestamp
                    // The replica stores the peer's version, stamped `remote`, with the ceiling.
                    inFlight.append((remote, stamp.newCeiling, stamp.newCeiling.map { clock.ceilingWrite(for: $0) }))
                case 5...7 where !inFlight.isEmpty:
                    let batch = inFlight.remove(at: rng.below(inFlight.count))
                    if let write = batch.write { store.apply(write) }
                    durableMax = max(durableMax, batch.timestamp)
                    if let ceiling = batch.ceiling { clock.ceilingIsDurable(ceiling) }
                case 8 where !inFlight.isEmpty:
                    inFlight.remove(at: rng.below(inFlight.count))  // the write failed
                default:
                    // Crash: in-flight batches are lost; the wall clock may have stepped back.
                    inFlight.removeAll()
                    XCTAssertGreaterThanOrEqual(store.recoveredCeiling ?? 0, durableMax, "run \(run) step \(step)")
                    clock = PersistedClock(recoveredCeiling: store.recoveredCeiling, windowMillis: clock.windowMillis)
                    physical = UInt64(max(0, Int64(physical) - Int64(rng.int(0...100_000))))
                    let stamp = clock.tick(physicalMillis: physical)
                    XCTAssertGreaterThan(stamp.timestamp, durableMax, "run \(run) step \(step): reissued a durable timestamp")
                    issuedMax = stamp.timestamp
                    inFlight.append((stamp.timestamp, stamp.newCeiling, stamp.newCeiling.map { clock.ceilingWrite(for: $0) }))
                }
                // Late commits may re-create ceilings below the durable one; the next raise removes
                // them, so their number is bounded by the batches in flight.
                XCTAssertLessThanOrEqual(store.ceilings.count, 2 * inFlightMax + 2, "run \(run) step \(step): ceiling keys pile up")
            }
        }
    }

    func testCeilingSaturatesInsteadOfOverflowing() {
        XCTAssertEqual(PersistedClock.ceiling(covering: .max, physicalMillis: 0, windowMillis: 10), .max)
        XCTAssertEqual(PersistedClock.ceiling(covering: 0, physicalMillis: UInt64.max, windowMillis: 10), .max)
        XCTAssertEqual(PersistedClock.ceiling(covering: ((1 << 48) - 11) << 16, physicalMillis: 0, windowMillis: 10), ((1 << 48) - 1) << 16)
        XCTAssertEqual(PersistedClock.ceiling(covering: ((1 << 48) - 10) << 16, physicalMillis: 0, windowMillis: 10), .max)
        var clock = PersistedClock(recoveredCeiling: .max - 1)
        let stamp = clock.tick(physicalMillis: 5)
        XCTAssertEqual(stamp.timestamp, .max)
        XCTAssertEqual(stamp.newCeiling, .max)
    }
}

/// The ceiling keys of a store, with RocksDB's put and range-delete semantics.
struct SimulatedStore {
    var ceilings: [UInt64] = []  // ascending

    mutating func apply(_ write: PersistedClock.CeilingWrite) {
        let key = write.key
        ceilings = ceilings.filter { ceiling in
            let existing = PersistedClock.ceilingKey(ceiling)
            let deleted = !existing.lexicographicallyPrecedes(write.obsoleteStart) && existing.lexicographicallyPrecedes(write.obsoleteEnd)
            return !deleted && existing != key
        }
        ceilings.append(PersistedClock.ceiling(fromKey: key)!)
        ceilings.sort()
    }

    /// What a reverse scan of the prefix with limit 1 finds.
    var recoveredCeiling: UInt64? { ceilings.last }
}
