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

/// SplitMix64: tiny, fast, and deterministic for a given seed, so runs are reproducible
/// per thread index (Swift's `Hasher` and `SystemRandomNumberGenerator` are not).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound`; the modulo bias is negligible for bounds far below 2^64.
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
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
