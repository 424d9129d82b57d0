import TernCore
import TernStorage

/// DescribeTable's ItemCount and TableSizeBytes, maintained by every write instead of counted by
/// a scan per request.
///
/// Each item write adds its deltas (items +1/0/−1, DynamoDB-accounted bytes new − old) to the
/// table's counter key in the same atomic batch as the item, with a commutative counter add, so
/// the figures are exact after a crash and whatever order group commit gives concurrent writes.
/// DynamoDB itself only refreshes these figures about every six hours; exact is allowed.
public enum TableStatistics {
    /// `00000000 "stats/" tableId(4)` in the system key space.
    public static func key(tableId: UInt32) -> [UInt8] {
        KeyEncoding.tablePrefix(0) + Array("stats/".utf8) + KeyEncoding.tablePrefix(tableId)
    }

    /// Adds the deltas of replacing `old` by `new` under the item `storageKey` to `batch`.
    static func record(in batch: inout WriteBatch, key storageKey: [UInt8], old: Item?, new: Item?) {
        let count = Int64(new == nil ? 0 : 1) - Int64(old == nil ? 0 : 1)
        let bytes = Int64(new.map(ItemSize.of) ?? 0) - Int64(old.map(ItemSize.of) ?? 0)
        guard count != 0 || bytes != 0, let tableId = KeyEncoding.tableId(ofKey: storageKey) else { return }
        batch.addCounters(key(tableId: tableId), [count, bytes])
    }

    /// The figures of a table: a point read of its counter key.
    static func read(_ bytes: [UInt8]?) -> (itemCount: Int, sizeBytes: Int) {
        let counters = bytes.map(CounterValue.decode) ?? []
        let count = counters.count > 0 ? counters[0] : 0
        let size = counters.count > 1 ? counters[1] : 0
        return (Int(max(0, count)), Int(max(0, size)))
    }
}
