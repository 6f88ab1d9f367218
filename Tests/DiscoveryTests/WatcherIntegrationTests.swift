import Balancer
import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// The watcher following a real BIND9 while records are added and removed with nsupdate.
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("Watcher against BIND9", .serialized)
struct WatcherIntegrationTests {
    func policy(negativeHold: Duration = .seconds(30)) -> RefreshPolicy {
        var policy = RefreshPolicy()
        policy.minTTL = .seconds(1)
        policy.negativeHold = negativeHold
        policy.errorRetryInitial = .milliseconds(500)
        policy.errorRetryMax = .seconds(2)
        return policy
    }

    @Test("SRV registrations and removals reach the snapshot within TTL + 1 s")
    func followsSRVChanges() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let ttl = 2
        try await dns.register("b1.svc.test", "A", "127.0.0.51", ttl: ttl)
        try await dns.register("b2.svc.test", "A", "127.0.0.52", ttl: ttl)
        try await dns.register("_http._tcp.api.svc.test", "SRV", "10 10 9001 b1.svc.test.", ttl: ttl)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        let name = "_http._tcp.api.svc.test"
        watcher.watch(name)

        let first = await waitForSnapshot(watcher, name, within: .seconds(3)) { !$0.serviceList.isEmpty }
        #expect(first?.0.serviceList.map(\.port) == [9001])
        #expect(first?.0.ttl == UInt32(ttl))

        try await dns.register(name, "SRV", "20 5 9002 b2.svc.test.", ttl: ttl)
        let added = await waitForSnapshot(watcher, name, within: .seconds(ttl + 2)) { $0.serviceList.count == 2 }
        let (snapshot, took) = try #require(added)
        #expect(took <= .seconds(ttl + 1), "took \(took)")
        #expect(snapshot.serviceList.map(\.port) == [9001, 9002])
        #expect(snapshot.serviceList[1].priority == 20)
        #expect(snapshot.serviceList[1].weight == 5)
        #expect(snapshot.serviceList[1].addresses == [ip("127.0.0.52")])

        try await dns.deregister(name, "SRV", "10 10 9001 b1.svc.test.")
        let removed = await waitForSnapshot(watcher, name, within: .seconds(ttl + 2)) { $0.serviceList.count == 1 }
        let (after, tookRemoval) = try #require(removed)
        #expect(tookRemoval <= .seconds(ttl + 1), "took \(tookRemoval)")
        #expect(after.serviceList.map(\.port) == [9002])
        #expect(after.generation > snapshot.generation)
    }

    @Test("A-record changes reach the snapshot within TTL + 1 s, and only changes are published")
    func followsAddressChanges() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("pool.svc.test", "A", "127.0.0.61", ttl: 1)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        let updates = watcher.updates()
        let collected = Task {
            var seen: [NameSnapshot] = []
            for await snapshot in updates { seen.append(snapshot) }
            return seen
        }
        watcher.watch("pool.svc.test")
        _ = await waitForSnapshot(watcher, "pool.svc.test", within: .seconds(3)) { !$0.addressList.isEmpty }
        // Several refreshes with no change publish nothing new.
        try await Task.sleep(for: .milliseconds(3500))
        #expect(watcher.snapshot(of: "pool.svc.test")?.generation == 1)
        try await dns.register("pool.svc.test", "A", "127.0.0.62", ttl: 1)
        let grown = await waitForSnapshot(watcher, "pool.svc.test", within: .seconds(3)) { $0.addressList.count == 2 }
        #expect(try #require(grown).1 <= .seconds(2))
        watcher.shutdown()
        let seen = await collected.value
        #expect(seen.map(\.generation) == [1, 2])
        #expect(seen.last?.addressList == [ip("127.0.0.61"), ip("127.0.0.62")])
    }

    @Test("stopping BIND keeps the last good answer, with the error visible, until it returns")
    func outageKeepsLastGoodAnswer() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("steady.svc.test", "A", "127.0.0.71", ttl: 1)
        let resolver = try makeResolver(server: dns.server, timeout: .milliseconds(200), tries: 1)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch("steady.svc.test")
        _ = await waitForSnapshot(watcher, "steady.svc.test", within: .seconds(3)) { $0.isFresh }

        try await dns.stopServer()
        let stale = await waitForSnapshot(watcher, "steady.svc.test", within: .seconds(4)) { $0.isStale }
        let snapshot = try #require(stale).0
        #expect(snapshot.addressList == [ip("127.0.0.71")])
        guard case .stale(let error, _, _) = snapshot.status else { Issue.record("not stale"); return }
        #expect(error.contains(dns.server))
        // Still serving the old answer a while later.
        try await Task.sleep(for: .seconds(2))
        #expect(watcher.snapshot(of: "steady.svc.test")?.addressList == [ip("127.0.0.71")])

        try await dns.restartServer()
        let back = await waitForSnapshot(watcher, "steady.svc.test", within: .seconds(5)) { $0.isFresh }
        #expect(back?.0.addressList == [ip("127.0.0.71")])
    }

    @Test("NXDOMAIN after records existed is held for the hold time, then applied")
    func negativeAnswerIsHeld() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("fragile.svc.test", "A", "127.0.0.81", ttl: 1)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let hold = Duration.seconds(3)
        let watcher = DNSWatcher(resolver: resolver, policy: policy(negativeHold: hold), families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch("fragile.svc.test")
        _ = await waitForSnapshot(watcher, "fragile.svc.test", within: .seconds(3)) { $0.isFresh }

        try await dns.deregister("fragile.svc.test")
        let held = await waitForSnapshot(watcher, "fragile.svc.test", within: .seconds(3)) { $0.isHeld }
        let (heldSnapshot, _) = try #require(held)
        #expect(heldSnapshot.addressList == [ip("127.0.0.81")], "records stay in force during the hold")
        let heldAt = ContinuousClock.now

        let withdrawn = await waitForSnapshot(watcher, "fragile.svc.test", within: .seconds(6)) { $0.content.isEmpty }
        let (gone, _) = try #require(withdrawn)
        #expect(ContinuousClock.now - heldAt >= hold - .milliseconds(500))
        guard case .failed(let reason) = gone.status else { Issue.record("expected failed status"); return }
        #expect(reason.contains("NXDOMAIN"))

        // Records that come back are picked up again.
        try await dns.register("fragile.svc.test", "A", "127.0.0.82", ttl: 1)
        let back = await waitForSnapshot(watcher, "fragile.svc.test", within: .seconds(40)) { $0.isFresh }
        #expect(back?.0.addressList == [ip("127.0.0.82")])
    }

    @Test("a TTL of 0 is clamped to the minimum, so it cannot cause a query storm")
    func zeroTTLIsClamped() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("ttl0.svc.test", "A", "127.0.0.91", ttl: 0)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch("ttl0.svc.test")
        try await Task.sleep(for: .seconds(3))
        let status = try #require(watcher.statuses.first)
        #expect(status.snapshot.ttl == 0)
        #expect(status.queries >= 2 && status.queries <= 5, "\(status.queries) queries in 3 s")
    }
}
