import Admin
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
    /// Reads the certificate and key of an `ssl` Admin API listener, before anything listens, so a bad file
    /// stops the node with a message naming the setting and the file.
    static func loadTLS(settings: NodeSettings) throws -> AdminTLS? {
        guard let listen = settings.adminListen.first(where: \.ssl) else { return nil }
        // NodeSettings already refused an ssl listener without both files.
        guard let certificate = settings.adminSSLCert, let key = settings.adminSSLCertKey else {
            throw StartFailure("admin_listen \(listen) needs admin_ssl_cert and admin_ssl_cert_key")
        }
        do {
            return try AdminTLS.load(certificatePath: certificate, keyPath: key)
        } catch {
            throw StartFailure("cannot start the Admin API over TLS: \(error.message)")
        }
    }

    /// Starts the Admin API on every `admin_listen` address (none for `off`). A listener off loopback needs
    /// Admin API tokens (`switchyard admin-token create`): without one the node refuses to start rather than
    /// expose an open Admin API, with or without TLS (TLS protects the traffic, not the API). `tls` comes from
    /// `loadTLS` and serves every `ssl` listener. If one listener cannot start, those already started stop.
    static func start(settings: NodeSettings, tls: AdminTLS?, store: any ConfigStore, node: GatewayNode,
                      nodeID: String? = nil, logger: Logger,
                      onChange: @escaping @Sendable (StoreSnapshot) -> Void) async throws -> [AdminServer] {
        for listen in settings.adminListen {
            if let refusal = AdminSecurity.refusal(host: listen.host, port: listen.port, hasTokens: await store.hasTokens) {
                throw StartFailure(refusal)
            }
        }
        var allow: [IPNetwork] = []
        for block in settings.adminAllow {
            guard let network = IPNetwork(block) else {
                throw StartFailure("admin_allow: \"\(block)\" is not an address block such as 10.0.0.0/8 (no bits may be set past the prefix)")
            }
            allow.append(network)
        }
        var servers: [AdminServer] = []
        for listen in settings.adminListen {
            if !listen.ssl, !AdminSecurity.isLoopback(listen.host) {
                logger.warning("admin API listens on \(listen) without TLS: tokens and configuration cross the network in clear; add the ssl flag with admin_ssl_cert and admin_ssl_cert_key")
            }
            var runtime = node.adminRuntime()
            if let nodeID { runtime.nodeID = nodeID }
            let api = AdminAPI(store: store, runtime: runtime,
                               requireToken: !AdminSecurity.isLoopback(listen.host), allow: allow, logger: logger,
                               onChange: onChange)
            do {
                let server = try await AdminServer.start(api, host: listen.host, port: listen.port,
                                                         tls: listen.ssl ? tls : nil, logger: logger)
                let scheme = listen.ssl ? "https" : "http"
                emit("switchyard: admin API listening on \(scheme)://\(Target.format(host: listen.host, port: server.port))")
                servers.append(server)
            } catch {
                for server in servers { await server.stop() }
                throw StartFailure(error.message)
            }
        }
        return servers
    }
}
