/// A fixed-size log-linear latency histogram (HdrHistogram-style), in nanoseconds.
///
/// Values below 128 ns get one bucket each; above that, every power-of-two range
/// `[2^k, 2^(k+1))` is split into 64 equal buckets, so a bucket is at most 1/64 of its
/// value wide and its midpoint is within ~0.8% of any value in it. Values above
/// `maxTrackable` (~10 s) land in the last bucket, but the exact maximum is kept
/// separately. Memory is fixed (~15 KB) no matter how many samples are recorded,
/// which is why each thread can own one and merge at the end.
struct LatencyHistogram: Sendable {
    /// Linear buckets per power-of-two range; 64 gives ≤1.6% bucket width.
    private static let subBuckets: UInt64 = 64
    private static let subBucketBits = 6
    /// Largest value (ns) with its own bucket: 10 seconds.
    static let maxTrackable: UInt64 = 10_000_000_000
    private static let bucketCount = index(of: maxTrackable) + 1

    private var counts: [UInt64]
    private(set) var count: UInt64 = 0
    private(set) var min: UInt64 = .max
    private(set) var max: UInt64 = 0

    init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    mutating func record(_ nanos: UInt64) {
        let clamped = Swift.min(nanos, Self.maxTrackable)
        counts[Self.index(of: clamped)] += 1
        count += 1
        min = Swift.min(min, nanos)
        max = Swift.max(max, nanos)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The value at quantile `q` (0...1): the smallest bucket covering `ceil(q * count)`
    /// samples, reported as that bucket's midpoint clamped to the observed min/max.
    /// The extremes (and the open-ended overflow bucket) report the exact min/max.
    /// Returns 0 when empty.
    func percentile(_ q: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((Swift.min(Swift.max(q, 0), 1) * Double(count)).rounded(.up)))
        if rank == 1 { return min }
        if rank >= count { return max }
        var seen: UInt64 = 0
        for (i, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                if i == counts.count - 1 { return max }
                let (low, width) = Self.range(ofBucket: i)
                return Swift.min(Swift.max(low + width / 2, min), max)
            }
        }
        return max
    }

    /// Bucket index: identity below 128, else `(k - 6) * 64 + (v >> (k - 6))` for
    /// `v` in `[2^k, 2^(k+1))`, which is contiguous with the linear part.
    static func index(of value: UInt64) -> Int {
        if value < 2 * subBuckets { return Int(value) }
        let k = UInt64.bitWidth - 1 - value.leadingZeroBitCount
        let shift = k - subBucketBits
        return shift * Int(subBuckets) + Int(value >> UInt64(shift))
    }

    /// Lowest value and width of bucket `index`; the inverse of `index(of:)`.
    static func range(ofBucket index: Int) -> (low: UInt64, width: UInt64) {
        if index < 2 * Int(subBuckets) { return (UInt64(index), 1) }
        let shift = index / Int(subBuckets) - 1
        let mantissa = UInt64(index % Int(subBuckets)) + subBuckets
        return (mantissa << UInt64(shift), 1 << UInt64(shift))
    }
}
