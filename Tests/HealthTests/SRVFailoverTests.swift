import Atomics
import Balancer
import DNSWire
import Foundation
import Gateway
import Testing
import TestSupport

/// SRV priority groups from a real BIND9: when every address of the best group is ejected, traffic
/// moves to the next group without client errors, and comes back once probes see the group recover.
///
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("SRV priority failover", .serialized)
struct SRVFailoverTests {
    @Test("eject the whole best priority group: traffic moves to the next one and returns on recovery")
    func failover() async throws {
        var backends: [HealthBackend] = []
        for i in 0..<4 { backends.append(try await HealthBackend.start(name: "s\(i)")) }
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let srv = "_http._tcp.failover.svc.test"
        try await dns.register("h.svc.test", "A", "127.0.0.1", ttl: 2)
        for (i, backend) in backends.enumerated() {
            try await dns.register(srv, "SRV", "\(i < 2 ? 10 : 20) 10 \(backend.port) h.svc.test.", ttl: 2)
        }
        let hc = """
            {"active": {"type": "tcp", "timeout": 1, "healthy": {"interval": 1, "successes": 2}, \
            "unhealthy": {"interval": 1, "tcp_failures": 1}}, \
            "passive": {"unhealthy": {"tcp_failures": 1}}}
            """
        let gateway = try await HealthGateway.start(
            yaml: HealthGateway.yaml(targets: ["\(srv):80"], healthchecks: hc), dnsServer: dns.server)
        let balancer = try #require(gateway.balancer)
        #expect(await waitFor(.seconds(5)) { balancer.ring.addresses.count == 4 } != nil,
                "SRV answer arrives: \(balancer.ring.addresses.map(\.address)) \(balancer.ring.targets.map(\.dns)) \(String(describing: gateway.node.watcher.snapshot(of: srv)))")
        #expect(balancer.ring.activePriority == 10)

        let first = try await runLoad(port: gateway.port, clients: 1, perClient: 40, deadline: .seconds(10),
                                      done: ManagedAtomic(0), pause: .zero)
        #expect(first.failures == 0 && Set(first.backends.keys) == ["s0", "s1"], "\(first.backends)")

        await backends[0].kill()
        await backends[1].kill()
        let moved = try await runLoad(port: gateway.port, clients: 2, perClient: 50, deadline: .seconds(10),
                                      done: ManagedAtomic(0), pause: .milliseconds(1))
        #expect(moved.failures == 0, "\(moved.statuses) \(moved.errors.prefix(3))")
        #expect(Set(moved.backends.keys) == ["s2", "s3"], "\(moved.backends)")
        #expect(!gateway.isAvailable(backends[0].address) && !gateway.isAvailable(backends[1].address))
        #expect(balancer.ring.activePriority == 20)

        // A DNS change rebuilds the ring; the ejections stay.
        try await dns.register("h2.svc.test", "A", "127.0.0.2", ttl: 2)
        try await dns.register(srv, "SRV", "30 10 \(backends[3].port) h2.svc.test.", ttl: 2)
        #expect(await waitFor(.seconds(5)) { balancer.ring.addresses.count == 5 } != nil, "the refreshed answer arrives")
        #expect(!gateway.isAvailable(backends[0].address) && !gateway.isAvailable(backends[1].address),
                "still ejected after the DNS refresh")

        try await backends[0].restart()
        try await backends[1].restart()
        let recovered = await waitFor(.seconds(6)) {
            gateway.isAvailable(backends[0].address) && gateway.isAvailable(backends[1].address)
        }
        #expect(recovered != nil && recovered! <= .seconds(3), "recovered after \(String(describing: recovered))")
        #expect(balancer.ring.activePriority == 10)
        let back = try await runLoad(port: gateway.port, clients: 1, perClient: 40, deadline: .seconds(10),
                                     done: ManagedAtomic(0), pause: .zero)
        #expect(back.failures == 0 && Set(back.backends.keys) == ["s0", "s1"], "\(back.backends)")

        await gateway.stop()
        for backend in backends { await backend.kill() }
    }
}
