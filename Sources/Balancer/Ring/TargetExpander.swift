import DNSWire

/// Turns targets plus discovery snapshots into ring addresses: pure, deterministic, no health.
///
/// Rules: an IP host is used as is; an A/AAAA name gives each address the target's port and weight;
/// an SRV name gives each entry's addresses the entry's port, weight and priority (the target's weight
/// and port are not used, except weight 0, which disables the target). A target of weight 0 expands
/// (so the admin API shows its addresses) but contributes no source.
///
/// The same `ip:port` reached through several sources appears once: in its lowest priority, with the
/// weights of its sources of that priority added up.
public enum TargetExpander {
    public struct Result: Sendable, Hashable {
        public let targets: [TargetExpansion]
        /// Sorted by address.
        public let addresses: [RingAddress]
    }

    public static func expand(
        targets: [TargetSpec],
        snapshot: (String) -> NameSnapshot?
    ) -> Result {
        var expansions: [TargetExpansion] = []
        expansions.reserveCapacity(targets.count)
        var sources: [Address: [AddressSource]] = [:]

        func add(_ address: Address, _ source: AddressSource, enabled: Bool) {
            if enabled { sources[address, default: []].append(source) }
        }

        for (index, target) in targets.enumerated() {
            let enabled = target.weight > 0
            var produced: [Address] = []
            var dns: TargetExpansion.DNS
            var generation: UInt64? = nil
            if let ip = target.ip {
                dns = .literal
                let address = Address(ip: ip, port: target.port)
                produced.append(address)
                add(address, AddressSource(targetIndex: index, target: target, kind: .literal,
                                           weight: target.weight, priority: 0), enabled: enabled)
            } else if let snap = snapshot(target.host) {
                generation = snap.generation
                switch snap.content {
                case .empty:
                    dns = .unresolved(reason: Self.reason(snap.status))
                case .addresses(let ips):
                    dns = ips.isEmpty ? .unresolved(reason: Self.reason(snap.status)) : .addressRecords(count: ips.count)
                    for ip in ips {
                        let address = Address(ip: ip, port: target.port)
                        produced.append(address)
                        add(address, AddressSource(targetIndex: index, target: target,
                                                   kind: .addressRecord(name: snap.name),
                                                   weight: target.weight, priority: 0), enabled: enabled)
                    }
                case .services(let entries):
                    dns = entries.isEmpty ? .unresolved(reason: Self.reason(snap.status)) : .serviceRecords(count: entries.count)
                    for entry in entries {
                        for ip in entry.addresses {
                            let address = Address(ip: ip, port: entry.port)
                            produced.append(address)
                            add(address, AddressSource(targetIndex: index, target: target,
                                                       kind: .serviceRecord(name: snap.name, entry: entry),
                                                       weight: entry.weight, priority: entry.priority),
                                enabled: enabled)
                        }
                    }
                }
            } else {
                dns = .pending
            }
            expansions.append(TargetExpansion(index: index, target: target, dns: dns,
                                              generation: generation,
                                              addresses: Array(Set(produced)).sorted()))
        }

        var addresses: [RingAddress] = []
        addresses.reserveCapacity(sources.count)
        for (address, all) in sources {
            let priority = all.lazy.map(\.priority).min() ?? 0
            let best = all.filter { $0.priority == priority }
            let weight = best.reduce(UInt32(0)) { $0 + UInt32($1.weight) }
            addresses.append(RingAddress(address: address, priority: priority, weight: weight, sources: all))
        }
        addresses.sort { $0.address < $1.address }
        return Result(targets: expansions, addresses: addresses)
    }

    static func reason(_ status: NameSnapshot.Status) -> String {
        switch status {
        case .fresh: return "no records"
        case .stale(let error, _, _): return error
        case .negativeHold(let reason, _, _): return reason
        case .failed(let error): return error
        }
    }
}
