import DNSWire
import TestSupport
import Balancer
import Foundation
import NIOCore
import NIOHTTP1
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Many clients at once over several event loops, configuration reloads, and graceful stop.
    @Suite(.timeLimit(.minutes(1)))
    struct ServerLifecycleTests {
        /// On both engines: the proxy's own loops (the default) and SwiftNIO's (`SWITCHYARD_PROXY_ENGINE=nio`).
        @Test(arguments: ProxyEngine.allCases)
        func concurrentClientsOnTwoWorkersNeverSeeEachOthersBytes(engine: ProxyEngine) async throws {
            let a = try await TestBackend.start(name: "a")
            let b = try await TestBackend.start(name: "b")
            let proxy = try await ProxyHarness.start(addresses: [a.address, b.address], workers: 2, engine: engine)
            defer { Task { await proxy.stop(); await a.stop(); await b.stop() } }

            let port = proxy.port
            try await withThrowingTaskGroup(of: Int.self) { group in
                for clientIndex in 0..<16 {
                    group.addTask {
                        let client = try TestClient(port: port)
                        var ok = 0
                        for i in 0..<50 {
                            let tag = "c\(clientIndex)-r\(i)"
                            try client.send("POST /echo?tag=\(tag) HTTP/1.1\r\nHost: a\r\nContent-Length: \(tag.utf8.count)\r\n\r\n\(tag)")
                            let echoed = EchoedRequest(try client.readResponse().text)
                            if echoed.body == tag && echoed.line.contains("tag=\(tag) ") { ok += 1 }
                        }
                        return ok
                    }
                }
                var total = 0
                for try await ok in group { total += ok }
                #expect(total == 16 * 50)
            }
            #expect(a.requestCount + b.requestCount == 16 * 50)
            #expect(a.requestCount > 0 && b.requestCount > 0, "round robin uses both backends")
            #expect(a.connectionCount + b.connectionCount <= 2 * 16, "upstream connections are pooled")
        }

        @Test func aConfigurationUpdateAppliesToTheNextRequestWithoutDroppingTheConnection() async throws {
            let a = try await TestBackend.start(name: "a")
            let b = try await TestBackend.start(name: "b")
            let proxy = try await ProxyHarness.start(addresses: [a.address])
            defer { Task { await proxy.stop(); await a.stop(); await b.stop() } }

            let client = try proxy.client()
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "hello from a")

            let service = ProxyService(name: "b", selector: RoundRobinSelector(addresses: [b.address]))
            proxy.server.update(ProxyConfiguration(router: StaticRouter(service: service), generation: 2))
            #expect(proxy.server.configuration.generation == 2)

            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "hello from b")
        }

        @Test func aStopLetsTheRequestInProgressFinish() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(addresses: [backend.address])
            defer { Task { await backend.stop() } }

            let port = proxy.port
            // The client blocks a thread of its own, so the stop below never waits for a free task thread.
            async let response = onThread {
                let client = try TestClient(port: port)
                try client.send("GET /slow?ms=1000 HTTP/1.1\r\nHost: a\r\n\r\n")
                return try client.readResponse()
            }
            while backend.requestCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await proxy.server.stop(grace: .seconds(5))
            let answered = try await response
            #expect(answered.text == "slow")
            #expect(answered.header("connection") == "close")
            #expect(throws: TestClientError.self) { _ = try TestClient(port: port) }
        }

        @Test func answers404WhenNoRouteMatches() async throws {
            struct NoRoutes: ProxyRouter {
                func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? { nil }
            }
            let proxy = try await ProxyHarness.start(addresses: [])
            defer { Task { await proxy.stop() } }
            proxy.server.update(ProxyConfiguration(router: NoRoutes()))

            let client = try proxy.client()
            try client.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 404)
            try client.send("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 404)
        }
    }
}
