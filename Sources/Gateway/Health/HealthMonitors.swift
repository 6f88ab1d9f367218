import Balancer
import DNSWire
import Logging
import NIOConcurrencyHelpers
import Proxy

/// The health monitors of a node, one per upstream balancer, kept across configuration changes like
/// the balancers themselves: an upstream that stays keeps its monitor, so breakers, holds and probe
/// counts survive a reload. Also the entry point for operator overrides (the Admin API's
/// `…/healthy` and `…/unhealthy`).
public final class HealthMonitors: Sendable {
    private let client: ProbeClient
    private let logger: Logger
    private let monitors = NIOLockedValueBox<[String: UpstreamHealthMonitor]>([:])
    private let running = NIOLockedValueBox(false)

    public init(client: ProbeClient = ProbeClient(), logger: Logger = Logger(label: "switchyard.health")) {
        self.client = client
        self.logger = logger
    }

    /// Makes the monitors match `entries`: a balancer already monitored keeps its monitor (with the
    /// new policy), a new balancer gets a new one, monitors of dropped balancers stop.
    public func apply(_ entries: [(balancer: UpstreamBalancer, policy: HealthPolicy)]) {
        let isRunning = running.withLockedValue { $0 }
        var stopped: [UpstreamHealthMonitor] = []
        var started: [UpstreamHealthMonitor] = []
        monitors.withLockedValue { current in
            var next: [String: UpstreamHealthMonitor] = [:]
            for (balancer, policy) in entries {
                if let existing = current[balancer.name], existing.balancer === balancer {
                    existing.update(policy: policy)
                    next[balancer.name] = existing
                } else {
                    let monitor = UpstreamHealthMonitor(balancer: balancer, policy: policy, client: client, logger: logger)
                    next[balancer.name] = monitor
                    started.append(monitor)
                }
            }
            for (name, monitor) in current where next[name] !== monitor { stopped.append(monitor) }
            current = next
        }
        for monitor in stopped { monitor.stop() }
        if isRunning { for monitor in started { monitor.start() } }
    }

    /// Starts every monitor's background work (and those created later).
    public func start() {
        running.withLockedValue { $0 = true }
        for monitor in all { monitor.start() }
    }

    public func stop() {
        running.withLockedValue { $0 = false }
        for monitor in all { monitor.stop() }
    }

    public func monitor(named upstream: String) -> UpstreamHealthMonitor? {
        monitors.withLockedValue { $0[upstream] }
    }

    public var all: [UpstreamHealthMonitor] {
        monitors.withLockedValue { $0.values.sorted { $0.balancer.name < $1.balancer.name } }
    }

    /// Marks one address of an upstream healthy or unhealthy (Kong's
    /// `PUT /upstreams/{u}/targets/{t}/{ip:port}/healthy|unhealthy`).
    public func mark(upstream: String, address: Address, healthy: Bool) throws(GatewayError) {
        guard let monitor = monitor(named: upstream) else { throw GatewayError("no upstream named \(upstream)") }
        let known = healthy ? monitor.markHealthy(address) : monitor.markUnhealthy(address)
        guard known else { throw GatewayError("upstream \(upstream) has no address \(address)") }
    }

    /// Marks every current address of a target (`host:port`) healthy or unhealthy (Kong's
    /// `PUT /upstreams/{u}/targets/{t}/healthy|unhealthy`). Returns the addresses marked.
    @discardableResult
    public func mark(upstream: String, target: String, healthy: Bool) throws(GatewayError) -> [Address] {
        guard let monitor = monitor(named: upstream) else { throw GatewayError("no upstream named \(upstream)") }
        guard let addresses = monitor.addresses(ofTarget: target) else {
            throw GatewayError("upstream \(upstream) has no target \(target)")
        }
        for address in addresses {
            if healthy { monitor.markHealthy(address) } else { monitor.markUnhealthy(address) }
        }
        return addresses
    }
}
