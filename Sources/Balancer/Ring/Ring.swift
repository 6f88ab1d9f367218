import Atomics

/// The immutable structure an upstream is picked from, published by swapping one reference.
///
/// Besides the pick tables it keeps the full expansion (every target, every address with its
/// sources, priority and weight, ejected or not) so the admin API can show how DNS and config were
/// turned into traffic.
public final class Ring: Sendable, AtomicReference {
    /// Increases with every ring an upstream publishes.
    public let generation: UInt64
    public let settings: UpstreamSettings
    /// What each target expanded to.
    public let targets: [TargetExpansion]
    /// Every expanded address, sorted, including the ones ejected at build time.
    public let addresses: [RingAddress]
    let tiers: ContiguousArray<RingTier>
    /// Fewer addresses are available than the upstream's panic threshold: traffic goes to every
    /// address, ejected or not, instead of failing.
    public let isPanicking: Bool
    /// Built while one of the upstream's DNS names is served stale (DNS failing) or held after a negative
    /// answer; picks carry it to the access log (flag DS).
    public let servesStaleDNS: Bool
    /// Copied out of `settings` so picks read plain words.
    let algorithm: UpstreamSettings.Algorithm
    let decayNanos: Double

    init(generation: UInt64, settings: UpstreamSettings, targets: [TargetExpansion],
         addresses: [RingAddress], tiers: ContiguousArray<RingTier>, isPanicking: Bool, servesStaleDNS: Bool = false) {
        self.generation = generation
        self.settings = settings
        self.targets = targets
        self.addresses = addresses
        self.tiers = tiers
        self.isPanicking = isPanicking
        self.servesStaleDNS = servesStaleDNS
        self.algorithm = settings.algorithm
        self.decayNanos = AddressHealth.nanoseconds(settings.latencyDecay)
    }

    /// The pickable addresses by tier, in the order picks try them.
    public struct Tier: Sendable, Hashable {
        public let priority: UInt16
        /// Weight-0 SRV entries: used only when no positive-weight address of the priority is available.
        public let isZeroWeight: Bool
        public let addresses: [Address]
        public let weights: [UInt32]
    }

    public var pickableTiers: [Tier] {
        tiers.map { t in
            Tier(priority: t.priority, isZeroWeight: t.isZeroWeight,
                 addresses: t.members.map(\.address), weights: t.members.map(\.weight))
        }
    }

    /// The priority that gets traffic now, nil when nothing is available.
    public var activePriority: UInt16? { tiers.first?.priority }

    /// No address can be picked: the proxy answers 503 at once.
    public var isEmpty: Bool { tiers.isEmpty }
}
