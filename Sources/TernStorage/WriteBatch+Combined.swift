extension WriteBatch {
    /// All the operations of `batches`, in order, as one batch with the same effect, in which
    /// counter adds to one key are summed into a single add wherever the order allows: from one
    /// add until the next put, delete or range delete that touches its key.
    ///
    /// Why: every item write adds to its table's statistics counters, so under load a group
    /// commit holds many adds to the same few keys. RocksDB keeps each add as a merge operand
    /// until a flush or compaction folds them, and a read of the key must sum every operand still
    /// in the memtable; summing them here first shrinks that work, the WAL record and the
    /// memtable by the group's size.
    ///
    /// Moving a later add up to the position of the earlier one is safe because no operation in
    /// between touches that key (any that does ends the run), and adds commute.
    public static func combined(_ batches: [WriteBatch]) -> WriteBatch {
        var operations: [WriteOperation] = []
        operations.reserveCapacity(batches.reduce(0) { $0 + $1.operations.count })
        // Key → position in `operations` of the add that later adds to that key are summed into.
        var openAdds: [[UInt8]: Int] = [:]
        for batch in batches {
            for operation in batch.operations {
                switch operation {
                case .addCounters(let key, let deltas):
                    if let position = openAdds[key], case .addCounters(_, let sum) = operations[position] {
                        operations[position] = .addCounters(key: key, deltas: CounterValue.adding(deltas, to: sum))
                    } else {
                        openAdds[key] = operations.count
                        operations.append(operation)
                    }
                case .put(let key, _), .delete(let key):
                    if !openAdds.isEmpty { openAdds[key] = nil }  // most groups hold no adds
                    operations.append(operation)
                case .deleteRange(let start, let end):
                    if !openAdds.isEmpty {
                        openAdds = openAdds.filter { key, _ in
                            key.lexicographicallyPrecedes(start) || !key.lexicographicallyPrecedes(end)
                        }
                    }
                    operations.append(operation)
                }
            }
        }
        return WriteBatch(operations)
    }
}
