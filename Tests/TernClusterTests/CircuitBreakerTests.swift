import TernCore
import XCTest

@testable import TernCluster

/// The circuit breaker as events in, state out, with a manual clock (milliseconds).
final class CircuitBreakerTests: XCTestCase {
    let settings = CircuitBreaker.Settings(failureThreshold: 3, coolDownMillis: 1_000, coolDownMaxMillis: 4_000, halfOpenProbesMax: 2)

    /// A breaker opened at `at` by `threshold` failures.
    func opened(at: UInt64 = 0) -> CircuitBreaker {
        var breaker = CircuitBreaker(settings: settings)
        for _ in 0..<settings.failureThreshold {
            XCTAssertTrue(breaker.allow(nowMillis: at))
            breaker.record(.failure, nowMillis: at)
        }
        XCTAssertEqual(breaker.state, .open(untilMillis: at + 1_000))
        return breaker
    }

    func testOpensAfterThresholdConsecutiveFailures() {
        var breaker = CircuitBreaker(settings: settings)
        breaker.record(.failure, nowMillis: 10)
        breaker.record(.failure, nowMillis: 20)
        XCTAssertEqual(breaker.state, .closed(consecutiveFailures: 2))
        breaker.record(.failure, nowMillis: 30)
        XCTAssertEqual(breaker.state, .open(untilMillis: 1_030))
    }

    func testSuccessResetsTheConsecutiveCount() {
        var breaker = CircuitBreaker(settings: settings)
        breaker.record(.failure, nowMillis: 0)
        breaker.record(.failure, nowMillis: 0)
        breaker.record(.success, nowMillis: 0)
        breaker.record(.failure, nowMillis: 0)
        breaker.record(.failure, nowMillis: 0)
        XCTAssertEqual(breaker.state, .closed(consecutiveFailures: 2), "failures that are not consecutive do not open it")
    }

    func testOpenRefusesAtOnceUntilTheCoolDownEnds() {
        var breaker = opened()
        XCTAssertFalse(breaker.allow(nowMillis: 1))
        XCTAssertFalse(breaker.allow(nowMillis: 999))
        XCTAssertFalse(breaker.wouldAllow(nowMillis: 999))
        XCTAssertTrue(breaker.wouldAllow(nowMillis: 1_000))
        XCTAssertEqual(breaker.state, .open(untilMillis: 1_000), "asking does not change the state")
    }

    func testHalfOpenLetsABoundedNumberOfProbesThrough() {
        var breaker = opened()
        XCTAssertTrue(breaker.allow(nowMillis: 1_000))
        XCTAssertEqual(breaker.state, .halfOpen(probesInFlight: 1))
        XCTAssertTrue(breaker.allow(nowMillis: 1_001))
        XCTAssertEqual(breaker.state, .halfOpen(probesInFlight: 2))
        XCTAssertFalse(breaker.allow(nowMillis: 1_002), "a third probe while two are out is refused")
        XCTAssertFalse(breaker.wouldAllow(nowMillis: 1_002))
    }

    func testSuccessfulProbeClosesTheBreaker() {
        var breaker = opened()
        XCTAssertTrue(breaker.allow(nowMillis: 1_000))
        breaker.record(.success, nowMillis: 1_050)
        XCTAssertEqual(breaker.state, .closed(consecutiveFailures: 0))
        XCTAssertTrue(breaker.allow(nowMillis: 1_051))
    }

    func testFailedProbesReopenWithADoublingCoolDownUpToTheCap() {
        var breaker = opened()
        var now: UInt64 = 1_000
        for expected: UInt64 in [2_000, 4_000, 4_000] {
            XCTAssertTrue(breaker.allow(nowMillis: now))
            breaker.record(.failure, nowMillis: now)
            XCTAssertEqual(breaker.state, .open(untilMillis: now + expected))
            XCTAssertEqual(breaker.coolDownMillis, expected)
            XCTAssertFalse(breaker.allow(nowMillis: now + expected - 1))
            now += expected
        }
        XCTAssertTrue(breaker.allow(nowMillis: now))
        breaker.record(.success, nowMillis: now)
        XCTAssertEqual(breaker.coolDownMillis, 1_000, "closing resets the cool-down")
        for _ in 0..<3 { breaker.record(.failure, nowMillis: now) }
        XCTAssertEqual(breaker.state, .open(untilMillis: now + 1_000))
    }

    func testLateFailureWhileOpenDoesNotExtendTheCoolDown() {
        var breaker = opened()
        breaker.record(.failure, nowMillis: 500)
        XCTAssertEqual(breaker.state, .open(untilMillis: 1_000))
    }

    func testSuccessWhileOpenClosesIt() {
        var breaker = opened()
        breaker.record(.success, nowMillis: 10)
        XCTAssertEqual(breaker.state, .closed(consecutiveFailures: 0))
    }

    func testSettingsValidate() {
        XCTAssertNoThrow(try CircuitBreaker.Settings().validate())
        XCTAssertThrowsError(try CircuitBreaker.Settings(failureThreshold: 0).validate())
        XCTAssertThrowsError(try CircuitBreaker.Settings(coolDownMillis: 10, coolDownMaxMillis: 5).validate())
        XCTAssertThrowsError(try CircuitBreaker.Settings(halfOpenProbesMax: 0).validate())
    }

    func testCoolDownDoublingSaturatesAtAHugeCap() {
        var breaker = CircuitBreaker(settings: .init(failureThreshold: 1, coolDownMillis: UInt64.max / 2 + 1, coolDownMaxMillis: UInt64.max))
        breaker.record(.failure, nowMillis: 0)
        XCTAssertTrue(breaker.allow(nowMillis: UInt64.max))
        breaker.record(.failure, nowMillis: 0)
        XCTAssertEqual(breaker.coolDownMillis, UInt64.max)
    }
}

final class ReconnectBackoffTests: XCTestCase {
    func testDelaysStayUnderACappedDoublingCeiling() {
        var backoff = ReconnectBackoff(settings: .init(baseMillis: 50, capMillis: 1_000), seed: 42)
        let ceilings: [UInt64] = [50, 100, 200, 400, 800, 1_000, 1_000, 1_000]
        for ceiling in ceilings {
            XCTAssertEqual(backoff.ceilingMillis, ceiling)
            XCTAssertLessThanOrEqual(backoff.nextDelayMillis(), ceiling)
        }
        XCTAssertEqual(backoff.attempts, ceilings.count)
        backoff.reset()
        XCTAssertEqual(backoff.ceilingMillis, 50)
    }

    func testSameSeedSameDelaysAndTheJitterSpreadsThem() {
        var a = ReconnectBackoff(settings: .init(baseMillis: 1_000, capMillis: 1_000), seed: 7)
        var b = ReconnectBackoff(settings: .init(baseMillis: 1_000, capMillis: 1_000), seed: 7)
        let delaysA = (0..<200).map { _ in a.nextDelayMillis() }
        XCTAssertEqual(delaysA, (0..<200).map { _ in b.nextDelayMillis() })
        // Full jitter: uniform over 0…1000, so both halves of the range are drawn.
        XCTAssertGreaterThan(delaysA.filter { $0 < 500 }.count, 50)
        XCTAssertGreaterThan(delaysA.filter { $0 >= 500 }.count, 50)
        var c = ReconnectBackoff(settings: .init(baseMillis: 1_000, capMillis: 1_000), seed: 8)
        XCTAssertNotEqual(delaysA, (0..<200).map { _ in c.nextDelayMillis() })
    }

    func testCeilingNeverOverflowsAfterManyAttempts() {
        var backoff = ReconnectBackoff(settings: .init(baseMillis: UInt64.max / 4, capMillis: UInt64.max), seed: 1)
        for _ in 0..<100 { _ = backoff.nextDelayMillis() }
        XCTAssertEqual(backoff.ceilingMillis, UInt64.max)
    }
}
