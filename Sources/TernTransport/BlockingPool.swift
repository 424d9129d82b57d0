import Foundation
import TernStorage

/// A fixed set of threads for work that blocks: storage reads that may touch disk (uncached
/// GetItem, Query, Scan, BatchGetItem, the reads of writes), so that neither NIO's event loops nor
/// Swift's cooperative pool (two threads on a two-core machine) ever wait for a disk.
///
/// The queue is bounded: when `queueCapacity` jobs already wait, `run` fails at once with
/// `StorageError.overloaded` (a ThrottlingException upstream) instead of queueing without limit.
public final class BlockingPool: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var threads: Int
        public var queueCapacity: Int

        public init(threads: Int = 8, queueCapacity: Int = 1024) {
            self.threads = threads
            self.queueCapacity = queueCapacity
        }
    }

    private typealias Job = @Sendable () -> Void

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var isStopping = false
    private var running = 0

    public let settings: Settings

    public init(settings: Settings = Settings(), name: String = "tern-blocking") {
        precondition(settings.threads >= 1 && settings.queueCapacity >= 1, "blocking pool needs a thread and a queue: \(settings)")
        self.settings = settings
        for index in 0..<settings.threads {
            // Named from inside: a name set before `start()` never reaches the OS thread on Linux
            // (`top -H` and perf showed the creator's name). Linux keeps 15 bytes of it.
            let threadName = "\(name)-\(index)"
            let thread = Thread { [self] in
                Thread.current.name = threadName
                runLoop()
            }
            condition.lock()
            running += 1
            condition.unlock()
            thread.start()
        }
    }

    /// Runs `body` on a pool thread and returns its result.
    public nonisolated(nonsending) func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job: Job = { continuation.resume(with: Result { try body() }) }
            condition.lock()
            defer { condition.unlock() }
            if isStopping {
                continuation.resume(throwing: StorageError.closed)
            } else if jobs.count - head >= settings.queueCapacity {
                continuation.resume(throwing: StorageError.overloaded)
            } else {
                jobs.append(job)
                condition.signal()
            }
        }
    }

    /// Jobs waiting for a thread (for tests and metrics).
    public var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// Refuses new jobs, finishes the queued ones, and returns when every thread has exited.
    public func shutdown() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func runLoop() {
        while let job = next() { job() }
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == jobs.count {
            if isStopping { return nil }
            condition.wait()
        }
        let job = jobs[head]
        head += 1
        // Compact once the consumed prefix dominates, so the array never grows without bound.
        if head >= 64, head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
