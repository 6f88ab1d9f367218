import Balancer
import DNSWire
import Discovery
import Foundation
import Gateway
import Testing
import TestSupport

/// A watcher over a real BIND9 feeds an upstream; nsupdate adds, re-weights and removes SRV records,
/// and the ring follows within TTL + 1 s.
///
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("Ring follows DNS", .serialized)
struct RingFollowsDNSTests {
    let ttl = 2

    /// The ring's addresses as `port:weight` (SRV weight) strings, sorted.
    func shape(_ balancer: UpstreamBalancer) -> [String] {
        balancer.ring.addresses.map { "\($0.address.port):\($0.weight)@\($0.priority)" }.sorted()
    }

    func waitForShape(_ balancer: UpstreamBalancer, _ expected: [String], within limit: Duration) async -> Duration? {
        await waitFor(limit) { shape(balancer) == expected }
    }


    @Test("SRV adds, re-weights and removals reach the ring within TTL + 1 s")
    func ringFollowsSRV() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        for i in 1...3 { try await dns.register("r\(i).svc.test", "A", "127.0.0.\(100 + i)", ttl: ttl) }
        let srv = "_http._tcp.ring.svc.test"
        try await dns.register(srv, "SRV", "10 10 9001 r1.svc.test.", ttl: ttl)
        try await dns.register(srv, "SRV", "10 20 9002 r2.svc.test.", ttl: ttl)

        var configuration = ResolverConfiguration()
        configuration.servers = [try NameServer(parsing: dns.server)]
        configuration.hostsPath = nil
        configuration.searchDomains = []
        let resolver = try DNSResolver(configuration: configuration)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, families: .ipv4)
        defer { watcher.shutdown() }
        let registry = UpstreamRegistry(watcher: watcher, loops: 2)
        registry.start()
        defer { registry.stop() }
        registry.apply([(name: "ring", settings: UpstreamSettings(), targets: [TargetSpec(host: srv, port: 80)])])
        let balancer = try #require(registry.balancer(named: "ring"))

        #expect(await waitForShape(balancer, ["9001:10@10", "9002:20@10"], within: .seconds(3)) != nil)
        let picked = Set((0..<200).compactMap { i in balancer.pick(PickContext(), loop: i % 2).map { p in
            balancer.release(p)
            return p.address
        } })
        #expect(picked == [Address(ip: IPAddress("127.0.0.101")!, port: 9001), Address(ip: IPAddress("127.0.0.102")!, port: 9002)])

        try await dns.register(srv, "SRV", "20 30 9003 r3.svc.test.", ttl: ttl)
        let added = await waitForShape(balancer, ["9001:10@10", "9002:20@10", "9003:30@20"], within: .seconds(ttl + 2))
        #expect(added != nil && added! <= .seconds(ttl + 1), "add took \(String(describing: added))")

        try await dns.registerBatch(lines: [
            "update delete \(srv). SRV 10 10 9001 r1.svc.test.",
            "update add \(srv). \(ttl) IN SRV 10 50 9001 r1.svc.test.",
        ])
        let reweighted = await waitForShape(balancer, ["9001:50@10", "9002:20@10", "9003:30@20"], within: .seconds(ttl + 2))
        #expect(reweighted != nil && reweighted! <= .seconds(ttl + 1), "re-weight took \(String(describing: reweighted))")

        try await dns.deregister(srv, "SRV", "10 20 9002 r2.svc.test.")
        let removed = await waitForShape(balancer, ["9001:50@10", "9003:30@20"], within: .seconds(ttl + 2))
        #expect(removed != nil && removed! <= .seconds(ttl + 1), "removal took \(String(describing: removed))")
    }

    @Test("an upstream kept across a reload keeps its balancer and its watched names")
    func reloadKeepsBalancer() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("k1.svc.test", "A", "127.0.0.111", ttl: ttl)
        var configuration = ResolverConfiguration()
        configuration.servers = [try NameServer(parsing: dns.server)]
        configuration.hostsPath = nil
        let resolver = try DNSResolver(configuration: configuration)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, families: .ipv4)
        defer { watcher.shutdown() }
        let registry = UpstreamRegistry(watcher: watcher, loops: 1)
        registry.start()
        defer { registry.stop() }
        registry.apply([(name: "keep", settings: UpstreamSettings(), targets: [TargetSpec(host: "k1.svc.test", port: 8080)])])
        let first = try #require(registry.balancer(named: "keep"))
        #expect(await waitForShape(first, ["8080:100@0"], within: .seconds(3)) != nil)

        registry.apply([
            (name: "keep", settings: UpstreamSettings(), targets: [TargetSpec(host: "k1.svc.test", port: 8080, weight: 7)]),
            (name: "other", settings: UpstreamSettings(), targets: [TargetSpec(host: "127.0.0.9", port: 81)]),
        ])
        #expect(registry.balancer(named: "keep") === first)
        #expect(shape(first) == ["8080:7@0"], "a kept upstream applies the names it already resolved at once")
        #expect(watcher.names == ["k1.svc.test"])
        registry.apply([(name: "other", settings: UpstreamSettings(), targets: [TargetSpec(host: "127.0.0.9", port: 81)])])
        #expect(registry.balancer(named: "keep") == nil)
        #expect(watcher.names.isEmpty, "names no target needs are no longer watched")
    }
}
