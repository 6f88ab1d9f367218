import ArgumentParser
import Config
import Foundation
import Gateway
import Admin
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization
import UnixSignals

/// `switchyard start`: runs the gateway. Node settings come from flags, `SWITCHYARD_*` environment
/// variables and a settings file (in that precedence); entities from a declarative file or, without one, from
/// the SQLite database that the Admin API writes.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run the gateway: discovery, balancers and the proxy.",
        discussion: """
            Entities (services, routes, upstreams, targets, consumers) come from a Kong declarative file \
            (--config), or without one from the SQLite database (--database), which the Admin API \
            (--admin-listen) changes while the node runs. Send SIGHUP to reload without dropping \
            connections; SIGINT or SIGTERM stops the node after in-flight requests finish (the Admin API \
            first, then the proxy stops accepting and drains, then probes and discovery stop).
            """
    )

    @Option(name: .customLong("config"), help: "Declarative entity file (Kong format, YAML or JSON).")
    var configPath: String?

    @Option(name: .customLong("settings"), help: "Node settings file (YAML key: value).")
    var settingsPath: String?

    @Option(help: ArgumentHelp("SQLite database used when no --config is given (default: switchyard.db), or a cluster's PostgreSQL: postgres://USER:PASSWORD@HOST:PORT/DB.", valueName: "path-or-url"))
    var database: String?

    @Option(help: ArgumentHelp("Admin API listen address, or off (default 127.0.0.1:8001); add ' ssl' for HTTPS.", valueName: "host:port"))
    var adminListen: String?

    @Option(name: .customLong("admin-ssl-cert"), help: ArgumentHelp("PEM certificate for an Admin API listener with the ssl flag.", valueName: "path"))
    var adminSSLCert: String?

    @Option(name: .customLong("admin-ssl-cert-key"), help: ArgumentHelp("PEM private key of --admin-ssl-cert.", valueName: "path"))
    var adminSSLCertKey: String?

    @Option(name: .customLong("admin-allow"), help: ArgumentHelp("Client address block allowed to reach the Admin API (repeatable; default: every client).", valueName: "cidr"))
    var adminAllow: [String] = []

    @Option(help: ArgumentHelp("Proxy listen addresses, comma-separated; \"ssl\" after one terminates TLS (default 0.0.0.0:8000).",
                               valueName: "host:port[ ssl]"))
    var proxyListen: String?

    @Option(name: .customLong("ssl-cert"), help: ArgumentHelp("PEM certificate for ssl proxy listeners.", valueName: "path"))
    var sslCert: String?

    @Option(name: .customLong("ssl-cert-key"), help: ArgumentHelp("PEM private key of --ssl-cert.", valueName: "path"))
    var sslCertKey: String?

    @Option(name: .customLong("dns-server"), help: ArgumentHelp("DNS server to ask (repeatable; default: /etc/resolv.conf).", valueName: "host:port"))
    var dnsServers: [String] = []

    @Flag(name: .customLong("dns-prefer-tcp"), help: "Ask every DNS query over TCP (for servers that cut UDP answers without TC, like Consul without enable_truncate).")
    var dnsPreferTCP = false

    @Option(name: .customLong("dns-notify-listen"), help: ArgumentHelp("UDP address to receive DNS NOTIFY on: a zone change re-resolves its watched names at once (default: off).", valueName: "host:port"))
    var dnsNotifyListen: String?

    @Option(name: .customLong("dns-notify-allow"), help: ArgumentHelp("Address block allowed to send NOTIFY (repeatable; default: 127.0.0.0/8 and ::1).", valueName: "cidr"))
    var dnsNotifyAllow: [String] = []

    @Option(name: .customLong("dns-notify-tsig-key"), help: ArgumentHelp("Key file from tsig-keygen; every NOTIFY must then be signed with it.", valueName: "path"))
    var dnsNotifyTSIGKey: String?

    @Option(name: .customLong("control-socket"), help: ArgumentHelp("Unix socket where this node answers a takeover: a path, auto (default: $XDG_RUNTIME_DIR or /tmp, switchyard-<proxy port>.sock) or off.", valueName: "path"))
    var controlSocket: String?

    @Flag(name: .customLong("takeover"), help: "Take the listening sockets and state of the node running at the control socket, serve on them, and let it drain and exit: a restart or upgrade without a refused connection.")
    var takeover = false

    @Option(name: .customLong("takeover-from"), help: ArgumentHelp("--takeover from the node at this control socket (what a node passes its successor on SIGUSR2, or on SIGHUP when node settings changed).", valueName: "path"))
    var takeoverFrom: String?

    @Option(name: .customLong("drain-timeout"), help: ArgumentHelp("Seconds a stopping or handed-over node lets requests in progress finish (default 30).", valueName: "seconds"))
    var drainTimeout: String?

    @Option(name: .customLong("access-log"), help: ArgumentHelp("Access log: a file (reopened on SIGUSR1), stdout, or off (default).", valueName: "path"))
    var accessLog: String?

    @Option(help: "Event-loop threads (0: one per core).")
    var workers: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() async throws {
        // Trap SIGHUP and SIGUSR2 first: one sent while the node starts (right after it says it listens, or
        // after it took over) is queued and handled once it runs, not lost (or fatal, SIGHUP's default).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let rotations = await UnixSignalsSequence(trapping: .sigusr1)
        let upgrades = await UnixSignalsSequence(trapping: .sigusr2)
        var values: [String: String] = [:]
        if let proxyListen { values["proxy_listen"] = proxyListen }
        if let sslCert { values["ssl_cert"] = sslCert }
        if let sslCertKey { values["ssl_cert_key"] = sslCertKey }
        if !dnsServers.isEmpty { values["dns_servers"] = dnsServers.joined(separator: ",") }
        if dnsPreferTCP { values["dns_prefer_tcp"] = "true" }
        if let dnsNotifyListen { values["dns_notify_listen"] = dnsNotifyListen }
        if !dnsNotifyAllow.isEmpty { values["dns_notify_allow"] = dnsNotifyAllow.joined(separator: ",") }
        if let dnsNotifyTSIGKey { values["dns_notify_tsig_key"] = dnsNotifyTSIGKey }
        if let workers { values["workers"] = String(workers) }
        if let logLevel { values["log_level"] = logLevel }
        if let configPath { values["declarative_config"] = configPath }
        if let database { values["database"] = database }
        if let adminListen { values["admin_listen"] = adminListen }
        if let adminSSLCert { values["admin_ssl_cert"] = adminSSLCert }
        if let adminSSLCertKey { values["admin_ssl_cert_key"] = adminSSLCertKey }
        if !adminAllow.isEmpty { values["admin_allow"] = adminAllow.joined(separator: ",") }
        if let controlSocket { values["control_socket"] = controlSocket }
        if let drainTimeout { values["drain_timeout"] = drainTimeout }
        if let accessLog { values["access_log"] = accessLog }
        let environment = ProcessInfo.processInfo.environment
        let settings: NodeSettings
        let commandLine = SettingsLayer(source: "command line", values: values)
        do {
            settings = try ConfigFile.settings(settingsPath, environment: environment, commandLine: commandLine)
        } catch {
            throw StartFailure("invalid settings:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        }
        // The exclusivity switch is read before any setting (ExclusivityChecks); it is not a node setting.
        for name in SettingsLayer.unknownEnvironmentVariables(environment) where name != ExclusivityChecks.environmentVariable {
            FileHandle.standardError.write(Data("switchyard: warning: unknown setting \(name) ignored\n".utf8))
        }
        let adminTLS = try AdminWiring.loadTLS(settings: settings)
        // Entities come from the declarative file (DB-less) or the database; either way the Admin API works on
        // a store, in memory for a file so its changes last until the next reload.
        let path = settings.declarativeConfig
        var logger = Logger(label: "switchyard")
        logger.logLevel = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
        let store: any ConfigStore
        do {
            if path == nil, let location = settings.postgresLocation {
                store = try await PostgresStore.open(location, cache: ConfigCache(path: settings.postgres.cacheFile),
                                                     logger: logger)
                if store.health.fromCache {
                    emit("switchyard: PostgreSQL at \(location) is unreachable; starting from the cache \(settings.postgres.cacheFile) (generation \(store.snapshot.generation)); Admin API writes answer 503 until it is back")
                }
            } else {
                store = try SQLiteStore(path: path == nil ? settings.database : ":memory:")
            }
        } catch {
            throw StartFailure(error.message)
        }
        if let path { try await store.replace(with: StartCommand.loadConfig(path)) }
        let initial = store.snapshot
        let config = initial.config
        let node: GatewayNode
        do {
            node = try GatewayNode(settings: settings, logger: logger)
        } catch let error as GatewayError {
            throw StartFailure(error.message)
        }
        // A takeover asks the running node only now: a configuration this binary rejects has already stopped
        // it above, and the running node goes on serving.
        let handOver: TakeoverClient?
        if takeover || takeoverFrom != nil {
            guard let path = takeoverFrom ?? NodeControl.path(settings, boundPort: nil) else {
                await node.shutdown()
                throw StartFailure("--takeover needs the running node's control socket: set control_socket (it is off, or auto with proxy_listen port 0)")
            }
            do throws(GatewayError) {
                handOver = try TakeoverClient.begin(path: path)
            } catch {
                await node.shutdown()
                throw StartFailure("cannot take over: \(error.message)")
            }
        } else {
            handOver = nil
        }
        // Warm start: from the node taken over, else from the state file.
        var warm = handOver?.carry
        let stateFile = settings.stateFile.map(StateFile.init)
        if warm == nil, let stateFile {
            let (carry, note) = stateFile.read(maxAge: settings.dnsStaleTTL)
            warm = carry
            emit("switchyard: \(carry == nil ? note : "starting warm from the " + note)")
        }
        var carried = (names: 0, addresses: 0)
        if let warm { carried.names = node.restoreNames(warm) }
        node.apply(config, generation: initial.generation)
        if let warm { carried.addresses = node.restoreHealth(warm) }
        if handOver == nil, warm != nil {
            emit("switchyard: warm start: \(carried.names) DNS names and \(carried.addresses) address health states restored")
        }
        do {
            _ = try await node.start(inherited: handOver.map { NodeControl.inherited($0.sockets, settings: settings) })
        } catch let error as GatewayError {
            await node.shutdown()
            throw StartFailure(error.message)
        } catch {
            await node.shutdown()
            throw StartFailure(NodeControl.listenFailure(error, settings: settings))
        }
        if let handOver {
            do {
                try handOver.serving()
            } catch {
                logger.warning("takeover: \(error.message); serving anyway")
            }
            do {
                try await NodeControl.retrying { try await node.startNotify() }
            } catch {
                await node.shutdown()
                throw StartFailure("\(error)")
            }
        }
        // A cluster member is known by host and proxy port: unique on one host, stable across restarts.
        let cluster = store.cluster
        let memberID = cluster == nil ? nil : "\(ProcessInfo.processInfo.hostName):\(node.proxy.port.map(String.init) ?? "0")"
        let admin: [AdminServer]
        do {
            admin = try await NodeControl.retrying(enabled: handOver != nil) {
                try await AdminWiring.start(settings: settings, tls: adminTLS, store: store, node: node, nodeID: memberID,
                                            logger: logger) { snapshot in
                    node.apply(snapshot.config, generation: snapshot.generation)
                }
            }
        } catch {
            await node.shutdown()
            throw error
        }
        // A cluster node follows the other nodes' writes from here on, through the same ordered apply.
        let postgres = store as? PostgresStore
        postgres?.follow(every: .milliseconds(Int64((settings.postgres.updateFrequency * 1000).rounded()))) { snapshot in
            node.apply(snapshot.config, generation: snapshot.generation)
        }
        if let handOver {
            emit("switchyard: took over from PID \(handOver.predecessor) (\(handOver.sockets.count) listening sockets, \(carried.names) DNS names and \(carried.addresses) address health states carried)")
        }
        let listen = zip(settings.proxyListen, node.proxy.ports).map { listen, port in
            (listen.ssl ? "https://" : "http://") + Target.format(host: listen.host, port: port)
        }.joined(separator: ", ")
        emit("switchyard: proxy listening on \(listen) (\(config.services.count) services, \(config.routes.count) routes, \(config.upstreams.count) upstreams)")

        let controlPath = NodeControl.path(settings, boundPort: node.proxy.port)
        let upgradeLogger = logger
        let settingsPath = self.settingsPath
        let reload: @Sendable () async -> Void = {
            do {
                if let path, let memory = store as? SQLiteStore {
                    let config = try StartCommand.loadConfig(path)
                    let snapshot = try node.reload { () throws(StoreError) in try memory.replaceSynchronously(with: config) }
                    node.recordReload(source: path, error: nil)
                    emit("switchyard: reloaded \(path) (generation \(snapshot.generation))")
                } else if let file = store as? SQLiteStore {
                    let snapshot = try node.reload { () throws(StoreError) in try file.reload() }
                    node.recordReload(source: store.location, error: nil)
                    emit("switchyard: reloaded \(store.location) (generation \(snapshot.generation))")
                } else {
                    // PostgreSQL: versions only grow, so the re-read goes through the ordered apply like any change.
                    let snapshot = try await store.reload()
                    node.apply(snapshot.config, generation: snapshot.generation)
                    node.recordReload(source: store.location, error: nil)
                    emit("switchyard: reloaded \(store.location) (generation \(snapshot.generation))")
                }
            } catch {
                node.recordReload(source: path ?? store.location, error: "\(error)")
                FileHandle.standardError.write(Data("switchyard: reload failed, still serving the previous configuration:\n\(error)\n".utf8))
            }
            do throws(GatewayError) {
                try node.reloadCertificates()
            } catch {
                FileHandle.standardError.write(Data("switchyard: certificate reload failed, still serving the previous certificate: \(error.message)\n".utf8))
            }
            if !admin.isEmpty {
                do {
                    if let tls = try AdminWiring.loadTLS(settings: settings) {
                        for server in admin { try server.reloadCertificate(tls) }
                    }
                } catch {
                    FileHandle.standardError.write(Data("switchyard: admin API certificate reload failed, still serving the previous certificate: \((error as? AdminServerError)?.message ?? "\(error)")\n".utf8))
                }
            }
            // Node settings (listeners, workers, timeouts…) are fixed for a process's life: when they changed, a
            // successor with the new ones takes this node over, so the reload still refuses no connection.
            do throws(ConfigError) {
                let fresh = try ConfigFile.settings(settingsPath, environment: environment, commandLine: commandLine)
                let changed = NodeControl.changedSettings(settings, fresh)
                if !changed.isEmpty {
                    emit("switchyard: node settings changed (\(changed.joined(separator: ", "))); starting a successor to take over with them")
                    NodeControl.spawnSuccessor(controlPath: controlPath, logger: upgradeLogger)
                }
            } catch {
                node.recordReload(source: settingsPath ?? "settings", error: "invalid settings: " + error.issues.map(\.description).joined(separator: "; "))
                FileHandle.standardError.write(Data("switchyard: settings not reloaded, they do not validate:\n\(error.issues.map { "  \($0)" }.joined(separator: "\n"))\n".utf8))
            }
        }
        let handedOverFlag = HandOverFlag()
        let heartbeat = Duration.milliseconds(Int64((settings.postgres.updateFrequency * 1000).rounded()))
        let drain = TimeAmount.nanoseconds(Int64((settings.drainTimeout * 1e9).rounded()))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [GatewayService(node: node, drainTimeout: drain), AdminService(servers: admin), ReloadService(signals: hangups, reload: reload),
                       ReopenService(signals: rotations, reopen: { node.proxy.settings.accessLog?.reopen() }),
                       UpgradeService(signals: upgrades, spawn: { NodeControl.spawnSuccessor(controlPath: controlPath, logger: upgradeLogger) })]
                + (stateFile.map { [StateFileService(file: $0, node: node, handedOver: { handedOverFlag.isSet })] } ?? [])
                + (cluster.map { cluster in
                    [HeartbeatService(cluster: cluster, id: memberID ?? "", interval: heartbeat, node: node, store: store,
                                      handedOver: { handedOverFlag.isSet }, logger: logger)]
                } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let control: ControlServer?
        do throws(GatewayError) {
            control = try NodeControl.startServer(settings: settings, node: node, admin: admin, logger: logger) { successor in
                handedOverFlag.set()
                emit("switchyard: handed over to PID \(successor); draining (up to \(settings.drainTimeout) s)")
                Task { await group.triggerGracefulShutdown() }
            }
        } catch {
            for server in admin { await server.stop() }
            await node.shutdown(grace: drain)
            throw StartFailure(error.message)
        }
        SystemdNotify.send("READY=1\nMAINPID=\(getpid())")
        try await group.run()
        control?.stop()
        await postgres?.close()
    }

    static func loadConfig(_ path: String) throws -> DeclarativeConfig {
        do {
            let loaded = try ConfigFile.declarative(path)
            for warning in loaded.warnings {
                FileHandle.standardError.write(Data("switchyard: \(path): warning: \(warning)\n".utf8))
            }
            return loaded.config
        } catch {
            throw StartFailure("\(path) is not a valid configuration:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        }
    }
}

/// Why the node did not start, printed as is (without the usage text a flag error gets).
struct StartFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A one-way flag set from one thread and read from another.
final class HandOverFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
