import Synchronization
import TernCore

/// An async mutual exclusion for rare, slow changes (the catalog): one holder at a time, waiters
/// in FIFO order, at most `waitersMax` of them (more are refused with LimitExceededException).
final class SerialGate: Sendable {
    struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let state = Mutex(State())
    let waitersMax: Int

    init(waitersMax: Int = 1024) {
        self.waitersMax = waitersMax
    }

    func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async throws {
        let refused = state.withLock { state -> Bool? in
            if !state.busy {
                state.busy = true
                return nil
            }
            return state.waiters.count >= waitersMax
        }
        switch refused {
        case nil: return
        case true?: throw DynamoDBError.limitExceeded("Too many table operations are in progress; retry with backoff")
        case false?: break
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                // The holder may have released between the first look and now.
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            precondition(state.busy, "releasing a gate that is not held")
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            // The gate passes directly to the first waiter; it stays busy.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
