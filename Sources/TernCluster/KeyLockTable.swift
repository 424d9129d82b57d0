import Synchronization

/// Per-key mutual exclusion for read-modify-write operations (conditional writes, UpdateItem).
///
/// DynamoDB makes every single-item write atomic against every other writer of that item
/// (DESIGN.md §5). On one node this table serialises the writers of one key; the cluster layer
/// replaces it with a per-key Paxos round among the replicas. Locks are per exact key, not per
/// stripe, so unrelated keys never wait for each other's fsync. The table holds an entry only
/// while a key is locked, so its size is bounded by the requests in flight.
public final class KeyLockTable: Sendable {
    struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let entries = Mutex<[[UInt8]: Entry]>([:])

    public init() {}

    /// Runs `body` while holding the lock of `key`. Waiters are served first come, first served.
    public func withLock<T: Sendable>(_ key: [UInt8], _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        do {
            let result = try await body()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }

    func acquire(_ key: [UInt8]) async {
        let acquired = entries.withLock { table -> Bool in
            if table[key] == nil {
                table[key] = Entry()
                return true
            }
            return false
        }
        if acquired { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let handedOver = entries.withLock { table -> Bool in
                // The holder may have released between our first look and now.
                if table[key] == nil {
                    table[key] = Entry()
                    return true
                }
                table[key]!.waiters.append(continuation)
                return false
            }
            if handedOver { continuation.resume() }
        }
    }

    func release(_ key: [UInt8]) {
        let next = entries.withLock { table -> CheckedContinuation<Void, Never>? in
            guard var entry = table[key] else {
                preconditionFailure("releasing a key lock that is not held")
            }
            if entry.waiters.isEmpty {
                table[key] = nil
                return nil
            }
            // Ownership passes directly to the first waiter; the entry stays.
            let first = entry.waiters.removeFirst()
            table[key] = entry
            return first
        }
        next?.resume()
    }

    /// Keys currently locked (for tests and metrics).
    public var lockedKeyCount: Int { entries.withLock { $0.count } }
}
