import Balancer
import Proxy
import Testing
import TestSupport

extension ProxyIntegrationTests {
    @Suite(.timeLimit(.minutes(1)))
    struct StatisticsTests {
        @Test func connectionsAndRequestsAreCounted() async throws {
            let backend = try await TestBackend.start(name: "counted")
            let harness = try await ProxyHarness.start(addresses: [backend.address], workers: 2)
            #expect(harness.server.statistics == ProxyStatistics())
            do {
                let client = try harness.client()
                for _ in 0..<3 {
                    try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                }
                let during = harness.server.statistics
                #expect(during.connectionsAccepted == 1)
                #expect(during.connectionsOpen == 1)
                #expect(during.requests == 3)
            }
            // The client is gone (closed by deinit); the open count follows.
            var open = harness.server.statistics.connectionsOpen
            for _ in 0..<100 where open != 0 {
                try await Task.sleep(for: .milliseconds(10))
                open = harness.server.statistics.connectionsOpen
            }
            #expect(open == 0)
            #expect(harness.server.statistics.requests == 3)
            await harness.stop()
            await backend.stop()
        }
    }
}
