import Admin
import ArgumentParser
import Balancer
import Config
import DNSWire
import Discovery
import Foundation
import Gateway
import Logging
import Store

/// Connects the Admin API to a running node: balancer and DNS state for reading, health overrides, and the
/// node's `apply` for configuration changes.
enum AdminWiring {
    static func runtime(node: GatewayNode) -> AdminRuntime {
        AdminRuntime(
            balancer: { name in node.upstreams.balancer(named: name) },
            dns: {
                let now = ContinuousClock.now
                return node.watcher.statuses.map { watchedName($0, now: now) }
            },
            markTarget: { upstream, target, healthy in
                do {
                    try node.health.mark(upstream: upstream, target: target, healthy: healthy)
                    return nil
                } catch let error as GatewayError {
                    return error.message
                } catch {
                    return "\(error)"
                }
            },
            markAddress: { upstream, address, healthy in
                do {
                    try node.health.mark(upstream: upstream, address: address, healthy: healthy)
                    return nil
                } catch let error as GatewayError {
                    return error.message
                } catch {
                    return "\(error)"
                }
            },
            counters: {
                let stats = node.proxy.statistics
                return ["proxy_configuration_generation": node.proxy.configuration.generation,
                        "connections_accepted": stats.connectionsAccepted,
                        "connections_active": stats.connectionsOpen,
                        "total_requests": stats.requests]
            },
            nodeID: ProcessInfo.processInfo.hostName)
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
        var lastError = status.lastError
        switch snapshot.status {
        case .fresh: state = "fresh"
        case let .stale(error, _, until):
            state = "stale"
            staleFor = seconds(until - now)
            lastError = lastError ?? error
        case let .negativeHold(reason, _, until):
            state = "negative_hold"
            staleFor = seconds(until - now)
            lastError = lastError ?? reason
        case let .failed(error):
            state = "failed"
            lastError = lastError ?? error
        }
        return WatchedName(
            name: snapshot.name, kind: status.kind == .service ? "SRV" : "A/AAAA", records: records, ttl: snapshot.ttl,
            nextRefreshIn: seconds(snapshot.nextRefresh - now),
            refreshedAgo: snapshot.refreshedAt.map { seconds(now - $0) }, status: state, lastError: lastError,
            staleFor: staleFor, generation: snapshot.generation, queries: status.queries)
    }

    /// Starts the Admin API on the first `admin_listen` address. A listener off loopback needs Admin API
    /// tokens (`switchyard admin-token create`): without one the node refuses to start rather than expose
    /// an open Admin API.
    static func start(settings: NodeSettings, store: ConfigStore, node: GatewayNode, logger: Logger,
                      onChange: @escaping @Sendable (DeclarativeConfig) -> Void) async throws -> AdminServer? {
        guard let listen = settings.adminListen.first else { return nil }
        if let refusal = AdminSecurity.refusal(host: listen.host, port: listen.port, hasTokens: store.hasTokens) {
            throw ValidationError(refusal)
        }
        var allow: [IPNetwork] = []
        for block in settings.adminAllow {
            guard let network = IPNetwork(block) else {
                throw ValidationError("admin_allow: \"\(block)\" is not an address block such as 10.0.0.0/8 (no bits may be set past the prefix)")
            }
            allow.append(network)
        }
        let api = AdminAPI(store: store, runtime: runtime(node: node),
                           requireToken: !AdminSecurity.isLoopback(listen.host), allow: allow, logger: logger,
                           onChange: onChange)
        do {
            let server = try await AdminServer.start(api, host: listen.host, port: listen.port, logger: logger)
            emit("switchyard: admin API listening on \(Target.format(host: listen.host, port: server.port))")
            return server
        } catch {
            throw ValidationError(error.message)
        }
    }
}
