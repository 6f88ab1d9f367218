import Admin
import Balancer
import Discovery
import Foundation

extension GatewayNode {
    /// The Admin API's view of this node: balancer and DNS state for reading, health overrides, counters.
    public func adminRuntime() -> AdminRuntime {
        let node = self
        var runtime = AdminRuntime(
            balancer: { name in node.upstreams.balancer(named: name) },
            dns: {
                let now = ContinuousClock.now
                return node.watcher.statuses.map { GatewayNode.watchedName($0, now: now) }
            },
            markTarget: { upstream, target, healthy in
                GatewayNode.refusal { () throws(GatewayError) in _ = try node.health.mark(upstream: upstream, target: target, healthy: healthy) }
            },
            markAddress: { upstream, address, healthy in
                GatewayNode.refusal { () throws(GatewayError) in try node.health.mark(upstream: upstream, address: address, healthy: healthy) }
            },
            counters: {
                let stats = node.proxy.statistics
                let dns = node.resolver.counters
                return ["proxy_configuration_generation": node.proxy.configuration.generation,
                        "connections_accepted": stats.connectionsAccepted,
                        "connections_active": stats.connectionsOpen,
                        "total_requests": stats.requests,
                        "dns_queries": dns.queries, "dns_answers": dns.answers,
                        "dns_negative_answers": dns.negative, "dns_failures": dns.failures,
                        "access_log_lines": node.proxy.settings.accessLog?.written ?? 0,
                        "access_log_dropped": node.proxy.settings.accessLog?.dropped ?? 0]
            },
            notify: { node.notify?.counters ?? [:] },
            nodeID: ProcessInfo.processInfo.hostName)
        runtime.lastReload = { node.lastReload }
        runtime.version = SwitchyardVersion.current
        if let metrics = node.requestMetrics {
            runtime.requestMetrics = { bytes in metrics.emit(into: &bytes) }
        }
        runtime.traffic = { node.requestMetrics?.traffic ?? [] }
        runtime.ejections = { name in node.health.monitor(named: name)?.ejectionHistory }
        return runtime
    }

    /// Runs an override; nil when it worked, else the message the Admin API returns.
    static func refusal(_ body: () throws(GatewayError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.message
        }
    }

    static func watchedName(_ status: DNSWatcher.NameStatus, now: ContinuousClock.Instant) -> WatchedName {
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        let snapshot = status.snapshot
        let records: [String]
        switch snapshot.content {
        case .empty: records = []
        case let .addresses(list): records = list.map(\.description)
        case let .services(list):
            records = list.map { entry in
                "\(entry.priority) \(entry.weight) \(entry.port) \(entry.target)"
                    + (entry.addresses.isEmpty ? "" : " (" + entry.addresses.map(\.description).joined(separator: ", ") + ")")
            }
        }
        let state: String
        var staleFor: Double?
        var staleServeRemaining: Double?
        var lastError = status.lastError
        switch snapshot.status {
        case .fresh: state = "fresh"
        case let .stale(error, since, until):
            state = "stale"
            staleFor = seconds(now - since)
            staleServeRemaining = seconds(until - now)
            lastError = lastError ?? error
        case let .negativeHold(reason, since, until):
            state = "negative_hold"
            staleFor = seconds(now - since)
            staleServeRemaining = seconds(until - now)
            lastError = lastError ?? reason
        case let .failed(error):
            state = "failed"
            lastError = lastError ?? error
        }
        return WatchedName(
            name: snapshot.name, kind: status.kind == .service ? "SRV" : "A/AAAA", records: records, ttl: snapshot.ttl,
            nextRefreshIn: seconds(snapshot.nextRefresh - now),
            refreshedAgo: snapshot.refreshedAt.map { seconds(now - $0) }, status: state, lastError: lastError,
            staleFor: staleFor, staleServeRemaining: staleServeRemaining, warning: status.warning,
            generation: snapshot.generation, queries: status.queries,
            failures: status.failures)
    }

}
