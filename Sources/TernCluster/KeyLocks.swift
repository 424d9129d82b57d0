import TernCore

/// Per-key mutual exclusion for the coordinator's writes, as plain state (no waiting inside:
/// the coordinator turns a grant into actions).
///
/// DynamoDB makes every single-item write atomic against every other writer of that item
/// (DESIGN.md §5). One holder per key; waiters are served first come, first served. Locks are
/// per exact key, not per stripe, so unrelated keys never wait for each other's fsync. Waiters
/// are bounded per key and in total (STYLE.md: bound everything); an entry exists only while a
/// key is held, so the table never holds more keys than operations in flight.
struct KeyLocks: Sendable {
    struct Queue: Sendable {
        var holder: OperationID
        /// FIFO; short (at most `perKeyMax`), so removal by search is fine.
        var waiters: [OperationID] = []
    }

    enum Acquisition: Sendable, Equatable {
        case granted
        case waiting
        case refused
    }

    private(set) var queues: [ByteKey: Queue] = [:]
    private(set) var waiterCount = 0

    var lockedKeyCount: Int { queues.count }

    mutating func acquire(_ key: [UInt8], by id: OperationID, perKeyMax: Int, totalMax: Int) -> Acquisition {
        let key = ByteKey(key)
        guard var queue = queues[key] else {
            queues[key] = Queue(holder: id)
            return .granted
        }
        guard queue.waiters.count < perKeyMax, waiterCount < totalMax else { return .refused }
        queue.waiters.append(id)
        queues[key] = queue
        waiterCount += 1
        return .waiting
    }

    /// Releases `key`, held by `id`; returns the waiter that now holds it, if any.
    mutating func release(_ key: [UInt8], by id: OperationID) -> OperationID? {
        let key = ByteKey(key)
        guard let index = queues.index(forKey: key), queues.values[index].holder == id else {
            preconditionFailure("\(id) releases a lock it does not hold; holder: \(String(describing: queues[key]?.holder))")
        }
        guard !queues.values[index].waiters.isEmpty else {
            queues.remove(at: index)
            return nil
        }
        let next = queues.values[index].waiters.removeFirst()
        queues.values[index].holder = next
        waiterCount -= 1
        return next
    }

    /// Removes a waiter that gives up (its deadline passed).
    mutating func removeWaiter(_ id: OperationID, of key: [UInt8]) {
        let key = ByteKey(key)
        guard var queue = queues[key], let index = queue.waiters.firstIndex(of: id) else {
            preconditionFailure("\(id) is not waiting for its key")
        }
        queue.waiters.remove(at: index)
        waiterCount -= 1
        queues[key] = queue
    }
}
