import Balancer
import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// The watcher against a real BIND9 on a manual clock: TTL rules are asserted at exact instants, and a TTL of
/// 300 s takes milliseconds. Not timing-sensitive (no wall-clock bound is asserted), so it runs in parallel.
@Suite("Watcher on a manual clock")
struct WatcherManualClockTests {
    @Test("with TTL 300 s nothing is asked before the TTL runs out; at 300 s the changed record is picked up")
    func refreshesExactlyAtTheTTL() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let name = "clock.svc.test"
        try await dns.register(name, "A", "127.0.0.61", ttl: 300)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let clock = ManualClock()
        var policy = RefreshPolicy()
        policy.maxTTL = .seconds(3600)
        policy.jitter = 0  // refresh exactly at the TTL, so the test can name the instant
        let watcher = DNSWatcher(resolver: resolver, policy: policy, families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        watcher.watch(name)

        let first = try #require(await waitForSnapshot(watcher, name, within: .seconds(5)) { !$0.addressList.isEmpty })
        #expect(first.0.addressList == [ip("127.0.0.61")])
        #expect(first.0.ttl == 300)
        let start = clock.now
        #expect(first.0.nextRefresh == start + .seconds(300), "TTL 300 s, no jitter")
        // The refresh task is asleep on the manual clock.
        #expect(await waitFor(.seconds(5)) { clock.sleeping == 1 } != nil)

        try await dns.registerBatch(lines: [
            "update delete \(name). A",
            "update add \(name). 300 IN A 127.0.0.62",
        ])
        clock.advance(by: .seconds(299))
        // Nothing is due: no query goes out and the old answer stays.
        try await Task.sleep(for: .milliseconds(200))
        #expect(watcher.queries(name) == 1)
        #expect(watcher.snapshot(of: name)?.addressList == [ip("127.0.0.61")])

        clock.advance(by: .seconds(1))
        let changed = try #require(await waitForSnapshot(watcher, name, within: .seconds(5)) {
            $0.addressList == [ip("127.0.0.62")]
        })
        #expect(watcher.queries(name) == 2)
        #expect(changed.0.refreshedAt == start + .seconds(300))
        #expect(changed.0.nextRefresh == start + .seconds(600))
        #expect(changed.0.generation > first.0.generation)
    }

    @Test("DNS down: the last good answer is served stale from the first failure for dns_stale_ttl, retried with back-off, then withdrawn")
    func staleServingAtExactInstants() async throws {
        let dns = try await TestDNS.start()
        defer { dns.shutdown() }
        let name = "stale.svc.test"
        try await dns.register(name, "A", "127.0.0.71", ttl: 60)
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let clock = ManualClock()
        var policy = RefreshPolicy()
        policy.jitter = 0
        policy.staleTTL = .seconds(100)
        policy.errorRetryInitial = .seconds(20)
        policy.errorRetryMax = .seconds(40)
        let watcher = DNSWatcher(resolver: resolver, policy: policy, families: .ipv4, clock: clock)
        defer { watcher.shutdown() }
        watcher.watch(name)
        _ = try #require(await waitForSnapshot(watcher, name, within: .seconds(5)) { !$0.addressList.isEmpty })
        let t0 = clock.now
        #expect(await waitFor(.seconds(5)) { clock.sleeping == 1 } != nil)
        try await dns.stopServer()

        /// Moves the clock and waits (in real time) for the refresh it makes due to finish.
        func advance(_ seconds: Int) async throws -> NameSnapshot {
            let before = watcher.queries(name)
            clock.advance(by: .seconds(seconds))
            let done = await waitFor(.seconds(10)) { watcher.queries(name) > before && clock.sleeping == 1 }
            try #require(done != nil, "no refresh after advancing \(seconds) s")
            return try #require(watcher.snapshot(of: name))
        }

        // 60 s: the TTL runs out, the query fails, stale from now until 60 + 100 s; retry after 20 s.
        var snapshot = try await advance(60)
        guard case .stale(_, let since, let until) = snapshot.status else {
            Issue.record("not stale: \(snapshot.status)"); return
        }
        #expect(since == t0 + .seconds(60) && until == t0 + .seconds(160))
        #expect(snapshot.addressList == [ip("127.0.0.71")])
        #expect(snapshot.nextRefresh == t0 + .seconds(80))
        // 80 s: fails again; back-off doubles to 40 s.
        snapshot = try await advance(20)
        #expect(snapshot.addressList == [ip("127.0.0.71")])
        #expect(snapshot.nextRefresh == t0 + .seconds(120))
        // 120 s: the next retry is capped at the end of stale serving.
        snapshot = try await advance(40)
        #expect(snapshot.addressList == [ip("127.0.0.71")])
        #expect(snapshot.nextRefresh == t0 + .seconds(160))
        // 160 s: stale serving is over; the records are withdrawn.
        snapshot = try await advance(40)
        #expect(snapshot.addressList.isEmpty)
        guard case .failed(let error) = snapshot.status else { Issue.record("not failed: \(snapshot.status)"); return }
        #expect(error.contains("stale records withdrawn"), "\(error)")
        #expect(watcher.queries(name) == 5)
    }
}
