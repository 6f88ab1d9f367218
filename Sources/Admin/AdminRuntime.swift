import Balancer
import Foundation

/// The running node as the Admin API sees it: balancers, DNS watches and health overrides, given as closures so
/// the API can be tested without a proxy and does not depend on the layers that wire the node together.
public struct AdminRuntime: Sendable {
    /// The live balancer of an upstream, by name.
    public var balancer: @Sendable (String) -> UpstreamBalancer?
    /// Every watched DNS name.
    public var dns: @Sendable () -> [WatchedName]
    /// Marks every address of a target healthy (true) or unhealthy; returns an error message when the
    /// upstream or target is unknown.
    public var markTarget: @Sendable (_ upstream: String, _ target: String, _ healthy: Bool) -> String?
    /// Marks one address; returns an error message when unknown.
    public var markAddress: @Sendable (_ upstream: String, _ address: Address, _ healthy: Bool) -> String?
    /// Node counters for `/status` (`connections_active`, `total_requests`...), when the proxy reports them.
    public var counters: @Sendable () -> [String: Int]
    /// DNS NOTIFY packets by outcome (`accepted`, `malformed`, `source_refused`...) and `refreshes`; empty when
    /// the node has no NOTIFY listener.
    public var notify: @Sendable () -> [String: Int]
    /// The binary's version, shown by the dashboard.
    public var version: String = "dev"
    /// Identifies this node in health answers (Kong's `node_id`).
    public var nodeID: String
    /// How the last reload (SIGHUP) went, for `/status`; nil before the first.
    public var lastReload: @Sendable () -> ReloadReport? = { nil }
    /// The proxy's request series (counts and latency histograms), emitted by `/metrics` after the node's state.
    public var requestMetrics: (@Sendable (inout [UInt8]) -> Void)? = nil
    /// Each service's request totals, for the dashboard.
    public var traffic: @Sendable () -> [ServiceTraffic] = { [] }
    /// An upstream's ejection history (timeline and totals), by name; nil without health checks.
    public var ejections: @Sendable (String) -> EjectionHistory? = { _ in nil }

    public init(balancer: @escaping @Sendable (String) -> UpstreamBalancer? = { _ in nil },
                dns: @escaping @Sendable () -> [WatchedName] = { [] },
                markTarget: @escaping @Sendable (String, String, Bool) -> String? = { upstream, _, _ in "no balancer for upstream \(upstream)" },
                markAddress: @escaping @Sendable (String, Address, Bool) -> String? = { upstream, _, _ in "no balancer for upstream \(upstream)" },
                counters: @escaping @Sendable () -> [String: Int] = { [:] },
                notify: @escaping @Sendable () -> [String: Int] = { [:] },
                nodeID: String = "local") {
        self.balancer = balancer
        self.dns = dns
        self.markTarget = markTarget
        self.markAddress = markAddress
        self.counters = counters
        self.notify = notify
        self.nodeID = nodeID
    }
}

/// The outcome of a reload: a file or database that does not validate changes nothing, and says why here.
public struct ReloadReport: Sendable {
    public var ok: Bool
    /// What was re-read (the declarative file or the database).
    public var source: String
    public var error: String?
    public var at: Date
    /// The configuration generation in force afterwards.
    public var generation: Int

    public init(ok: Bool, source: String, error: String?, at: Date = Date(), generation: Int) {
        self.ok = ok
        self.source = source
        self.error = error
        self.at = at
        self.generation = generation
    }
}
