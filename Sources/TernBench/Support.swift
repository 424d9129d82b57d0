#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Monotonic time in nanoseconds; immune to wall-clock adjustments during a run.
enum MonotonicClock {
    static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Blocks the calling thread until `deadline` (monotonic ns); returns at once if past.
    static func sleep(until deadline: UInt64) {
        let now = nanos()
        guard deadline > now else { return }
        sleep(nanos: deadline - now)
    }

    static func sleep(nanos: UInt64) {
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        // nanosleep returns early on signals; continue with what is left.
        while nanosleep(&request, &remaining) != 0 && errno == EINTR {
            request = remaining
        }
    }
}

/// State shared between the calling thread and worker threads of one phase. Workers never
/// call the caller's (non-Sendable) `log` closure; they park the first error here and
/// the calling thread logs it while it waits.
final class PhaseShared: Sendable {
    private let firstError = Mutex<(message: String?, logged: Bool)>((nil, false))
    /// Progress counter (e.g. items pre-loaded), read by the waiting thread.
    let completed = Atomic<Int>(0)

    func offerError(_ message: String) {
        firstError.withLock { slot in
            if slot.message == nil { slot.message = message }
        }
    }

    /// The first error, returned exactly once.
    func takeUnloggedError() -> String? {
        firstError.withLock { slot in
            guard let message = slot.message, !slot.logged else { return nil }
            slot.logged = true
            return message
        }
    }

    var firstErrorMessage: String? { firstError.withLock { $0.message } }
}

/// One result slot per thread, so threads never write to a shared collection.
/// `@unchecked` is sound because exactly one thread writes and the reader only reads
/// after `DispatchGroup.wait`, which orders the write before the read.
private final class ResultSlot<Value>: @unchecked Sendable {
    var value: Value?
}

/// Runs `body(i)` for `i in 0..<count`, each on its own OS thread (never a shared event
/// loop or the cooperative pool, whose threads blocking I/O would starve). While waiting,
/// calls `poll` on the calling thread every `pollInterval` seconds.
func runOnThreads<Value>(
    count: Int,
    pollInterval: Double = 0.1,
    poll: () -> Void,
    body: @escaping @Sendable (Int) -> Value
) -> [Value] {
    let group = DispatchGroup()
    let slots = (0..<count).map { _ in ResultSlot<Value>() }
    for index in 0..<count {
        let slot = slots[index]
        group.enter()
        let thread = Thread {
            slot.value = body(index)
            group.leave()
        }
        thread.name = "tern-bench-\(index)"
        thread.start()
    }
    // Every worker loop is bounded by a deadline and socket timeouts, so this ends.
    while group.wait(timeout: .now() + pollInterval) == .timedOut {
        poll()
    }
    poll()
    return slots.map { $0.value! }
}
