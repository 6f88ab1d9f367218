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
        let api = AdminAPI(store: store, runtime: node.adminRuntime(),
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
