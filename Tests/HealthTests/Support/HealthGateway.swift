import Balancer
import Config
import DNSWire
import Gateway
import NIOCore

/// A whole node (`GatewayNode` with its proxy on a free loopback port) serving one upstream
/// `svc.upstream` behind the route `/svc`.
struct HealthGateway {
    let node: GatewayNode
    let port: Int
    let config: DeclarativeConfig

    static let upstream = "svc.upstream"

    /// The Kong declarative file: `targets` as `host:port`, `healthchecks` as a JSON object.
    static func yaml(targets: [String], healthchecks: String, readTimeout: Int = 60_000, retries: Int = 5) -> String {
        """
        _format_version: "3.0"
        upstreams:
          - name: \(upstream)
            healthchecks: \(healthchecks)
            targets:
        \(targets.map { "      - target: \($0)" }.joined(separator: "\n"))
        services:
          - name: svc
            host: \(upstream)
            read_timeout: \(readTimeout)
            retries: \(retries)
            routes:
              - name: svc
                paths: ["/svc"]
        """
    }

    static func start(yaml: String, dnsServer: String = "127.0.0.1:9") async throws -> HealthGateway {
        let config = try DeclarativeConfig.parse(yaml).config
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": dnsServer, "workers": "2"]))
        let node = try GatewayNode(settings: settings)
        node.apply(config)
        let port = try await node.start()
        return HealthGateway(node: node, port: port, config: config)
    }

    func stop() async {
        await node.shutdown(grace: .milliseconds(100))
    }

    var monitor: UpstreamHealthMonitor? { node.health.monitor(named: Self.upstream) }
    var balancer: UpstreamBalancer? { node.upstreams.balancer(named: Self.upstream) }

    /// Whether picks may choose the address now.
    func isAvailable(_ address: Address) -> Bool {
        balancer?.health.health(of: address)?.isAvailable ?? false
    }
}

extension HealthBackend {
    var address: Address { Address(ip: .v4(0x7F00_0001), port: UInt16(port)) }
    var target: String { "127.0.0.1:\(port)" }
}
