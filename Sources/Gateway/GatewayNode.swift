import Balancer
import Config
import Discovery
import DNSWire
import Foundation
import Admin
import Logging
import NIOCore
import NIOSSL
import NIOHTTP1
import Proxy
import Routing
import Store
import Synchronization

/// One Switchyard node: the resolver and watcher, the upstream balancers, and the proxy, kept in step
/// with a configuration. `apply` can be called at any time (a reload): the proxy swaps to the new
/// routes without dropping connections, and upstreams that stay keep their balancers and health state.
///
/// `apply` and `reload` are the node's one configuration applier: every change (the file on SIGHUP, each Admin
/// write, `POST /config`) goes through them one at a time, in the store's generation order, and ends in one
/// immutable `ProxyConfiguration` published per generation.
public final class GatewayNode: Sendable {
    public let settings: NodeSettings
    public let resolver: DNSResolver
    public let watcher: DNSWatcher
    /// The DNS NOTIFY listener (`dns_notify_listen`), nil when off.
    public let notify: NotifyListener?
    public let upstreams: UpstreamRegistry
    /// Circuit breakers and active probes, one monitor per upstream; operator overrides go here.
    public let health: HealthMonitors
    /// Request counts and latency histograms, recorded off the request path (`/metrics`, the dashboard).
    public let requestMetrics: RequestMetrics?
    public let proxy: ProxyServer
    private let tlsContexts: UpstreamTLSContexts
    /// The certificate of `ssl` proxy listeners, replaced by `reloadCertificates()`; nil without one.
    private let listenerTLS: ListenerTLS?
    /// The store generation in force; held for the whole of an apply, so applies never overlap.
    private let applied = Mutex<Int>(Int.min)
    private let reloadReport = Mutex<ReloadReport?>(nil)
    private let logger: Logger

    public init(settings: NodeSettings, logger: Logger = Logger(label: "switchyard")) throws {
        self.settings = settings
        self.logger = logger
        tlsContexts = try UpstreamTLSContexts(trustedCertificate: settings.upstreamTLSTrustedCertificate)
        var resolverConfiguration = ResolverConfiguration()
        resolverConfiguration.servers = try settings.dnsServers.map { listen in
            do throws(DiscoveryError) {
                return try NameServer(parsing: listen.description)
            } catch {
                throw GatewayError("dns_servers: \(error.message)")
            }
        }
        resolverConfiguration.timeout = .milliseconds(settings.dnsTimeout)
        resolverConfiguration.tries = settings.dnsTries
        resolverConfiguration.tcpOnly = settings.dnsPreferTCP
        do {
            resolver = try DNSResolver(configuration: resolverConfiguration, logger: logger)
        } catch {
            throw GatewayError("cannot start the DNS resolver: \(error.message)")
        }
        let policy = GatewayNode.refreshPolicy(settings)
        let problems = policy.validate()
        guard problems.isEmpty else {
            resolver.shutdown()
            throw GatewayError(problems.joined(separator: "; "))
        }
        watcher = DNSWatcher(resolver: resolver, policy: policy, logger: logger)
        do {
            notify = try GatewayNode.notifyListener(settings, watcher: watcher, logger: logger)
        } catch {
            resolver.shutdown()
            throw error
        }
        let workers = settings.workers > 0 ? settings.workers : System.coreCount
        upstreams = UpstreamRegistry(watcher: watcher, loops: workers, logger: logger)
        health = HealthMonitors(logger: logger)
        guard !settings.proxyListen.isEmpty else {
            resolver.shutdown()
            throw GatewayError("proxy_listen names no address")
        }
        let listeners: [ProxyServer.Settings.Listener]
        do {
            let tls = try GatewayNode.listenerTLSContext(settings).map(ListenerTLS.init)
            listenerTLS = tls
            listeners = settings.proxyListen.map { listen in
                ProxyServer.Settings.Listener(host: listen.host, port: listen.port, tls: listen.ssl ? tls : nil)
            }
        } catch {
            resolver.shutdown()
            throw error
        }
        var proxySettings = ProxyServer.Settings(listeners: listeners, workers: workers,
                                                 pool: GatewayNode.poolSettings(settings))
        let registry = upstreams
        requestMetrics = settings.requestMetrics ? RequestMetrics(present: { upstream, address in
            registry.balancer(named: upstream)?.ring.addresses.contains { $0.address == address } ?? false
        }) : nil
        proxySettings.observer = requestMetrics
        if let destination = settings.accessLog {
            do throws(AccessLogError) {
                proxySettings.accessLog = try AccessLog(
                    destination: destination == "stdout" ? .stdout : .file(destination),
                    format: AccessLogFormat(rawValue: settings.accessLogFormat) ?? .json)
            } catch {
                resolver.shutdown()
                throw GatewayError(error.message)
            }
        }
        proxy = ProxyServer(
            settings: proxySettings,
            configuration: ProxyConfiguration(router: EmptyRouter(), limits: GatewayNode.limits(settings)),
            logger: logger)
    }

    /// The server context of `ssl` proxy listeners from `ssl_cert`/`ssl_cert_key` (nil without such a listener),
    /// read and checked so a bad file is refused with the setting and file named.
    static func listenerTLSContext(_ settings: NodeSettings) throws(GatewayError) -> NIOSSLContext? {
        guard settings.proxyListen.contains(where: \.ssl) else { return nil }
        guard let certificate = settings.sslCert, let key = settings.sslCertKey else {
            throw GatewayError("an ssl proxy_listen needs ssl_cert and ssl_cert_key")
        }
        do {
            let loaded = try AdminTLS.load(certificatePath: certificate, keyPath: key,
                                           certificateSetting: "ssl_cert", keySetting: "ssl_cert_key")
            return try NIOSSLContext(configuration: loaded.configuration)
        } catch let error as AdminServerError {
            throw GatewayError(error.message)
        } catch {
            throw GatewayError("ssl_cert: cannot set up TLS: \(error)")
        }
    }

    /// Reads `ssl_cert`/`ssl_cert_key` again (certificate rotation, on SIGHUP): new client connections get the
    /// new certificate, open ones keep theirs. A file that fails the checks changes nothing and is reported.
    public func reloadCertificates() throws(GatewayError) {
        guard let listenerTLS, let context = try GatewayNode.listenerTLSContext(settings) else { return }
        listenerTLS.replace(with: context)
    }

    /// The NOTIFY listener `dns_notify_*` ask for, its key file read and checked now so a bad one stops the node
    /// with the setting and file named.
    static func notifyListener(_ settings: NodeSettings, watcher: DNSWatcher,
                               logger: Logger) throws(GatewayError) -> NotifyListener? {
        guard let listen = settings.dnsNotifyListen else { return nil }
        var allow: [IPNetwork] = []
        for block in settings.dnsNotifyAllow {
            guard let network = IPNetwork(block) else {
                throw GatewayError("dns_notify_allow: \"\(block)\" is not an address block such as 10.0.0.0/8 (no bits may be set past the prefix)")
            }
            allow.append(network)
        }
        var key: TSIGKey?
        if let path = settings.dnsNotifyTSIGKey {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw GatewayError("dns_notify_tsig_key: cannot read \(path): \(error.localizedDescription)")
            }
            do throws(TSIGKeyError) {
                key = try TSIGKey.parse(text)
            } catch {
                throw GatewayError("dns_notify_tsig_key: \(path): \(error.message)")
            }
        }
        return NotifyListener(host: listen.host, port: listen.port, gate: NotifyGate(allow: allow, key: key),
                              watcher: watcher, logger: logger)
    }

    static func poolSettings(_ settings: NodeSettings) -> PoolSettings {
        PoolSettings(maxIdlePerAddress: settings.upstreamKeepalivePoolSize,
                     idleTimeout: .nanoseconds(Int64(settings.upstreamKeepaliveIdleTimeout * 1e9)),
                     maxRequestsPerConnection: settings.upstreamKeepaliveMaxRequests,
                     maxConnectionsPerAddress: settings.upstreamMaxConnections)
    }

    /// The proxy's client limits from the `client_*` and `max_request_body_size` settings.
    static func limits(_ settings: NodeSettings) -> ProxyLimits {
        func amount(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64((seconds * 1e9).rounded())) }
        return ProxyLimits(maxHeaderBytes: settings.clientMaxHeaderSize, maxHeaderCount: settings.clientMaxHeaderCount,
                           maxURILength: settings.clientMaxURILength,
                           maxBodyBytes: settings.maxRequestBodySize > 0 ? Int64(settings.maxRequestBodySize) : .max,
                           headerReadTimeout: amount(settings.clientHeaderTimeout),
                           bodyReadTimeout: amount(settings.clientBodyTimeout),
                           clientIdleTimeout: amount(settings.clientKeepaliveTimeout))
    }

    static func refreshPolicy(_ settings: NodeSettings) -> RefreshPolicy {
        func seconds(_ value: Double) -> Duration { .milliseconds(Int64((value * 1000).rounded())) }
        var policy = RefreshPolicy()
        policy.minTTL = seconds(settings.dnsMinTTL)
        policy.maxTTL = seconds(settings.dnsMaxTTL)
        policy.staleTTL = seconds(settings.dnsStaleTTL)
        policy.negativeHold = seconds(settings.dnsNotFoundHold)
        policy.errorRetryInitial = seconds(settings.dnsErrorRetry)
        policy.errorRetryMax = seconds(settings.dnsErrorRetryMax)
        policy.negativeRetryMax = seconds(settings.dnsNotFoundRetryMax)
        return policy
    }

    /// Starts discovery and the proxy; returns the proxy's bound port. `inherited` are listening sockets handed
    /// over by the node this one takes over (by index in `proxy_listen`); the NOTIFY listener then waits for
    /// `startNotify()`, since the old node holds its port until it lets go.
    public func start(inherited: [Int: CInt]? = nil) async throws -> Int {
        upstreams.start()
        health.start()
        if inherited == nil { try await startNotify() }
        return try await proxy.start(inherited: inherited ?? [:])
    }

    /// Starts listening for DNS NOTIFY (`dns_notify_listen`), if set.
    public func startNotify() async throws {
        if let notify, let listen = settings.dnsNotifyListen {
            do {
                _ = try await notify.start()
            } catch {
                throw GatewayError("cannot listen for DNS NOTIFY on \(listen) (dns_notify_listen): \(error)")
            }
        }
    }

    /// Stops the proxy (letting in-flight requests finish within `grace`), then discovery.
    public func shutdown(grace: TimeAmount = .seconds(10)) async {
        do {
            let cut = try await proxy.stop(grace: grace)
            logger.notice("proxy stopped", metadata: ["cut_connections": "\(cut)", "drain_timeout": "\(grace)"])
        } catch {
            logger.warning("proxy did not stop cleanly", metadata: ["error": "\(error)"])
        }
        proxy.settings.accessLog?.stop()
        await notify?.stop()
        health.stop()
        upstreams.stop()
        watcher.shutdown()
        resolver.shutdown()
    }

    /// Makes the node serve `config` unless a configuration of the same or a later `generation` (the store's)
    /// is already in force; returns whether it applied. Without a generation, `config` counts as newer than any.
    /// Callers on different threads (Admin listeners, SIGHUP) are serialized, and an older snapshot that
    /// arrives late is ignored instead of replacing a newer one. Calls without a generation (tests, embedding)
    /// are not meant to be mixed with store generations.
    @discardableResult
    public func apply(_ config: DeclarativeConfig, generation: Int? = nil) -> Bool {
        applied.withLock { current in
            let next = generation ?? (current == Int.min ? 1 : current + 1)
            guard next > current else { return false }
            install(config, generation: next)
            current = next
            return true
        }
    }

    /// Applies the snapshot the store holds after `read` (for SIGHUP: re-reading the database or the
    /// declarative file), with the read and the apply in one turn of the applier: no Admin write can commit
    /// between them and then be overwritten, so what `read` returns is the newest there is and is applied
    /// whatever its generation (an operator asked for it; a database restored from a backup may even carry
    /// an older generation, and the writes that follow count on from it).
    @discardableResult
    public func reload<E: Error>(_ read: () throws(E) -> StoreSnapshot) throws(E) -> StoreSnapshot {
        try applied.withLock { (current: inout Int) throws(E) -> StoreSnapshot in
            let snapshot = try read()
            install(snapshot.config, generation: snapshot.generation)
            current = snapshot.generation
            return snapshot
        }
    }

    /// Records how a reload went (shown in `/status`): a reload that failed changed nothing.
    public func recordReload(source: String, error: String?) {
        let report = ReloadReport(ok: error == nil, source: source, error: error, generation: appliedGeneration)
        reloadReport.withLock { $0 = report }
    }

    /// The last reload's outcome, nil before the first.
    public var lastReload: ReloadReport? { reloadReport.withLock { $0 } }

    /// The generation of the configuration in force (`Int.min` before the first apply).
    public var appliedGeneration: Int { applied.withLock { $0 } }

    /// Builds balancers for `config`'s upstreams (and for services that name a plain host) and the router for
    /// its routes, and publishes them to the proxy in one swap. Only called by the applier, under its lock.
    private func install(_ config: DeclarativeConfig, generation next: Int) {
        var entries: [(name: String, settings: UpstreamSettings, targets: [TargetSpec])] = config.upstreams.map { upstream in
            (upstream.name, UpstreamMapping.settings(upstream),
             UpstreamMapping.targets(config.targets(of: upstream.id)))
        }
        var plainHosts: [String: (host: String, port: Int)] = [:]
        for service in config.services where config.upstream(forServiceHost: service.host) == nil {
            plainHosts[GatewayNode.plainHostKey(service.host, service.port)] = (service.host, service.port)
        }
        for (key, target) in plainHosts.sorted(by: { $0.key < $1.key }) {
            entries.append((key, UpstreamSettings(),
                            [TargetSpec(host: target.host, port: UInt16(clamping: target.port))]))
        }
        upstreams.apply(entries)
        var policies: [String: HealthPolicy] = [:]
        for upstream in config.upstreams {
            policies[upstream.name] = HealthMapping.policy(upstream.healthchecks, hostHeader: upstream.hostHeader,
                                                           tls: tlsContexts)
        }
        health.apply(entries.compactMap { entry in
            upstreams.balancer(named: entry.name).map { ($0, policies[entry.name] ?? .off) }
        })

        var bindings: [GatewayRouter.Binding?] = Array(repeating: nil, count: config.services.count)
        for (index, service) in config.services.enumerated() {
            let upstream = config.upstream(forServiceHost: service.host)
            let key = upstream?.name ?? GatewayNode.plainHostKey(service.host, service.port)
            guard let balancer = upstreams.balancer(named: key) else { continue }
            let settings = upstream.map(UpstreamMapping.settings) ?? UpstreamSettings()
            let defaultHost = upstream?.hostHeader ?? UpstreamHostHeader.forTarget(host: service.host, port: service.port,
                                                                                   protocol: service.protocol)
            let proxyService = ProxyService(
                name: service.displayName,
                connectTimeout: .milliseconds(Int64(service.connectTimeout)),
                readTimeout: .milliseconds(Int64(service.readTimeout)),
                writeTimeout: .milliseconds(Int64(service.writeTimeout)),
                retries: service.retries,
                selector: BalancerSelector(balancer: balancer, settings: settings, monitor: health.monitor(named: key)),
                tls: service.protocol == .https
                    ? tlsContexts.tls(verify: service.tlsVerify ?? false, hostHeader: defaultHost) : nil,
                upstream: key)
            bindings[index] = GatewayRouter.Binding(service: proxyService, defaultHost: defaultHost,
                                                         // Only consistent hashing uses a key: no cookie is
                                                         // generated for an upstream that would not read it.
                                                         hashOn: settings.algorithm == .consistentHashing ? settings.hashOn : .none,
                                                         hashFallback: settings.hashFallback,
                                                         hashCookiePath: upstream?.hashOnCookiePath ?? "/")
        }
        let router = GatewayRouter(router: Router(config: config), bindings: bindings,
                                   defaultMaxBodyBytes: settings.maxRequestBodySize > 0 ? Int64(settings.maxRequestBodySize) : nil)
        proxy.update(ProxyConfiguration(router: router, limits: GatewayNode.limits(settings), generation: next))
        logger.info("configuration applied", metadata: [
            "generation": "\(next)", "services": "\(config.services.count)", "routes": "\(config.routes.count)",
            "upstreams": "\(config.upstreams.count)",
        ])
    }

    static func plainHostKey(_ host: String, _ port: Int) -> String { "\(host):\(port)" }

    // MARK: Carrying state to the next process

    /// The state the process taking this node over starts from (also the state file's content).
    public func carried() -> NodeCarry {
        let now = ContinuousClock.now
        var health: [String: [CarriedBreaker]] = [:]
        for monitor in self.health.all {
            let breakers = monitor.carried(now: now)
            if !breakers.isEmpty { health[monitor.balancer.name] = breakers }
        }
        return NodeCarry(takenAt: Date().timeIntervalSince1970, generation: appliedGeneration,
                         names: watcher.carried(), health: health)
    }

    /// First half of a warm start, before the first `apply`: the DNS answers, so the balancers built by that
    /// apply have their addresses at once and no name is asked before its carried TTL runs out.
    @discardableResult
    public func restoreNames(_ carry: NodeCarry) -> Int {
        guard carry.format == NodeCarry.currentFormat else { return 0 }
        return watcher.restore(carry.names, elapsed: carry.age())
    }

    /// Second half of a warm start, after the first `apply`: ejections, half-open trials, holds and backoff
    /// for the addresses the rings have; carried names no upstream uses stop being watched. Returns how many
    /// addresses took carried health state.
    @discardableResult
    public func restoreHealth(_ carry: NodeCarry) -> Int {
        guard carry.format == NodeCarry.currentFormat else { return 0 }
        let used = Set(upstreams.all.flatMap(\.names).map(DNSResolver.normalized))
        for name in watcher.names where !used.contains(name) { watcher.unwatch(name) }
        let elapsed = carry.age()
        var count = 0
        for (upstream, breakers) in carry.health {
            count += health.monitor(named: upstream)?.restore(breakers, elapsed: elapsed) ?? 0
        }
        return count
    }
}

/// Routes nothing: the proxy's configuration before the first `apply`.
struct EmptyRouter: ProxyRouter {
    func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? { nil }
}

/// A node that cannot start or apply its configuration, with a message a person can act on.
public struct GatewayError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
