import Admin
import Config
import Foundation
import Gateway
import Hummingbird
import HummingbirdTesting
import Store
import Testing
import TestSupport

/// An Admin API write reaching a running proxy: the node applies the new configuration without a restart,
/// under load, and no request fails.
@Suite struct LiveProxyTests {
    static func get(_ port: Int, _ path: String) throws -> TestSupport.TestResponse {
        let client = try TestClient(port: port, timeoutSeconds: 2)
        try client.send("GET \(path) HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n")
        return try client.readResponse()
    }

    struct Hit: Sendable {
        var at: ContinuousClock.Instant
        var backend: String
    }

    @Test func targetChangeReachesTheProxyWithinASecondWithoutFailures() async throws {
        let b1 = try await TestBackend.start(name: "b1")
        let b2 = try await TestBackend.start(name: "b2")
        let harness = try await AdminHarness.make()
        try await harness.store.importDeclarative("""
            _format_version: "3.0"
            upstreams:
            - name: live.upstream
              targets:
              - target: 127.0.0.1:\(b1.port)
            services:
            - name: live
              host: live.upstream
              routes:
              - name: live
                paths: ["/live"]
            """)
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "1"]))
        let node = try GatewayNode(settings: settings)
        node.apply(harness.store.snapshot.config, generation: harness.store.snapshot.generation)
        let port = try await node.start()

        // Bounded load: sequential requests, paced at about one a millisecond so that a fast (release)
        // build still sends some after the change settles, for at most 6 s or 5000 requests, until cancelled.
        let load = Task.detached { () -> (hits: [Hit], failures: Int) in
            var hits: [Hit] = []
            var failures = 0
            let deadline = ContinuousClock.now + .seconds(6)
            while !Task.isCancelled, ContinuousClock.now < deadline, hits.count + failures < 5000 {
                do {
                    let response = try LiveProxyTests.get(port, "/live")
                    if response.status == 200, let backend = response.header("X-Backend") {
                        hits.append(Hit(at: .now, backend: backend))
                    } else {
                        failures += 1
                    }
                } catch {
                    failures += 1
                }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return (hits, failures)
        }

        try await Task.sleep(for: .milliseconds(300))
        let api = AdminAPI(store: harness.store,
                           runtime: AdminRuntime(balancer: { node.upstreams.balancer(named: $0) })) { node.apply($0.config, generation: $0.generation) }
        let changedAt = ContinuousClock.now
        try await Application(router: api.router()).test(.router) { client in
            let added = try await client.execute(uri: "/upstreams/live.upstream/targets", method: .post,
                                                 headers: [.contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"target": "127.0.0.1:\#(b2.port)"}"#))
            #expect(added.status == .created)
            let removed = try await client.execute(uri: "/upstreams/live.upstream/targets/127.0.0.1:\(b1.port)",
                                                   method: .delete)
            #expect(removed.status == .noContent)
        }
        try await Task.sleep(for: .milliseconds(1500))
        load.cancel()
        let (hits, failures) = await load.value
        await node.shutdown(grace: .milliseconds(200))
        await b1.stop()
        await b2.stop()

        #expect(failures == 0)
        #expect(hits.contains { $0.at < changedAt && $0.backend == "b1" })
        let settled = changedAt + .seconds(1)
        let after = hits.filter { $0.at > settled }
        #expect(after.count > 10)
        #expect(after.allSatisfy { $0.backend == "b2" })
        let firstB2 = try #require(hits.first { $0.backend == "b2" })
        #expect(firstB2.at - changedAt < .seconds(1))
    }
}
