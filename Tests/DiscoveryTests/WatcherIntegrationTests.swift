import Balancer
import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// The watcher following a real BIND9 while records are added and removed with nsupdate, on a manual clock:
/// each refresh happens at an instant the test names (the TTL, the retry back-off, the hold), so the rules
/// are asserted exactly and a 30 s TTL costs no wall-clock time. How fast a change reaches traffic in real
/// time is asserted end to end by `RingFollowsDNSTests` and `NotifyTrafficTests`.
@Suite("Watcher against BIND9")
struct WatcherIntegrationTests {
    func policy(negativeHold: Duration = .seconds(30)) -> RefreshPolicy {
        var policy = RefreshPolicy()
        policy.minTTL = .seconds(1)
        policy.negativeHold = negativeHold
        policy.errorRetryInitial = .milliseconds(500)
        policy.errorRetryMax = .seconds(2)
        policy.jitter = 0  // refreshes at exact instants
        return policy
    }

    @Test("SRV registrations and removals reach the snapshot at the TTL, not before")
    func followsSRVChanges() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let ttl = 30
        try await dns.register("b1.svc.test", "A", "127.0.0.51", ttl: ttl)
        try await dns.register("b2.svc.test", "A", "127.0.0.52", ttl: ttl)
        try await dns.register("_http._tcp.api.svc.test", "SRV", "10 10 9001 b1.svc.test.", ttl: ttl)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let clock = ManualClock()
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        let name = "_http._tcp.api.svc.test"
        let t0 = clock.now
        watcher.watch(name)

        let first = try await watcher.firstAnswer(name, on: clock)
        #expect(first.serviceList.map(\.port) == [9001])
        #expect(first.ttl == UInt32(ttl))
        #expect(first.nextRefresh == t0 + .seconds(ttl))

        try await dns.register(name, "SRV", "20 5 9002 b2.svc.test.", ttl: ttl)
        let snapshot = try await watcher.refreshNext(name, on: clock)
        #expect(clock.now == t0 + .seconds(ttl))
        #expect(snapshot.serviceList.map(\.port) == [9001, 9002])
        #expect(snapshot.serviceList[1].priority == 20)
        #expect(snapshot.serviceList[1].weight == 5)
        #expect(snapshot.serviceList[1].addresses == [ip("127.0.0.52")])

        try await dns.deregister(name, "SRV", "10 10 9001 b1.svc.test.")
        let after = try await watcher.refreshNext(name, on: clock)
        #expect(clock.now == t0 + .seconds(2 * ttl))
        #expect(after.serviceList.map(\.port) == [9002])
        #expect(after.generation > snapshot.generation)
        #expect(watcher.queries(name) == 3, "one query per TTL")
    }

    @Test("A-record changes reach the snapshot at the next refresh, and only changes are published")
    func followsAddressChanges() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("pool.svc.test", "A", "127.0.0.61", ttl: 1)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let clock = ManualClock()
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        let updates = watcher.updates()
        let collected = Task {
            var seen: [NameSnapshot] = []
            for await snapshot in updates { seen.append(snapshot) }
            return seen
        }
        watcher.watch("pool.svc.test")
        _ = try await watcher.firstAnswer("pool.svc.test", on: clock)
        // Three refreshes with no change publish nothing new.
        for _ in 0..<3 { _ = try await watcher.refreshNext("pool.svc.test", on: clock) }
        #expect(watcher.snapshot(of: "pool.svc.test")?.generation == 1)
        #expect(watcher.queries("pool.svc.test") == 4)
        try await dns.register("pool.svc.test", "A", "127.0.0.62", ttl: 1)
        let grown = try await watcher.refreshNext("pool.svc.test", on: clock)
        #expect(grown.addressList.count == 2)
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
        let clock = ManualClock()
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        watcher.watch("steady.svc.test")
        #expect(try await watcher.firstAnswer("steady.svc.test", on: clock).isFresh)

        try await dns.stopServer()
        let snapshot = try await watcher.refreshNext("steady.svc.test", on: clock)
        #expect(snapshot.addressList == [ip("127.0.0.71")])
        guard case .stale(let error, _, _) = snapshot.status else { Issue.record("not stale: \(snapshot.status)"); return }
        #expect(error.contains(dns.server))
        // Still serving the old answer after more failed retries (0.5 s, then 1 s, then 2 s apart).
        for _ in 0..<3 {
            let later = try await watcher.refreshNext("steady.svc.test", on: clock)
            #expect(later.addressList == [ip("127.0.0.71")] && later.isStale)
        }

        try await dns.restartServer()
        var back = try await watcher.refreshNext("steady.svc.test", on: clock)
        // BIND may take a moment to answer after a restart: a few more retries at most.
        for _ in 0..<5 where !back.isFresh {
            try await Task.sleep(for: .milliseconds(200))
            back = try await watcher.refreshNext("steady.svc.test", on: clock)
        }
        #expect(back.isFresh && back.addressList == [ip("127.0.0.71")])
    }

    @Test("NXDOMAIN after records existed is held for exactly the hold time, then applied")
    func negativeAnswerIsHeld() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("fragile.svc.test", "A", "127.0.0.81", ttl: 1)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let hold = Duration.seconds(30)
        let clock = ManualClock()
        let watcher = DNSWatcher(resolver: resolver, policy: policy(negativeHold: hold), families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        watcher.watch("fragile.svc.test")
        #expect(try await watcher.firstAnswer("fragile.svc.test", on: clock).isFresh)

        try await dns.deregister("fragile.svc.test")
        let held = try await watcher.refreshNext("fragile.svc.test", on: clock)
        #expect(held.isHeld)
        #expect(held.addressList == [ip("127.0.0.81")], "records stay in force during the hold")
        let heldAt = clock.now

        var gone = held
        for _ in 0..<40 where !gone.content.isEmpty {
            gone = try await watcher.refreshNext("fragile.svc.test", on: clock)
        }
        #expect(gone.content.isEmpty)
        #expect(clock.now == heldAt + hold, "withdrawn when the hold ends, not before or after")
        guard case .failed(let reason) = gone.status else { Issue.record("expected failed status"); return }
        #expect(reason.contains("NXDOMAIN"))

        // Records that come back are picked up at the next retry.
        try await dns.register("fragile.svc.test", "A", "127.0.0.82", ttl: 1)
        let back = try await watcher.refreshNext("fragile.svc.test", on: clock)
        #expect(back.isFresh && back.addressList == [ip("127.0.0.82")])
    }

    @Test("a TTL of 0 is clamped to the minimum, so it cannot cause a query storm")
    func zeroTTLIsClamped() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        try await dns.register("ttl0.svc.test", "A", "127.0.0.91", ttl: 0)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let clock = ManualClock()
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        watcher.watch("ttl0.svc.test")
        let first = try await watcher.firstAnswer("ttl0.svc.test", on: clock)
        #expect(first.ttl == 0)
        // Half the floor: nothing is asked.
        clock.advance(by: .milliseconds(500))
        try await Task.sleep(for: .milliseconds(100))
        #expect(watcher.queries("ttl0.svc.test") == 1)
        // Then one query per second, exactly.
        var last = clock.now - .milliseconds(500)
        for _ in 0..<3 {
            _ = try await watcher.refreshNext("ttl0.svc.test", on: clock)
            #expect(clock.now - last == .seconds(1))
            last = clock.now
        }
        #expect(watcher.queries("ttl0.svc.test") == 4)
    }
}
