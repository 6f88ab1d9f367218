import TestSupport
import Balancer
import DNSWire
import Logging
import NIOCore
import Proxy
import Testing

/// A selector whose picks are `Balancer.Pick` tokens: the proxy must hand each one back exactly once,
/// so the balancer's in-flight counts return to zero and failures are counted on the right address.
struct BalancerPickSelector: AddressSelector {
    let balancer: UpstreamBalancer

    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
        var context = PickContext()
        for address in request.tried { context.excluding.insert(address) }
        return balancer.pick(context, loop: loopIndex).map(UpstreamPick.init)
    }

    func report(_ upstreamPick: UpstreamPick, outcome: UpstreamOutcome) {
        guard let pick = upstreamPick.token else { return }
        let now = ContinuousClock.now
        switch outcome {
        case .released:
            balancer.release(pick)
        case .success(let nanoseconds):
            balancer.finish(pick, outcome: .success(latency: .nanoseconds(nanoseconds)), now: now)
        case .httpStatus(let status, let nanoseconds):
            balancer.finish(pick, outcome: .httpStatus(status, latency: .nanoseconds(nanoseconds)), now: now)
        case .timeout:
            balancer.finish(pick, outcome: .timeout, now: now)
        case .connectFailure, .failure:
            balancer.finish(pick, outcome: .connectFailure, now: now)
        }
    }
}

extension ProxyIntegrationTests {
    @Suite(.timeLimit(.minutes(1)))
    struct BalancerPickTests {
        /// A proxy on an ephemeral loopback port sending every request to `balancer` (3 retries).
        static func proxy(_ balancer: UpstreamBalancer, workers: Int) async throws -> (ProxyServer, Int) {
            let service = ProxyService(name: "pool", connectTimeout: .seconds(2), retries: 3,
                                       selector: BalancerPickSelector(balancer: balancer))
            var logger = Logger(label: "proxy-test")
            logger.logLevel = .critical
            let server = ProxyServer(
                settings: .init(host: "127.0.0.1", port: 0, workers: workers),
                configuration: ProxyConfiguration(router: StaticRouter(service: service)), logger: logger
            )
            return (server, try await server.start())
        }

        @Test func everyPickIsHandedBackOnce() async throws {
            let up = try await TestBackend.start(name: "up")
            let down = try await UpstreamFailureTests.closedPortAddress()
            defer { Task { await up.stop() } }
            let balancer = UpstreamBalancer(
                name: "pool", settings: UpstreamSettings(),
                targets: [TargetSpec(host: "127.0.0.1", port: up.address.port), TargetSpec(host: "127.0.0.1", port: down.port)],
                loops: 2, seed: 7, now: .now
            )
            let (server, port) = try await Self.proxy(balancer, workers: 2)
            defer { Task { try? await server.stop(grace: .seconds(1)) } }

            let client = try TestClient(port: port)
            for _ in 0..<6 {
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().text == "hello from up")
            }
            // A client that leaves mid-request releases its pick too.
            let leaving = try TestClient(port: port)
            try leaving.send("GET /slow?ms=5000 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await Task.sleep(for: .milliseconds(50))
            leaving.shutdownWrite()
            // Released well before the backend's 5 s answer would arrive.
            try await Task.sleep(for: .milliseconds(500))

            let upHealth = try #require(balancer.health.health(of: up.address))
            let downHealth = try #require(balancer.health.health(of: down))
            #expect(upHealth.inFlight == 0)
            #expect(downHealth.inFlight == 0)
            #expect(upHealth.counters.successes == 6)
            #expect(downHealth.counters.connectFailures >= 1)
        }

        @Test func whenEveryAddressRefusedTheClientHearsWhyNotNoneAvailable() async throws {
            let down = try await UpstreamFailureTests.closedPortAddress()
            let otherDown = try await UpstreamFailureTests.closedPortAddress()
            let balancer = UpstreamBalancer(
                name: "pool", settings: UpstreamSettings(),
                targets: [TargetSpec(host: "127.0.0.1", port: down.port), TargetSpec(host: "127.0.0.1", port: otherDown.port)],
                loops: 1, seed: 7, now: .now
            )
            // The ring excludes addresses a request already tried, so the third attempt finds none left.
            let (server, port) = try await Self.proxy(balancer, workers: 1)
            defer { Task { try? await server.stop(grace: .seconds(1)) } }

            let client = try TestClient(port: port)
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(response.text.contains("upstream connection refused"), "\(response.text)")
        }
    }
}
