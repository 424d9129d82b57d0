import Foundation
import TernStorage

/// Group commit: a bounded queue of write batches drained by one dedicated commit thread.
///
/// Why: a durable write costs an fsync of the write-ahead log, a few milliseconds on real
/// disks. Committing each request on its own would cap durable throughput at one request per
/// fsync. Here every caller enqueues its batch and suspends; the commit thread takes *everything*
/// queued so far, writes it as one RocksDB write batch with one fsync, and then resumes all those
/// callers. While that fsync runs, the next callers pile up and share the next one, so the
/// throughput grows with concurrency instead of being pinned to the fsync rate. Each caller's
/// batch is still atomic: it sits whole inside one RocksDB write batch.
///
/// The queue is bounded so that a disk that cannot keep up turns into fast `.overloaded`
/// errors (a ThrottlingException upstream) instead of unbounded memory and latency.
///
/// The commit thread is a plain `Thread`, not a Swift task, because it blocks: in fsync, and
/// while waiting for work. Blocking a cooperative-pool thread would starve the async code.
final class GroupCommitQueue: @unchecked Sendable {
    /// Runs one group: writes all the batches atomically and durably, or throws.
    typealias Commit = @Sendable ([WriteBatch]) throws -> Void

    struct Statistics: Sendable, Equatable {
        /// Calls to `commit`: combined writes (one fsync each when syncing).
        var groupCommits = 0
        /// Caller batches committed by them.
        var batches = 0
    }

    private struct Pending {
        var batch: WriteBatch
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let capacity: Int
    private let commit: Commit

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var isStopping = false
    private var isFinished = false
    private var isPaused = false
    private var statistics = Statistics()

    init(capacity: Int, commit: @escaping Commit) {
        self.capacity = capacity
        self.commit = commit
        // The thread holds the queue, not the storage engine, so the engine can still be
        // deinitialised (and close the queue) while the thread is alive.
        // Named from inside the thread (a name set before `start()` never reaches the OS thread
        // on Linux), in the 15 bytes Linux keeps.
        let thread = Thread { [self] in
            Thread.current.name = "tern-commit"
            runCommitLoop()
        }
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Enqueues `batch` and returns once it is committed. Throws `.overloaded` at once when
    /// `capacity` batches are already waiting, `.closed` after `shutdown()`, or the commit's error.
    nonisolated(nonsending) func submit(_ batch: WriteBatch) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            if isStopping {
                continuation.resume(throwing: StorageError.closed)
            } else if batch.isEmpty {
                continuation.resume()  // nothing to make durable: skip the fsync
            } else if pending.count >= capacity {
                continuation.resume(throwing: StorageError.overloaded)
            } else {
                pending.append(Pending(batch: batch, continuation: continuation))
                condition.broadcast()
            }
        }
    }

    /// Refuses new batches, lets the commit thread commit everything already queued, and returns
    /// once it has exited. Idempotent.
    func shutdown() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !isFinished {
            condition.wait()
        }
        condition.unlock()
    }

    var currentStatistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return statistics
    }

    // MARK: - Test hooks

    /// While paused, batches accumulate without being committed (so a test can fill the queue
    /// or check that one group takes them all). `shutdown()` overrides a pause.
    func setPaused(_ paused: Bool) {
        condition.lock()
        isPaused = paused
        condition.broadcast()
        condition.unlock()
    }

    var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    // MARK: - The commit thread

    private func runCommitLoop() {
        while let group = nextGroup() {
            let result = Result { try commitAndRecord(group.map(\.batch)) }
            for entry in group {
                entry.continuation.resume(with: result)
            }
        }
        condition.lock()
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for work and takes all of it; nil once stopping and nothing is left.
    private func nextGroup() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty || (isPaused && !isStopping) {
            if isStopping && pending.isEmpty { return nil }
            condition.wait()
        }
        let group = pending
        pending = []
        return group
    }

    private func commitAndRecord(_ batches: [WriteBatch]) throws {
        defer {
            condition.lock()
            statistics.groupCommits += 1
            statistics.batches += batches.count
            condition.unlock()
        }
        try commit(batches)
    }
}
