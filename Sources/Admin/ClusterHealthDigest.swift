import Balancer
import Config
import Foundation

/// A node's view of its targets' health, small enough to send with every heartbeat: per upstream and target,
/// each address's health as `GET /upstreams/{u}/health` shows it. `?scope=cluster` puts the nodes' digests side
/// by side, so an address ejected on one node and healthy on another shows as such.
public enum ClusterHealthDigest {
    /// Upstream name → target → `ip:port` → `HEALTHY`, `UNHEALTHY` or `HEALTHCHECKS_OFF`.
    public typealias Content = [String: [String: [String: String]]]

    /// The digest of every upstream in `config`, as compact JSON with sorted keys (equal views give equal text,
    /// so a node rewrites it only when it changed).
    public static func make(config: DeclarativeConfig, balancer: (String) -> UpstreamBalancer?,
                            now: ContinuousClock.Instant = .now) -> String {
        let digest = content(config: config, balancer: balancer, now: now)
        return RawValue.object(digest.mapValues { targets in
            .object(targets.mapValues { addresses in .object(addresses.mapValues { .string($0) }) })
        }).jsonText
    }

    /// The digest itself, for this node's own live view.
    static func content(config: DeclarativeConfig, balancer: (String) -> UpstreamBalancer?,
                        now: ContinuousClock.Instant = .now) -> Content {
        var upstreams: Content = [:]
        for upstream in config.upstreams {
            let report = HealthReport(upstream: upstream, targets: config.targets(of: upstream.id),
                                      balancer: balancer(upstream.name), now: now)
            var targets: [String: [String: String]] = [:]
            for entry in report.targetEntries() {
                guard let object = entry.object, let target = object["target"]?.string,
                      case let .array(addresses)? = object["data"]?.object?["addresses"] else { continue }
                var healths: [String: String] = [:]
                for address in addresses.compactMap(\.object) {
                    guard let ip = address["ip"]?.string, case let .int(port, _)? = address["port"],
                          let health = address["health"]?.string else { continue }
                    healths[Target.format(host: ip, port: port)] = health
                }
                targets[target] = healths
            }
            upstreams[upstream.name] = targets
        }
        return upstreams
    }

    /// The digest in `text`; empty when it is not one (a node of another release may write another shape).
    public static func parse(_ text: String) -> Content {
        guard let upstreams = RawValue.parse(json: text)?.object else { return [:] }
        var content: Content = [:]
        for (name, targets) in upstreams {
            var byTarget: [String: [String: String]] = [:]
            for (target, addresses) in targets.object ?? [:] {
                var byAddress: [String: String] = [:]
                for (address, health) in addresses.object ?? [:] {
                    if let health = health.string { byAddress[address] = health }
                }
                byTarget[target] = byAddress
            }
            content[name] = byTarget
        }
        return content
    }
}
