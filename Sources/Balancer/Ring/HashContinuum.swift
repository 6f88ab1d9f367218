/// The consistent-hashing continuum of a tier (ketama style).
///
/// Each member owns points on a 32-bit circle, `160 × weight / 100` of them (at least one), placed by
/// hashing its `ip:port` with the point number. A point's position depends only on its own address,
/// so adding or removing one address moves only the keys that land on its points: about 1/N of them.
/// A key goes to the first point at or after its hash; a 64 K-entry index on the top 16 bits makes
/// that lookup a short scan instead of a full binary search.
struct HashContinuum: Sendable {
    /// `position << 32 | member index`, sorted.
    let points: ContiguousArray<UInt64>
    /// `index[b]` = first point whose position's top 16 bits are `>= b`; 65 537 entries.
    let index: ContiguousArray<UInt32>

    static let pointsPerHundredWeight: UInt64 = 160
    static let maxPoints: UInt64 = 1 << 22

    init(members: ContiguousArray<RingMember>) {
        var counts = members.map { max(1, (UInt64($0.weight) * Self.pointsPerHundredWeight + 50) / 100) }
        let total = counts.reduce(0, +)
        if total > Self.maxPoints {
            counts = counts.map { max(1, $0 * Self.maxPoints / total) }
        }
        var points = ContiguousArray<UInt64>()
        points.reserveCapacity(Int(counts.reduce(0, +)))
        for (i, member) in members.enumerated() {
            let base = StableHash.of(member.address)
            for k in 0..<counts[i] {
                let position = StableHash.mix(base &+ k &* 0x9E37_79B9_7F4A_7C15) >> 32
                points.append(position << 32 | UInt64(i))
            }
        }
        points.sort()
        var index = ContiguousArray<UInt32>(repeating: 0, count: 65_537)
        var p = 0
        for b in 0...65_536 {
            while p < points.count && (points[p] >> 48) < UInt64(b) { p += 1 }
            index[b] = UInt32(p)
        }
        self.points = points
        self.index = index
    }

    var isEmpty: Bool { points.isEmpty }

    /// Index of the first point at or after `key`'s position (wrapping to 0).
    @inline(__always)
    func firstPoint(for key: UInt64) -> Int {
        let position = key >> 32
        let bucket = Int(position >> 16)
        var lo = Int(index[bucket]), hi = Int(index[bucket + 1])
        while lo < hi {
            let mid = (lo + hi) >> 1
            if points[mid] >> 32 < position { lo = mid + 1 } else { hi = mid }
        }
        return lo == points.count ? 0 : lo
    }

    @inline(__always)
    func member(at point: Int) -> Int { Int(truncatingIfNeeded: points[point] & 0xFFFF_FFFF) }
}
