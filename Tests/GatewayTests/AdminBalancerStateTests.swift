import Admin
import Config
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import NIOCore
import Store
import Testing
import TestSupport

/// The Admin API's balancer view on a live node: DNS changes made with nsupdate and a killed backend
/// show in `GET /upstreams/{u}/health`.
///
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("Admin balancer state on a live node", .serialized)
struct AdminBalancerStateTests {
    struct AddressView: Equatable {
        let port: Int
        let health: String
    }

    /// Every address of every target of `upstream`, as the Admin API reports them.
    static func addresses(_ client: some TestClientProtocol, upstream: String) async throws -> [AddressView] {
        let response = try await client.execute(uri: "/upstreams/\(upstream)/health", method: .get)
        #expect(response.status == .ok)
        let json = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
        let targets = json?["data"] as? [[String: Any]] ?? []
        return targets.flatMap { target -> [AddressView] in
            let data = target["data"] as? [String: Any]
            return (data?["addresses"] as? [[String: Any]] ?? []).map {
                AddressView(port: $0["port"] as? Int ?? 0, health: $0["health"] as? String ?? "")
            }
        }.sorted { $0.port < $1.port }
    }

    func get(_ port: Int, _ path: String) throws -> Int {
        let client = try TestClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        return try client.readResponse().status
    }

    @Test("nsupdate additions and a killed backend reach GET /upstreams/{u}/health")
    func healthFollowsDNSAndFailures() async throws {
        let backends = [try await TestBackend.start(name: "w1"), try await TestBackend.start(name: "w2"),
                        try await TestBackend.start(name: "w3")]
        let ports = backends.map(\.port)
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let srv = "_http._tcp.web.svc.test"
        try await dns.register("w.svc.test", "A", "127.0.0.1", ttl: 2)
        try await dns.register(srv, "SRV", "10 5 \(ports[0]) w.svc.test.", ttl: 2)
        try await dns.register(srv, "SRV", "10 5 \(ports[1]) w.svc.test.", ttl: 2)

        let config = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            upstreams:
              - name: web
                healthchecks:
                  passive:
                    unhealthy: {tcp_failures: 1, timeouts: 1, http_failures: 1}
                targets:
                  - target: \(srv):80
            services:
              - name: web
                host: web
                retries: 3
                connect_timeout: 1000
                routes: [{name: web, paths: ["/"]}]
            """).config
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": dns.server, "workers": "1"]))
        let node = try GatewayNode(settings: settings)
        node.apply(config)
        let proxyPort = try await node.start()
        let store = try SQLiteStore(path: ":memory:")
        try await store.replace(with: config)
        let api = AdminAPI(store: store, runtime: node.adminRuntime()) { _ in }
        let app = Application(router: api.router())

        try await app.test(.router) { client in
            var seen: [AddressView] = []
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                seen = try await Self.addresses(client, upstream: "web")
                if seen.count == 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            // Addresses are listed in port order, whichever backend got the lower port.
            #expect(seen == ports[0...1].sorted().map { AddressView(port: $0, health: "HEALTHY") })

            // A DNS change made with nsupdate shows within TTL + 1 s.
            try await dns.register(srv, "SRV", "10 5 \(ports[2]) w.svc.test.", ttl: 2)
            let registered = ContinuousClock.now
            while ContinuousClock.now - registered < .seconds(4) {
                seen = try await Self.addresses(client, upstream: "web")
                if seen.count == 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(seen.map(\.port) == ports.sorted())
            #expect(ContinuousClock.now - registered <= .seconds(3))

            // A killed backend: clients see no error (retries), and the address shows as unhealthy.
            await backends[1].stop()
            for _ in 0..<12 { #expect(try get(proxyPort, "/hello") == 200) }
            seen = try await Self.addresses(client, upstream: "web")
            #expect(seen.first { $0.port == ports[1] }?.health == "UNHEALTHY")
            #expect(seen.filter { $0.health == "HEALTHY" }.count == 2)
        }
        await node.shutdown(grace: .milliseconds(100))
        await backends[0].stop()
        await backends[2].stop()
    }
}
