/// Builds a ring from settings and an expansion: pure apart from reading each address's
/// availability, and cheap enough to run on every DNS change, config change or ejection.
enum RingBuilder {
    /// - Parameters:
    ///   - health: the shared state of each expanded address (from the upstream's health overlay).
    ///     Ejected addresses are left out of the pick tables (they stay in `addresses` for the admin
    ///     API); half-open ones stay in, so their single trial can be picked.
    static func build(
        settings: UpstreamSettings,
        expansion: TargetExpander.Result,
        generation: UInt64,
        servesStaleDNS: Bool = false,
        health: (Address) -> AddressHealth
    ) -> Ring {
        let states = expansion.addresses.map { health($0.address) }
        let available = states.lazy.filter(\.isPickable).count
        let panic = EjectionGuard.isPanicking(available: available, total: states.count,
                                              panicThreshold: settings.panicThreshold)
        // (priority, zero weight) -> members, in address order.
        var groups: [UInt32: ContiguousArray<RingMember>] = [:]
        for (entry, state) in zip(expansion.addresses, states) {
            guard panic || state.isPickable else { continue }
            let zero = entry.weight == 0
            let key = UInt32(entry.priority) << 1 | (zero ? 1 : 0)
            groups[key, default: []].append(
                RingMember(address: entry.address, weight: zero ? 1 : entry.weight, health: state))
        }
        var tiers = ContiguousArray<RingTier>()
        tiers.reserveCapacity(groups.count)
        for key in groups.keys.sorted() {
            guard let members = groups[key] else { continue }
            let weights = members.map(\.weight)
            let schedule: ContiguousArray<UInt32>
            let continuum: HashContinuum?
            switch settings.algorithm {
            case .roundRobin:
                schedule = SmoothSchedule.build(weights: weights,
                                                maxLength: max(settings.slots, 16 * members.count))
                continuum = nil
            case .consistentHashing:
                schedule = []
                continuum = HashContinuum(members: members)
            case .leastConnections, .latency:
                schedule = []
                continuum = nil
            }
            tiers.append(RingTier(priority: UInt16(key >> 1), isZeroWeight: key & 1 == 1,
                                  members: members, schedule: schedule, continuum: continuum,
                                  ignoresHealth: panic))
        }
        return Ring(generation: generation, settings: settings, targets: expansion.targets,
                    addresses: expansion.addresses, tiers: tiers, isPanicking: panic,
                    servesStaleDNS: servesStaleDNS)
    }
}
