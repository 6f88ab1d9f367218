import TestSupport
import Balancer
import Foundation
import NIOCore
import Proxy
import Testing

extension ProxyIntegrationTests {
    /// Per-address connection caps and the per-connection request budget of the upstream pools.
    @Suite(.timeLimit(.minutes(1)))
    struct ConnectionLimitTests {
        @Test func anAddressAtItsConnectionLimitSendsRequestsElsewhereThenQueues() async throws {
            let first = try await TestBackend.start(name: "a")
            let second = try await TestBackend.start(name: "b")
            let proxy = try await ProxyHarness.start(
                addresses: [first.address, second.address],
                connectTimeout: .seconds(5),
                pool: PoolSettings(maxConnectionsPerAddress: 1)
            )
            defer { Task { await proxy.stop(); await first.stop(); await second.stop() } }

            // Two slow requests in flight hold the one connection each address may have.
            let busy = try (0..<2).map { _ in try proxy.client() }
            let busySent = ContinuousClock.now
            for client in busy { try client.send("GET /slow?ms=1000 HTTP/1.1\r\nHost: a\r\n\r\n") }
            try await Task.sleep(for: .milliseconds(300))

            // A third waits for one of them to finish, then reuses its connection. The slow answers come 1 s after
            // the backend got them, so however long the sleep above took on a busy machine, the third cannot be
            // answered sooner than that after they were sent.
            let third = try proxy.client()
            try third.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let queued = try third.readResponse()
            #expect(queued.status == 200)
            #expect(ContinuousClock.now - busySent >= .milliseconds(1000), "answered only once a connection was free")

            for client in busy { #expect(try client.readResponse().status == 200) }
            #expect(first.connectionCount == 1 && second.connectionCount == 1, "never more than one connection each")
            #expect(first.requestCount + second.requestCount == 3)
            // A limit is not a failure: nothing was reported against either address.
            #expect(proxy.selector.reports.allSatisfy { $0.1 != .connectFailure && $0.1 != .failure })
            #expect(await proxy.server.upstreamConnectionsOpened() == 2)
        }

        @Test func aRequestQueuedLongerThanTheConnectTimeoutGets503() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address],
                connectTimeout: .milliseconds(300),
                pool: PoolSettings(maxConnectionsPerAddress: 1)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let busy = try proxy.client()
            try busy.send("GET /slow?ms=2000 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await Task.sleep(for: .milliseconds(200))

            let waiting = try proxy.client()
            let started = ContinuousClock.now
            try waiting.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let refused = try waiting.readResponse()
            let waited = ContinuousClock.now - started
            #expect(refused.status == 503)
            let body = try JSONSerialization.jsonObject(with: Data(refused.body)) as? [String: String]
            #expect(body?["message"] == "upstream connection limit reached")
            #expect(waited >= .milliseconds(250) && waited < .seconds(2), "waited \(waited)")

            // A waiting client that goes away leaves the queue: the slow request's connection serves the next one.
            do {
                let leaving = try proxy.client()
                try leaving.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                try await Task.sleep(for: .milliseconds(50))
                withExtendedLifetime(leaving) {}
            }  // closed here, while queued
            #expect(try busy.readResponse().status == 200)
            try busy.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try busy.readResponse().status == 200)
            #expect(backend.connectionCount == 1)
        }

        @Test func aConnectionIsRetiredAfterItsRequestBudget() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address], pool: PoolSettings(maxRequestsPerConnection: 2)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            for i in 0..<5 {
                try client.send("GET /hello?i=\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().status == 200)
            }
            #expect(backend.requestCount == 5)
            #expect(await proxy.server.upstreamConnectionsOpened() == 3, "2 + 2 + 1 requests")
        }

        @Test func aPoolSizeOfZeroTurnsUpstreamKeepAliveOff() async throws {
            let backend = try await TestBackend.start(name: "a")
            let proxy = try await ProxyHarness.start(
                addresses: [backend.address], pool: PoolSettings(maxIdlePerAddress: 0)
            )
            defer { Task { await proxy.stop(); await backend.stop() } }

            let client = try proxy.client()
            for _ in 0..<3 {
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().status == 200)
            }
            #expect(await proxy.server.upstreamConnectionsOpened() == 3)
        }
    }
}
