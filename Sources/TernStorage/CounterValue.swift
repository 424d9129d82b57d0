/// The value format behind `WriteOperation.addCounters`: a vector of signed 64-bit counters,
/// each stored as 8 bytes, little-endian, one after the other (counter `i` at bytes
/// `8i ..< 8i + 8`). There is no header: the byte count says how many counters there are.
///
/// Adding a delta vector adds element-wise with wrapping arithmetic (overflow wraps around and
/// never traps: a counter is a sum, and a trap inside a storage engine's merge would take the
/// whole process down). The rules, the same in every engine:
/// - a missing key counts as no counters (all zeros);
/// - vectors of different lengths are added as if the shorter one were padded with zeros, so the
///   result is as long as the longest of them;
/// - a value whose length is not a multiple of 8 (a `put` of foreign bytes) is read as if padded
///   with zero bytes up to the next multiple: its last, partial counter is zero-extended;
/// - an add always leaves the key present, even an add of no deltas to a missing key (its value
///   is then empty).
///
/// Because addition is commutative and associative, the order in which adds are applied, and how
/// they are grouped, never changes the result. That is what lets RocksDB fold them lazily with a
/// merge operator, and concurrent group commits add to the same key without reading it first.
public enum CounterValue {
    /// Bytes per counter.
    public static let counterBytes = 8

    /// The stored bytes of `counters`.
    public static func encode(_ counters: [Int64]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(counters.count * counterBytes)
        for counter in counters {
            let bits = UInt64(bitPattern: counter)
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
            }
        }
        return bytes
    }

    /// The counters stored in `bytes` (empty bytes: no counters).
    public static func decode(_ bytes: [UInt8]) -> [Int64] {
        var counters: [Int64] = []
        add(encoded: bytes, to: &counters)
        return counters
    }

    /// `counters + deltas`, element-wise, wrapping, padded with zeros to the longer length.
    public static func adding(_ deltas: [Int64], to counters: [Int64]) -> [Int64] {
        var sum = counters
        if sum.count < deltas.count {
            sum.append(contentsOf: repeatElement(0, count: deltas.count - sum.count))
        }
        for (index, delta) in deltas.enumerated() {
            sum[index] &+= delta
        }
        return sum
    }

    /// Adds the counters encoded in `bytes` to `counters` in place, without decoding them into
    /// an array first. Generic over the byte collection so that an engine can pass the bytes it
    /// holds (for RocksDB, a buffer lent by its merge callback) without copying them.
    public static func add<Bytes: Collection>(encoded bytes: Bytes, to counters: inout [Int64])
    where Bytes.Element == UInt8 {
        let count = (bytes.count + counterBytes - 1) / counterBytes
        if counters.count < count {
            counters.append(contentsOf: repeatElement(0, count: count - counters.count))
        }
        var index = 0
        var shift: UInt64 = 0
        var bits: UInt64 = 0
        for byte in bytes {
            bits |= UInt64(byte) << shift
            shift += 8
            if shift == 64 {
                counters[index] &+= Int64(bitPattern: bits)
                index += 1
                shift = 0
                bits = 0
            }
        }
        if shift != 0 {  // a trailing partial counter, zero-extended
            counters[index] &+= Int64(bitPattern: bits)
        }
    }
}
