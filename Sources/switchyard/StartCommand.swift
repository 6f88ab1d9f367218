import ArgumentParser
import Config
import Foundation
import Gateway
import Logging

/// `switchyard start`: runs the gateway. Node settings come from flags, `SWITCHYARD_*` environment
/// variables and a settings file (in that precedence); entities from a declarative file.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Run the gateway: discovery, balancers and the proxy.",
        discussion: """
            Entities (services, routes, upstreams, targets, consumers) come from a Kong declarative file \
            (--config). Send SIGHUP to reload it without dropping connections; SIGINT or SIGTERM stops \
            the node after in-flight requests finish.
            """
    )

    @Option(name: .customLong("config"), help: "Declarative entity file (Kong format, YAML or JSON).")
    var configPath: String?

    @Option(name: .customLong("settings"), help: "Node settings file (YAML key: value).")
    var settingsPath: String?

    @Option(help: ArgumentHelp("Proxy listen address (default 0.0.0.0:8000).", valueName: "host:port"))
    var proxyListen: String?

    @Option(name: .customLong("dns-server"), help: ArgumentHelp("DNS server to ask (repeatable; default: /etc/resolv.conf).", valueName: "host:port"))
    var dnsServers: [String] = []

    @Option(help: "Event-loop threads (0: one per core).")
    var workers: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() async throws {
        var values: [String: String] = [:]
        if let proxyListen { values["proxy_listen"] = proxyListen }
        if !dnsServers.isEmpty { values["dns_servers"] = dnsServers.joined(separator: ",") }
        if let workers { values["workers"] = String(workers) }
        if let logLevel { values["log_level"] = logLevel }
        if let configPath { values["declarative_config"] = configPath }
        let environment = ProcessInfo.processInfo.environment
        let settings: NodeSettings
        do {
            settings = try NodeSettings.load(filePath: settingsPath, environment: environment,
                                             commandLine: SettingsLayer(source: "command line", values: values))
        } catch {
            throw ValidationError("invalid settings:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        }
        for name in SettingsLayer.unknownEnvironmentVariables(environment) {
            FileHandle.standardError.write(Data("switchyard: warning: unknown setting \(name) ignored\n".utf8))
        }
        guard let path = settings.declarativeConfig else {
            throw ValidationError("give the entities with --config FILE (or declarative_config in the settings)")
        }
        let config = try StartCommand.loadConfig(path)

        var logger = Logger(label: "switchyard")
        logger.logLevel = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
        let node: GatewayNode
        do {
            node = try GatewayNode(settings: settings, logger: logger)
        } catch let error as GatewayError {
            throw ValidationError(error.message)
        }
        node.apply(config)
        let port = try await node.start()
        let listen = settings.proxyListen.first.map { "\($0.host):\(port)" } ?? "port \(port)"
        emit("switchyard: proxy listening on \(listen) (\(config.services.count) services, \(config.routes.count) routes, \(config.upstreams.count) upstreams)")

        for await signal in SignalWaiter.signals([SIGINT, SIGTERM, SIGHUP]) {
            if signal == SIGHUP {
                do {
                    node.apply(try StartCommand.loadConfig(path))
                    emit("switchyard: reloaded \(path)")
                } catch {
                    FileHandle.standardError.write(Data("switchyard: reload failed, still serving the previous configuration:\n\(error)\n".utf8))
                }
                continue
            }
            break
        }
        emit("switchyard: stopping")
        await node.shutdown()
    }

    static func loadConfig(_ path: String) throws -> DeclarativeConfig {
        do {
            let loaded = try DeclarativeConfig.load(path: path)
            for warning in loaded.warnings {
                FileHandle.standardError.write(Data("switchyard: \(path): warning: \(warning)\n".utf8))
            }
            return loaded.config
        } catch {
            throw ValidationError("\(path) is not a valid configuration:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"))
        }
    }
}
