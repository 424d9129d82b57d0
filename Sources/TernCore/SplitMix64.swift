/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator that is fully determined by its
/// seed. Everything in Tern that draws random numbers and must be reproducible — tests, the load
/// generator, and the simulator to come — owns one of these instead of calling Swift's unseeded
/// `random` APIs (whose algorithms may also change between releases).
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (bound > 0); the modulo bias is negligible for bounds far below 2⁶⁴.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next() % UInt64(bound))
    }
}
