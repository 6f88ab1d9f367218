import Atomics
import Balancer
import DNSWire
import Foundation
import Gateway
import Testing
import TestSupport

/// Real backends on loopback behind the real proxy: a backend dies, answers 503 or hangs, and the
/// circuit breaker and the probes take it out and bring it back.
///
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("Health through the proxy", .serialized)
struct FailureIntegrationTests {
    static let probes = """
        {"active": {"type": "http", "http_path": "/health", "timeout": 1, \
        "healthy": {"interval": 1, "successes": 2}, \
        "unhealthy": {"interval": 1, "tcp_failures": 2, "timeouts": 2, "http_failures": 2}}, \
        "passive": {"unhealthy": {"tcp_failures": 2, "timeouts": 2, "http_failures": 3, \
        "http_statuses": [500, 502, 503, 504], "ejection_time": 30}}}
        """

    @Test("one of four backends killed under load: no client error, ejected within its threshold, probes restore it")
    func killOneOfFour() async throws {
        var backends: [HealthBackend] = []
        for i in 0..<4 { backends.append(try await HealthBackend.start(name: "b\(i)")) }
        let yaml = HealthGateway.yaml(targets: backends.map(\.target), healthchecks: Self.probes)
        let gateway = try await HealthGateway.start(yaml: yaml)
        let victim = backends[1]
        let monitor = try #require(gateway.monitor)
        let balancer = try #require(gateway.balancer)

        let done = ManagedAtomic<Int>(0)
        async let load = runLoad(port: gateway.port, clients: 4, perClient: 100, deadline: .seconds(20), done: done)
        _ = await waitFor(.seconds(10)) { done.load(ordering: .relaxed) >= 100 }
        await victim.kill()
        let report = try await load

        #expect(report.total == 400, "bounded load ran to its end: \(report.total)")
        #expect(report.failures == 0, "client-visible errors: \(report.statuses) \(report.errors.prefix(3))")
        #expect(!gateway.isAvailable(victim.address), "the dead address is out of rotation")
        let failures = balancer.health.health(of: victim.address)?.counters.totalFailures ?? -1
        // Two consecutive failures eject; requests already in flight on other connections when the
        // backend died may each fail once more.
        #expect(failures >= 2 && failures <= 2 + 4, "failed attempts on the dead address: \(failures)")
        #expect((report.backends["b1"] ?? 0) < 140, "the dead backend stopped getting traffic: \(report.backends)")

        // A reload of the same upstream keeps the ejection.
        gateway.node.apply(gateway.config)
        #expect(gateway.monitor === monitor)
        #expect(!gateway.isAvailable(victim.address), "still out after a config reload")

        // Restarted: probes every 1 s, 2 passes needed: back within 2 s + 1 s.
        try await victim.restart()
        let restored = await waitFor(.seconds(6)) { gateway.isAvailable(victim.address) }
        #expect(restored != nil && restored! <= .seconds(3), "restored after \(String(describing: restored))")
        #expect(restored == nil || restored! >= .milliseconds(800), "two passes a probe interval apart were needed")
        #expect(monitor.breaker(of: victim.address).state == .closed && monitor.hold(of: victim.address) == nil)
        let before = victim.requests
        let after = try await runLoad(port: gateway.port, clients: 1, perClient: 40, deadline: .seconds(10),
                                      done: ManagedAtomic(0), pause: .zero)
        #expect(after.failures == 0)
        #expect(victim.requests - before >= 5, "the restored backend takes traffic again: \(after.backends)")

        await gateway.stop()
        for backend in backends { await backend.kill() }
    }

    @Test("a backend answering 503 is ejected after http_failures answers")
    func unavailableBackend() async throws {
        let bad = try await HealthBackend.start(name: "bad")
        let good = try await HealthBackend.start(name: "good")
        bad.mode = .unavailable
        let hc = #"{"passive": {"unhealthy": {"http_failures": 3, "http_statuses": [500, 503]}}}"#
        let gateway = try await HealthGateway.start(yaml: HealthGateway.yaml(targets: [bad.target, good.target], healthchecks: hc))
        let report = try await runLoad(port: gateway.port, clients: 1, perClient: 30, deadline: .seconds(10),
                                       done: ManagedAtomic(0), pause: .zero)
        #expect(report.statuses[503] == 3, "exactly three 503s reach the client: \(report.statuses)")
        #expect(report.statuses[200] == 27)
        #expect(bad.requests == 3)
        #expect(!gateway.isAvailable(bad.address))
        await gateway.stop()
        await bad.kill()
        await good.kill()
    }

    @Test("429 counts as an HTTP failure by Kong's default http_statuses; 404 does not")
    func throttlingBackend() async throws {
        let throttling = try await HealthBackend.start(name: "throttling")
        let missing = try await HealthBackend.start(name: "missing")
        throttling.mode = .throttling
        missing.mode = .notFound
        // No http_statuses given: the default list [429, 500, 503] applies.
        let hc = #"{"passive": {"unhealthy": {"http_failures": 2}}}"#
        let gateway = try await HealthGateway.start(
            yaml: HealthGateway.yaml(targets: [throttling.target, missing.target], healthchecks: hc))
        let report = try await runLoad(port: gateway.port, clients: 1, perClient: 20, deadline: .seconds(10),
                                       done: ManagedAtomic(0), pause: .zero)
        #expect(report.statuses[429] == 2, "two 429s reach the client, then the address is out: \(report.statuses)")
        #expect(report.statuses[404] == 18)
        #expect(throttling.requests == 2)
        #expect(!gateway.isAvailable(throttling.address))
        #expect(gateway.isAvailable(missing.address), "404 is not in the failing statuses")
        await gateway.stop()
        await throttling.kill()
        await missing.kill()
    }

    @Test("a slow backend (read timeouts) is ejected; retries hide it from clients")
    func slowBackend() async throws {
        let slow = try await HealthBackend.start(name: "slow")
        let fast = try await HealthBackend.start(name: "fast")
        slow.mode = .slow
        let hc = #"{"passive": {"unhealthy": {"timeouts": 2}}}"#
        let gateway = try await HealthGateway.start(
            yaml: HealthGateway.yaml(targets: [slow.target, fast.target], healthchecks: hc, readTimeout: 300))
        let report = try await runLoad(port: gateway.port, clients: 1, perClient: 20, deadline: .seconds(15),
                                       done: ManagedAtomic(0), pause: .zero)
        #expect(report.failures == 0, "\(report.statuses) \(report.errors.prefix(3))")
        #expect(slow.requests == 2, "two timeouts eject it: \(slow.requests) requests reached it")
        #expect(!gateway.isAvailable(slow.address))
        await gateway.stop()
        await slow.kill()
        await fast.kill()
    }
}
