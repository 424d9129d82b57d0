import Foundation
import TernStorage
import XCTest

@testable import TernTransport

final class BlockingPoolTests: XCTestCase {
    func testRunsJobsOnPoolThreadsAndReturnsTheirResults() async throws {
        let pool = BlockingPool(settings: .init(threads: 2, queueCapacity: 16))
        defer { pool.shutdown() }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<10 { group.addTask { try await pool.run { i * i } } }
            var all: [Int] = []
            for try await value in group { all.append(value) }
            return all.sorted()
        }
        XCTAssertEqual(results, (0..<10).map { $0 * $0 })
    }

    func testFullQueueRefusesAtOnceWithOverloaded() async throws {
        let pool = BlockingPool(settings: .init(threads: 1, queueCapacity: 2))
        let gate = Gate()
        let started = Gate()
        // One job runs (and blocks), two fill the queue.
        async let first: Void = pool.run {
            started.open()
            gate.wait()
        }
        await Task.detached { started.wait() }.value
        async let second: Void = pool.run { gate.wait() }
        async let third: Void = pool.run { gate.wait() }
        while pool.queuedCount < 2 { await Task.yield() }
        do {
            try await pool.run { }
            XCTFail("a full queue must refuse")
        } catch let error as StorageError {
            XCTAssertTrue(error.isOverloaded)
        }
        gate.open()
        _ = try await (first, second, third)
        pool.shutdown()
    }
}

/// A one-shot gate that blocks pool threads until the test opens it.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }
}
