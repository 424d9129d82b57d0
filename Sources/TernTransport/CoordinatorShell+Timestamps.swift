import TernCluster
import TernCore

extension CoordinatorShell {
    /// How many times `issueTimestamp` asks the clock before it gives up.
    static let timestampAttemptsMax = 100

    /// A fresh timestamp of this node's HLC after observing `after` (the catalog's ballots and
    /// proposal numbers). It is issued below the clock's durable ceiling, like every write's
    /// timestamp, so it never repeats across restarts and stays close to the wall clock. Nil
    /// when no ceiling could be made durable in time (the storage is failing or closing).
    public func issueTimestamp(after: UInt64) async -> UInt64? {
        for _ in 0..<Self.timestampAttemptsMax {
            let now = clock()
            var issued: UInt64?
            let actions = withState(as: nil) { state in
                let (timestamp, actions) = state.machine.issueTimestamp(after: after, now: now)
                issued = timestamp
                return actions
            }
            await carryOutUnowned(actions)
            if let issued { return issued }
            // A ceiling another operation asked for is being written; ask again once it may be.
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }
}
