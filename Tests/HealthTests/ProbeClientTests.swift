import Balancer
import Proxy
import Testing

/// The NIO probe client against real loopback backends.
@Suite("Probe client")
struct ProbeClientTests {
    let client = ProbeClient()
    let http = ProbeRequest(kind: .http(path: "/health", host: "svc.test", headers: [("X-Probe", "1")]),
                            timeout: .milliseconds(500))

    @Test("HTTP probes report the status; TCP probes report the connect")
    func statuses() async throws {
        let backend = try await HealthBackend.start(name: "p")
        #expect(await client.probe(backend.address, http) == .status(200))
        backend.mode = .unavailable
        #expect(await client.probe(backend.address, http) == .status(503))
        #expect(backend.probes == 2 && backend.requests == 0, "probes GET the configured path")
        #expect(await client.probe(backend.address, ProbeRequest(kind: .tcp, timeout: .milliseconds(500))) == .connected)
        await backend.kill()
    }

    @Test("refused connections, silence and dead ports end as failures within the timeout")
    func failures() async throws {
        let backend = try await HealthBackend.start(name: "q")
        backend.mode = .slow
        let start = ContinuousClock.now
        #expect(await client.probe(backend.address, http) == .timeout)
        #expect(ContinuousClock.now - start < .milliseconds(1500), "the timeout bounds the whole probe")
        await backend.kill()
        let dead = await client.probe(backend.address, http)
        #expect(dead == .connectFailure, "\(dead)")
        #expect(await client.probe(backend.address, ProbeRequest(kind: .tcp, timeout: .milliseconds(500))) == .connectFailure)
    }
}
