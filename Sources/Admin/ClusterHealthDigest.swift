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
        var upstreams: [String: JSONValue] = [:]
        for upstream in config.upstreams {
            let report = HealthReport(upstream: upstream, targets: config.targets(of: upstream.id),
                                      balancer: balancer(upstream.name), now: now)
            var targets: [String: JSONValue] = [:]
            for entry in report.targetEntries() {
                guard let object = entry.object, let target = object["target"]?.string,
                      case let .array(addresses)? = object["data"]?.object?["addresses"] else { continue }
                var healths: [String: JSONValue] = [:]
                for case let .object(address) in addresses {
                    guard let ip = address["ip"]?.string, case let .int(port)? = address["port"],
                          let health = address["health"]?.string else { continue }
                    healths[Target.format(host: ip, port: port)] = .string(health)
                }
                targets[target] = .object(healths)
            }
            upstreams[upstream.name] = .object(targets)
        }
        return JSONValue.object(upstreams).text
    }

    /// The digest in `text`; empty when it is not one (a node of another release may write another shape).
    public static func parse(_ text: String) -> Content {
        guard let upstreams = JSONValue.parse(text)?.object else { return [:] }
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
