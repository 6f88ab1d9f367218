import Config
import Foundation
import Gateway
import Testing
import TestSupport

/// A whole node with `dns_notify_listen` behind a real BIND9 that sends signed NOTIFY (`also-notify`), SRV TTL
/// 300 s: an nsupdate add gets requests within 1 s, and a removal stops new requests within 1 s.
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("NOTIFY reaches traffic", .serialized)
struct NotifyTrafficTests {
    static let srv = "_http._tcp.api.svc.test"
    static let ttl = 300

    static let yaml = """
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
        """

    /// The backend that answered `GET /api`, nil on any failure.
    func backend(_ port: Int) -> String? {
        guard let client = try? TestClient(port: port),
              (try? client.send("GET /api HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n")) != nil,
              let response = try? client.readResponse(), response.status == 200 else { return nil }
        return response.header("x-backend")
    }

    @Test("with NOTIFY, an added backend gets requests and a removed one stops getting them within 1 s (TTL 300 s)")
    func notifyReachesTraffic() async throws {
        let b1 = try await TestBackend.start(name: "b1")
        let b2 = try await TestBackend.start(name: "b2")
        defer { Task { await b1.stop(); await b2.stop() } }
        let notifyPort = try freeUDPPort()
        let dns = try await TestDNS.start(notify: "127.0.0.1:\(notifyPort)", notifyKey: true)
        defer { dns.shutdown() }
        try await dns.registerBatch(lines: [
            "update add h1.svc.test. \(Self.ttl) IN A 127.0.0.1",
            "update add \(Self.srv). \(Self.ttl) IN SRV 10 5 \(b1.port) h1.svc.test.",
        ])
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: [
                "proxy_listen": "127.0.0.1:0", "dns_servers": dns.server, "workers": "2",
                "dns_notify_listen": "127.0.0.1:\(notifyPort)", "dns_notify_tsig_key": dns.keyFile,
            ]))
        let node = try GatewayNode(settings: settings)
        node.apply(try DeclarativeConfig.parse(Self.yaml).config)
        let port = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }

        let ready = ContinuousClock.now + .seconds(5)
        while backend(port) != "b1", ContinuousClock.now < ready { try await Task.sleep(for: .milliseconds(20)) }
        #expect(backend(port) == "b1")

        try await dns.register(Self.srv, "SRV", "10 5 \(b2.port) h1.svc.test.", ttl: Self.ttl)
        let added = ContinuousClock.now
        var firstB2: Duration?
        var requests = 0
        while firstB2 == nil, ContinuousClock.now - added < .seconds(3), requests < 3000 {
            if backend(port) == "b2" { firstB2 = ContinuousClock.now - added }
            requests += 1
        }
        let addTook = try #require(firstB2, "b2 got no request within 3 s")
        #expect(addTook <= .seconds(1), "add → first request took \(addTook)")

        try await dns.deregister(Self.srv, "SRV", "10 5 \(b1.port) h1.svc.test.")
        let removed = ContinuousClock.now
        var lastB1: Duration = .zero
        requests = 0
        while ContinuousClock.now - removed < .milliseconds(1500), requests < 3000 {
            if backend(port) == "b1" { lastB1 = ContinuousClock.now - removed }
            requests += 1
        }
        #expect(lastB1 <= .seconds(1), "removal → last request took \(lastB1)")
        #expect(backend(port) == "b2")

        let counters = node.adminRuntime().notify()
        #expect(counters["accepted", default: 0] >= 2, "\(counters)")
        print("NOTIFY reaches traffic: add → first request \(addTook), removal → last request \(lastB1)")
    }
}
