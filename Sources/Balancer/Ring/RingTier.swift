/// The available addresses of one priority group, positive weights or zero weights, with the table
/// the upstream's algorithm picks from. Tiers are tried in order: lowest priority first, and within a
/// priority the positive-weight tier before the zero-weight one (RFC 2782).
///
/// A class, so that picks reach the tables through one reference instead of copying (and
/// retaining) every array of a struct.
final class RingTier: Sendable {
    let priority: UInt16
    let isZeroWeight: Bool
    let members: ContiguousArray<RingMember>
    /// Round-robin: member indices in smooth weighted order.
    let schedule: ContiguousArray<UInt32>
    /// Consistent hashing: the continuum.
    let continuum: HashContinuum?
    /// Panic: too few addresses are available, so this tier holds every address and picks ignore
    /// ejections (better some requests to a struggling address than none to any).
    let ignoresHealth: Bool

    init(priority: UInt16, isZeroWeight: Bool, members: ContiguousArray<RingMember>,
         schedule: ContiguousArray<UInt32>, continuum: HashContinuum?, ignoresHealth: Bool) {
        self.priority = priority
        self.isZeroWeight = isZeroWeight
        self.members = members
        self.schedule = schedule
        self.continuum = continuum
        self.ignoresHealth = ignoresHealth
    }

    /// How many entries a pick inspects before it falls back to a full scan (only reached when
    /// addresses were ejected after this ring was built, or a retry excludes many of them).
    static let probeLimit = 16
    /// Least-connections compares at most this many members per pick, from a rotating start.
    static let leastConnectionsWindow = 16

    @inline(__always)
    private func usable(_ i: Int, _ context: PickContext) -> Bool {
        let m = members[i]
        return (ignoresHealth || m.health.isPickable) && !context.excluding.contains(m.address)
    }

    /// First usable member from `start`, wrapping; -1 if none.
    private func scan(from start: Int, _ context: PickContext) -> Int {
        let n = members.count
        var i = start % n
        for _ in 0..<n {
            if usable(i, context) { return i }
            i += 1
            if i == n { i = 0 }
        }
        return -1
    }

    /// First member from `start`, wrapping, that is neither ejected nor excluded; -1 if none.
    private func scanPickable(from start: Int, _ context: PickContext) -> Int {
        let n = members.count
        var i = start % n
        for _ in 0..<n {
            let m = members[i]
            if m.health.isPickable && !context.excluding.contains(m.address) { return i }
            i += 1
            if i == n { i = 0 }
        }
        return -1
    }

    /// The member index picked, or -1 when none of this tier is usable.
    @inline(__always)
    func pick(_ algorithm: UpstreamSettings.Algorithm, _ context: PickContext, _ loop: LoopState,
              nanos: Int64?, decayNanos: Double) -> Int {
        if members.isEmpty { return -1 }
        if ignoresHealth && context.excluding.count > 0 {
            // A retry in panic goes to the address most likely to answer: one not ejected, if any is left.
            // First attempts still spread over every address (the point of panic); without this, the
            // round-robin cursor walks a retry through the ejected addresses one after another.
            let i = scanPickable(from: Int(loop.cursor % UInt64(members.count)), context)
            if i >= 0 {
                loop.cursor &+= 1
                return i
            }
        }
        switch algorithm {
        case .roundRobin: return pickRoundRobin(context, loop)
        case .consistentHashing: return pickHashed(context, loop)
        case .leastConnections: return pickLeastConnections(context, loop)
        case .latency: return pickLatency(context, loop, nanos: nanos, decayNanos: decayNanos)
        }
    }

    private func pickRoundRobin(_ context: PickContext, _ loop: LoopState) -> Int {
        let n = UInt64(schedule.count)
        for _ in 0..<min(Int(n), Self.probeLimit) {
            let i = Int(schedule[Int(loop.cursor % n)])
            loop.cursor &+= 1
            if usable(i, context) { return i }
        }
        return scan(from: Int(loop.cursor % UInt64(members.count)), context)
    }

    private func pickHashed(_ context: PickContext, _ loop: LoopState) -> Int {
        guard let continuum, !continuum.isEmpty else { return pickRoundRobin(context, loop) }
        let key: UInt64
        if let hashKey = context.hashKey {
            key = hashKey.value
        } else {
            loop.cursor &+= 1
            key = StableHash.mix(loop.cursor)
        }
        let count = continuum.points.count
        var p = continuum.firstPoint(for: key)
        let first = continuum.member(at: p)
        for _ in 0..<min(count, Self.probeLimit) {
            let i = continuum.member(at: p)
            if usable(i, context) { return i }
            p += 1
            if p == count { p = 0 }
        }
        return scan(from: first, context)
    }

    private func pickLeastConnections(_ context: PickContext, _ loop: LoopState) -> Int {
        let n = members.count
        let start = Int(loop.cursor % UInt64(n))
        loop.cursor &+= 1
        let window = min(n, Self.leastConnectionsWindow)
        var best = -1
        var bestLoad: UInt64 = 0, bestWeight: UInt64 = 1
        var i = start
        for _ in 0..<window {
            if usable(i, context) {
                let m = members[i]
                let load = UInt64(max(0, m.health.inFlight)) + 1
                let weight = UInt64(m.weight)
                // load/weight < bestLoad/bestWeight, without division.
                if best < 0 || load * bestWeight < bestLoad * weight {
                    best = i
                    bestLoad = load
                    bestWeight = weight
                }
            }
            i += 1
            if i == n { i = 0 }
        }
        if best >= 0 || window == n { return best }
        return scan(from: i, context)
    }

    private func pickLatency(_ context: PickContext, _ loop: LoopState,
                             nanos: Int64?, decayNanos: Double) -> Int {
        let n = members.count
        if n == 1 { return usable(0, context) ? 0 : -1 }
        let a = Int(loop.nextRandom() % UInt64(n))
        var b = Int(loop.nextRandom() % UInt64(n - 1))
        if b >= a { b += 1 }
        let ua = usable(a, context), ub = usable(b, context)
        if !ua && !ub { return scan(from: a, context) }
        if !ub { return a }
        if !ua { return b }
        let ma = members[a], mb = members[b]
        let pa = Double(max(0, ma.health.inFlight) + 1), pb = Double(max(0, mb.health.inFlight) + 1)
        let wa = Double(ma.weight), wb = Double(mb.weight)
        let la = ma.health.latencyCost(at: nanos, decayNanos: decayNanos)
        let lb = mb.health.latencyCost(at: nanos, decayNanos: decayNanos)
        // Cost = latency x (in-flight + 1) / weight; an address without a sample yet competes on
        // in-flight requests alone, so it is tried without being flooded.
        if la > 0 && lb > 0 {
            return la * pa * wb <= lb * pb * wa ? a : b
        }
        return pa * wb <= pb * wa ? a : b
    }
}
