import Balancer
import Config
import DNSWire
import Foundation
import Gateway
import NIOCore
import Testing
import TestSupport

/// A whole node from a Kong declarative file: routes, an upstream expanded from SRV records in a real
/// BIND9, a plain host:port service, key-auth, an https-only route.
@Suite("Gateway end to end")
struct GatewayEndToEndTests {
    static func yaml(backendPorts: [Int]) -> String {
        """
        _format_version: "3.0"
        upstreams:
          - name: api.upstream
            targets:
              - target: _http._tcp.api.svc.test:80
        services:
          - name: api
            host: api.upstream
            routes:
              - name: api
                paths: ["/api"]
          - name: direct
            url: http://127.0.0.1:\(backendPorts[2])/base
            routes:
              - name: direct
                paths: ["/direct"]
          - name: plain
            url: http://127.0.0.1:\(backendPorts[2])
            routes:
              - name: guarded
                paths: ["/guarded"]
                plugins:
                  - name: key-auth
                    config:
                      key_names: ["apikey"]
                      hide_credentials: true
              - name: secure
                paths: ["/secure"]
                protocols: ["https"]
                https_redirect_status_code: 308
        consumers:
          - username: alice
            keyauth_credentials:
              - key: alice-secret
        """
    }

    /// One service on a plain backend, with one route on `/<route>`.
    static func oneRoute(_ route: String, backendPort: Int) throws -> DeclarativeConfig {
        try DeclarativeConfig.parse("""
            _format_version: "3.0"
            services:
              - name: s
                url: http://127.0.0.1:\(backendPort)
                routes: [{name: \(route), paths: ["/\(route)"]}]
            """).config
    }

    /// A node with no DNS in use, serving `config`, and its proxy port.
    static func startNode(_ config: DeclarativeConfig, workers: Int) async throws -> (GatewayNode, Int) {
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "\(workers)"]))
        let node = try GatewayNode(settings: settings)
        node.apply(config)
        return (node, try await node.start())
    }

    func get(_ port: Int, _ path: String, headers: [String] = []) throws -> TestResponse {
        let client = try TestClient(port: port)
        let extra = headers.map { $0 + "\r\n" }.joined()
        try client.send("GET \(path) HTTP/1.1\r\nHost: gateway.test\r\n\(extra)Connection: close\r\n\r\n")
        return try client.readResponse()
    }

    @Test("routes reach SRV-discovered and plain backends; key-auth and https-only routes are enforced")
    func endToEnd() async throws {
        let backends = [try await TestBackend.start(name: "b1"), try await TestBackend.start(name: "b2"),
                        try await TestBackend.start(name: "b3")]
        defer { Task { for b in backends { await b.stop() } } }
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("h1.svc.test", "A", "127.0.0.1", ttl: 2)
        try await dns.register("_http._tcp.api.svc.test", "SRV", "10 5 \(backends[0].port) h1.svc.test.", ttl: 2)
        try await dns.register("_http._tcp.api.svc.test", "SRV", "10 5 \(backends[1].port) h1.svc.test.", ttl: 2)

        let config = try DeclarativeConfig.parse(Self.yaml(backendPorts: backends.map(\.port))).config
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": dns.server, "workers": "2"]))
        let node = try GatewayNode(settings: settings)
        node.apply(config)
        let port = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }

        // The SRV expansion arrives within a moment; both SRV backends then answer /api.
        var names: Set<String> = []
        let deadline = ContinuousClock.now + .seconds(5)
        while names.count < 2 && ContinuousClock.now < deadline {
            let response = try get(port, "/api/hello")
            if response.status == 200, let name = response.header("x-backend") { names.insert(name) }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(names == ["b1", "b2"])

        let direct = try get(port, "/direct/hello")
        #expect(direct.status == 200)
        #expect(direct.header("x-backend") == "b3")

        let unknown = try get(port, "/nowhere")
        #expect(unknown.status == 404)

        let noKey = try get(port, "/guarded/hello")
        #expect(noKey.status == 401)
        #expect(noKey.header("www-authenticate") != nil)
        let badKey = try get(port, "/guarded/hello", headers: ["apikey: wrong"])
        #expect(badKey.status == 401)
        let goodKey = try get(port, "/guarded/echo", headers: ["apikey: alice-secret"])
        #expect(goodKey.status == 200)
        #expect(goodKey.text.lowercased().contains("x-consumer-username: alice"))
        #expect(!goodKey.text.contains("alice-secret"), "hide_credentials removes the key before the upstream")

        let insecure = try get(port, "/secure/x")
        #expect(insecure.status == 308)
        #expect(insecure.header("location") == "https://gateway.test/secure/x")
    }

    @Test("request metrics: every worker's requests reach /metrics' series and the dashboard's totals")
    func requestMetricsFromEveryWorker() async throws {
        let backend = try await TestBackend.start(name: "only")
        defer { Task { await backend.stop() } }
        let (node, port) = try await Self.startNode(Self.oneRoute("a", backendPort: backend.port), workers: 2)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        let metrics = try #require(node.requestMetrics, "request metrics are on by default")
        // One connection each: the listener deals connections out to both workers in turn.
        for _ in 0..<40 { #expect(try get(port, "/a/x").status == 200) }
        for _ in 0..<10 { #expect(try get(port, "/nowhere").status == 404) }
        func exposition() -> String {
            var bytes: [UInt8] = []
            metrics.emit(into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
        let expected = [
            #"switchyard_http_requests_total{service="s",route="a",code="2xx"} 40"#,
            #"switchyard_http_requests_total{service="",route="",code="4xx"} 10"#,
            #"switchyard_http_request_duration_seconds_count{service="s",route="a"} 40"#,
            #"address="127.0.0.1:\#(backend.port)",outcome="ok"} 40"#,
        ]
        let settled = await waitFor(.seconds(3)) { expected.allSatisfy(exposition().contains) }
        #expect(settled != nil, "\(exposition())")
        #expect(metrics.traffic.first { $0.name == "s" }?.requests == 40)
        #expect(node.proxy.statistics.requests == 50)
    }

    @Test("a reload swaps routes without a restart")
    func reload() async throws {
        let backend = try await TestBackend.start(name: "only")
        defer { Task { await backend.stop() } }
        let second = try Self.oneRoute("b", backendPort: backend.port)
        let (node, port) = try await Self.startNode(Self.oneRoute("a", backendPort: backend.port), workers: 1)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        #expect(try get(port, "/a").status == 200)
        #expect(try get(port, "/b").status == 404)
        node.apply(second)
        #expect(try get(port, "/a").status == 404)
        #expect(try get(port, "/b").status == 200)
    }

    @Test("the client_* settings reach the proxy: header size and count, URI length, and they hold across applies")
    func clientLimitSettings() async throws {
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "1",
                                     "client_max_header_size": "1024", "client_max_header_count": "5",
                                     "client_max_uri_length": "300"]))
        let node = try GatewayNode(settings: settings)
        node.apply(DeclarativeConfig())
        let port = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        func status(_ request: String) throws -> Int {
            let client = try TestClient(port: port)
            try client.send(request)
            return try client.readResponse().status
        }
        for generation in 0..<2 {
            if generation == 1 { node.apply(DeclarativeConfig()) }
            #expect(try status("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \(String(repeating: "p", count: 500))\r\n\r\n") == 404)
            #expect(try status("GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \(String(repeating: "p", count: 1500))\r\n\r\n") == 431)
            let fields = (1...6).map { "X-F\($0): v\r\n" }.joined()
            #expect(try status("GET / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n") == 431)
            #expect(try status("GET /\(String(repeating: "u", count: 400)) HTTP/1.1\r\nHost: a\r\n\r\n") == 414)
        }
    }

    @Test("upstream_max_connections with a balanced upstream: a request that finds every address at its limit waits for a connection instead of getting a 503")
    func connectionLimitQueuesBehindTheBalancer() async throws {
        let backend = try await TestBackend.start(name: "only")
        defer { Task { await backend.stop() } }
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "1",
                                     "upstream_max_connections": "1"]))
        let node = try GatewayNode(settings: settings)
        let config = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            upstreams:
              - name: one.upstream
                targets:
                  - target: 127.0.0.1:\(backend.port)
            services:
              - name: one
                host: one.upstream
                connect_timeout: 5000
                routes:
                  - name: one
                    paths: ["/"]
            """).config
        node.apply(config)
        let port = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }

        let busy = try TestClient(port: port)
        try busy.send("GET /slow?ms=600 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Task.sleep(for: .milliseconds(200))
        let waiting = try TestClient(port: port)
        try waiting.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        let queued = try waiting.readResponse()
        #expect(queued.status == 200, "\(queued.text)")
        #expect(try busy.readResponse().status == 200)
        #expect(backend.connectionCount == 1, "the limit of one connection was kept")
    }
}
