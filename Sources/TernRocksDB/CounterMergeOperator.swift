import CRocksDB
import Foundation
import TernStorage

/// RocksDB's side of `WriteOperation.addCounters`: a merge operator that adds counter vectors
/// (`CounterValue`). An add is written as a merge operand holding the encoded deltas; RocksDB
/// folds operands into the base value when it reads the key (get, iterators) and when it flushes
/// or compacts, so a write never has to read the counters it changes.
///
/// The callbacks follow the contract of RocksDB's C API (`rocksdb_mergeoperator_t` in c.cc):
/// the result of a merge is copied by RocksDB and then handed to `delete_value`, so it is
/// allocated with `malloc` and freed there with `free`; the operator owns its `state` (here the
/// name) and RocksDB calls `destructor` exactly once, when the last options or database holding
/// the operator lets go of it.
enum CounterMergeOperator {
    /// Recorded in the database's OPTIONS file. Never rename it: it names the value format, and a
    /// changed format gets a new name so that an old binary cannot misread new operands.
    static let name = "tern.counters.add.v1"

    /// Sets the counter merge operator on `options`, which takes ownership of it. (The callbacks
    /// spell out `CounterMergeOperator.`: a C function pointer cannot capture `Self`.)
    static func install(on options: OpaquePointer) {
        let state = strdup(name)
        let mergeOperator = rocksdb_mergeoperator_create(
            state,
            { state in free(state) },
            { _, _, _, existing, existingLength, operands, operandLengths, operandCount, success, newLength in
                var counters: [Int64] = []
                CounterValue.add(encoded: CounterMergeOperator.bytes(existing, existingLength), to: &counters)
                CounterMergeOperator.addOperands(operands, operandLengths, operandCount, to: &counters)
                return CounterMergeOperator.result(counters, success, newLength)
            },
            { _, _, _, operands, operandLengths, operandCount, success, newLength in
                // Partial merge folds operands without the base value; adds are associative, so
                // their sum is itself a valid operand.
                var counters: [Int64] = []
                CounterMergeOperator.addOperands(operands, operandLengths, operandCount, to: &counters)
                return CounterMergeOperator.result(counters, success, newLength)
            },
            { _, value, _ in free(UnsafeMutableRawPointer(mutating: value)) },
            { state in UnsafePointer(state?.assumingMemoryBound(to: CChar.self)) }
        )
        rocksdb_options_set_merge_operator(options, mergeOperator)
    }

    /// `length` bytes at `pointer`; none when the pointer is NULL (a missing base value).
    private static func bytes(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> UnsafeRawBufferPointer {
        guard let pointer else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    private static func addOperands(
        _ operands: UnsafePointer<UnsafePointer<CChar>?>?, _ lengths: UnsafePointer<Int>?, _ count: Int32,
        to counters: inout [Int64]
    ) {
        guard let operands, let lengths else { return }
        for index in 0..<Int(max(count, 0)) {
            CounterValue.add(encoded: bytes(operands[index], lengths[index]), to: &counters)
        }
    }

    /// The encoded `counters` in a `malloc`ed buffer, as the C API's merge callbacks return it.
    private static func result(
        _ counters: [Int64], _ success: UnsafeMutablePointer<UInt8>?, _ length: UnsafeMutablePointer<Int>?
    ) -> UnsafeMutablePointer<CChar>? {
        let encoded = CounterValue.encode(counters)
        // At least one byte: malloc(0) may return NULL, which would read as a failed allocation.
        guard let buffer = malloc(max(encoded.count, 1)) else {
            // RocksDB turns a failed merge into a Corruption status for the read or compaction,
            // which is better than crashing the process.
            success?.pointee = 0
            length?.pointee = 0
            return nil
        }
        encoded.withUnsafeBytes { source in
            if let base = source.baseAddress {
                buffer.copyMemory(from: base, byteCount: source.count)
            }
        }
        success?.pointee = 1
        length?.pointee = encoded.count
        return buffer.assumingMemoryBound(to: CChar.self)
    }
}
