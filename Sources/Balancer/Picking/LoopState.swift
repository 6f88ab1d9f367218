/// What one event loop keeps between picks: its cached ring, round-robin cursor and random state.
///
/// `@unchecked Sendable`: a `LoopState` is only read and written by `UpstreamBalancer.pick` calls made
/// with its loop index, and the proxy makes those only from that event loop's single thread; the
/// balancer itself never touches it after creating it. Padding keeps two loops' states off one cache
/// line.
final class LoopState: @unchecked Sendable {
    /// Keeps the cached ring alive; picks use `borrowedRing`, which costs no reference counting
    /// (the shared ring's count would otherwise bounce between cores on every pick).
    var ring: Ring {
        didSet { borrowedRing = Unmanaged.passUnretained(ring) }
    }
    private(set) var borrowedRing: Unmanaged<Ring>
    var generation: UInt64
    var cursor: UInt64
    var random: UInt64
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init(ring: Ring, seed: UInt64) {
        self.ring = ring
        self.borrowedRing = Unmanaged.passUnretained(ring)
        self.generation = ring.generation
        let mixed = StableHash.mix(seed)
        self.cursor = mixed >> 11
        self.random = mixed | 1
    }

    /// xorshift64*: a fast generator that needs no lock; seeded per loop.
    @inline(__always)
    func nextRandom() -> UInt64 {
        var x = random
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        random = x
        return x &* 0x2545_F491_4F6C_DD1D
    }
}
