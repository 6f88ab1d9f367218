import Balancer
import Config
import Foundation

/// Builds Kong's `GET /upstreams/{u}/health` answer from an upstream's configuration and its live balancer:
/// each target with its DNS expansion and the health of every address, plus Switchyard's ejection details.
struct HealthReport {
    var upstream: Upstream
    var targets: [Target]
    var balancer: UpstreamBalancer?
    var now: ContinuousClock.Instant

    private var checksEnabled: Bool {
        upstream.healthchecks.active.isEnabled || upstream.healthchecks.passive.isEnabled
    }

    private func statuses() -> [Address: AddressStatus] {
        var out: [Address: AddressStatus] = [:]
        for status in balancer?.health.statuses() ?? [] { out[status.address] = status }
        return out
    }

    private static func seconds(_ duration: Duration) -> Double {
        let c = duration.components
        return ((Double(c.seconds) + Double(c.attoseconds) / 1e18) * 1000).rounded() / 1000
    }

    private func addressJSON(_ address: Address, weight: Int, priority: UInt16, target: Target,
                             status: AddressStatus?) -> (json: [String: RawValue], health: String) {
        let health: String
        var fields: [String: RawValue] = ["ip": .string(address.ip.description), "port": .int(Int(address.port)),
                                           "weight": .int(weight), "priority": .int(Int(priority))]
        let available = status?.isAvailable ?? true
        if target.weight == 0 || !checksEnabled && available {
            health = "HEALTHCHECKS_OFF"
        } else {
            health = available ? "HEALTHY" : "UNHEALTHY"
        }
        fields["health"] = .string(health)
        if let status {
            fields["in_flight"] = .int(status.inFlight)
            if let ejection = status.ejection, ejection.isActive {
                let left = ejection.until - now
                fields["ejection"] = .object([
                    "since_seconds_ago": .double(Self.seconds(now - ejection.since)),
                    "until_seconds": .double(max(0, Self.seconds(left))),
                    "count": .int(ejection.count),
                    "state": .string(left <= .zero ? "half_open" : "ejected"),
                ])
            }
            let c = status.counters
            fields["counters"] = .object([
                "connect_failures": .int(c.connectFailures), "timeouts": .int(c.timeouts),
                "http_failures": .int(c.httpFailures), "successes": .int(c.successes),
                "total_requests": .int(c.totalRequests), "total_failures": .int(c.totalFailures),
            ])
        }
        return (fields, health)
    }

    private static func dnsText(_ dns: TargetExpansion.DNS?) -> String {
        switch dns {
        case .literal?: return "IP"
        case .addressRecords?: return "A"
        case .serviceRecords?: return "SRV"
        case .pending?: return "pending"
        case let .unresolved(reason)?: return reason
        case nil: return "not in balancer"
        }
    }

    /// One entry of `data` per configured target.
    func targetEntries() -> [RawValue] {
        let ring = balancer?.ring
        let statuses = statuses()
        return targets.map { target in
            let expansion = ring?.targets.first { $0.target.host == target.host && Int($0.target.port) == target.port }
            var addresses: [RawValue] = []
            var healths: [String] = []
            var total = 0, available = 0
            for address in expansion?.addresses ?? [] {
                let ringAddress = ring?.addresses.first { $0.address == address }
                let source = ringAddress?.sources.first { $0.target.host == target.host && Int($0.target.port) == target.port }
                let weight = Int(source?.weight ?? UInt16(clamping: target.weight))
                let (json, health) = addressJSON(address, weight: weight, priority: source?.priority ?? 0,
                                                 target: target, status: statuses[address])
                addresses.append(.object(json))
                healths.append(health)
                total += weight
                if health != "UNHEALTHY" { available += weight }
            }
            let health: String
            if expansion == nil || addresses.isEmpty {
                health = "DNS_ERROR"
            } else if healths.contains("HEALTHY") {
                health = "HEALTHY"
            } else if healths.contains("UNHEALTHY") {
                health = "UNHEALTHY"
            } else {
                health = "HEALTHCHECKS_OFF"
            }
            return .object([
                "id": .string(target.id.uuidString.lowercased()),
                "upstream": .object(["id": .string(upstream.id.uuidString.lowercased())]),
                "target": .string(target.target), "weight": .int(target.weight),
                "tags": .array(target.tags.map { .string($0) }),
                "health": .string(health),
                "data": .object([
                    "host": .string(target.host), "port": .int(target.port), "dns": .string(Self.dnsText(expansion?.dns)),
                    "nodeWeight": .int(target.weight),
                    "weight": .object(["total": .int(total), "available": .int(available),
                                       "unavailable": .int(total - available)]),
                    "addresses": .array(addresses),
                ]),
            ])
        }
    }

    /// `?balancer_health=1`: the upstream as a whole.
    func balancerEntry() -> RawValue {
        let entries = targetEntries()
        var total = 0, available = 0
        var anyHealthy = false
        for entry in entries.compactMap(\.object) {
            guard let data = entry["data"]?.object, let weight = data["weight"]?.object else { continue }
            if case let .int(t, _)? = weight["total"] { total += t }
            if case let .int(a, _)? = weight["available"] { available += a }
            if case let .array(addresses)? = data["addresses"] {
                anyHealthy = anyHealthy || addresses.contains { $0.object?["health"]?.string != "UNHEALTHY" }
            }
        }
        let healthy = anyHealthy && !(balancer?.ring.isEmpty ?? true)
        let balancerHealth = healthy ? "HEALTHY" : "UNHEALTHY"
        return .object([
            "id": .string(upstream.id.uuidString.lowercased()),
            "health": .string(checksEnabled ? balancerHealth : "HEALTHCHECKS_OFF"),
            "balancer_health": .string(balancerHealth),
            "details": .object([
                "healthy": .bool(healthy),
                "panic": .bool(balancer?.ring.isPanicking ?? false),
                "weight": .object(["total": .int(total), "available": .int(available),
                                   "unavailable": .int(total - available)]),
                "hosts": .array(entries),
            ]),
        ])
    }
}
