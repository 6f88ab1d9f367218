import Balancer
import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// The NOTIFY listener against a real BIND9 sending `also-notify` on each nsupdate, with SRV TTL 300 s:
/// changes reach the watcher within 1 s with NOTIFY, and wait for the TTL without it.
/// Timing-sensitive: `scripts/test` runs it on its own, after the parallel suites.
@Suite("NOTIFY from BIND9", .serialized)
struct NotifyIntegrationTests {
    static let name = "_http._tcp.api.svc.test"
    static let ttl = 300

    func policy() -> RefreshPolicy {
        var policy = RefreshPolicy()
        policy.minTTL = .seconds(1)
        policy.maxTTL = .seconds(300)
        return policy
    }

    /// BIND with the two backends' A records and one SRV record (to b1), all at TTL 300.
    func startDNS(notify: String?) async throws -> TestDNS {
        let dns = try await TestDNS.start(notify: notify, notifyKey: notify != nil)
        try await dns.registerBatch(lines: [
            "update add b1.svc.test. \(Self.ttl) IN A 127.0.0.51",
            "update add b2.svc.test. \(Self.ttl) IN A 127.0.0.52",
            "update add \(Self.name). \(Self.ttl) IN SRV 10 10 9001 b1.svc.test.",
        ])
        return dns
    }

    @Test("With NOTIFY, an add and a removal reach the watcher within 1 s under TTL 300 s")
    func notifyMakesChangesArriveWithinOneSecond() async throws {
        let port = try freeUDPPort()
        let dns = try await startDNS(notify: "127.0.0.1:\(port)")
        defer { dns.shutdown() }
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        let key = try TSIGKey.parse(String(contentsOfFile: dns.keyFile, encoding: .utf8))
        let listener = NotifyListener(host: "127.0.0.1", port: port,
                                      gate: NotifyGate(allow: [IPNetwork("127.0.0.0/8")!], key: key), watcher: watcher)
        _ = try await listener.start()
        watcher.watch(Self.name)
        let first = await waitForSnapshot(watcher, Self.name, within: .seconds(3)) { !$0.serviceList.isEmpty }
        #expect(first?.0.ttl == UInt32(Self.ttl))

        try await dns.register(Self.name, "SRV", "10 10 9002 b2.svc.test.", ttl: Self.ttl)
        let added = await waitForSnapshot(watcher, Self.name, within: .seconds(3)) { $0.serviceList.count == 2 }
        let (snapshot, took) = try #require(added)
        #expect(took <= .seconds(1), "add took \(took)")
        #expect(snapshot.serviceList.map(\.port) == [9001, 9002])
        #expect(snapshot.serviceList[1].addresses == [ip("127.0.0.52")])

        try await dns.deregister(Self.name, "SRV", "10 10 9001 b1.svc.test.")
        let removed = await waitForSnapshot(watcher, Self.name, within: .seconds(3)) { $0.serviceList.count == 1 }
        let (after, tookRemoval) = try #require(removed)
        #expect(tookRemoval <= .seconds(1), "removal took \(tookRemoval)")
        #expect(after.serviceList.map(\.port) == [9002])
        #expect(after.ttl == UInt32(Self.ttl))

        print("NOTIFY to the watcher: add \(took), removal \(tookRemoval)")
        let counters = listener.counters
        #expect(counters["accepted", default: 0] >= 2, "\(counters)")
        #expect(counters["refreshes", default: 0] >= 2, "\(counters)")
        for refused in ["malformed", "source_refused", "bad_key", "bad_signature", "bad_time", "unsigned", "unknown_zone"] {
            #expect(counters[refused] == 0, "\(refused): \(counters)")
        }
        await listener.stop()
    }

    @Test("Without NOTIFY, the same change waits for the TTL")
    func withoutNotifyTheTTLRules() async throws {
        let dns = try await startDNS(notify: nil)
        defer { dns.shutdown() }
        let resolver = try makeResolver(server: dns.server)
        defer { resolver.shutdown() }
        let watcher = DNSWatcher(resolver: resolver, policy: policy(), families: .ipv4)
        defer { watcher.shutdown() }
        watcher.watch(Self.name)
        let first = await waitForSnapshot(watcher, Self.name, within: .seconds(3)) { !$0.serviceList.isEmpty }
        let generation = try #require(first).0.generation
        try await dns.register(Self.name, "SRV", "10 10 9002 b2.svc.test.", ttl: Self.ttl)
        #expect(try await dns.lookup(Self.name, "SRV").answer.count == 2)
        let added = await waitForSnapshot(watcher, Self.name, within: .seconds(2)) { $0.serviceList.count == 2 }
        #expect(added == nil, "the change arrived before its TTL without NOTIFY")
        let snapshot = try #require(watcher.snapshot(of: Self.name))
        #expect(snapshot.generation == generation)
        #expect(snapshot.nextRefresh - ContinuousClock.now > .seconds(200))
        #expect(watcher.statuses.first?.queries == 1)
    }
}

/// What the listener refuses over a real socket, each counted, none acted on; and a storm of valid
/// NOTIFYs costs at most one refresh per 100 ms.
@Suite("NOTIFY listener refusals")
struct NotifyRefusalTests {
    static let key = TSIGKey(name: "node-key", algorithm: .hmacSHA256, secret: Array("a shared secret of some length".utf8))

    /// A listener allowing only 127.0.0.1, requiring `key`, with one watched name in svc.test (its DNS server
    /// does not answer: the name need not resolve for its zone to count as watched).
    func start() async throws -> (NotifyListener, DNSWatcher, DNSResolver, Int) {
        let resolver = try makeResolver(server: "127.0.0.1:\(try freeUDPPort())", timeout: .milliseconds(200), tries: 1)
        let watcher = DNSWatcher(resolver: resolver, families: .ipv4)
        watcher.watch("_http._tcp.api.svc.test")
        let listener = NotifyListener(host: "127.0.0.1", port: 0,
                                      gate: NotifyGate(allow: [IPNetwork("127.0.0.1")!], key: Self.key), watcher: watcher)
        let port = try await listener.start()
        return (listener, watcher, resolver, port)
    }

    func signed(zone: String = "svc.test", id: UInt16 = 7, key: TSIGKey = Self.key, now: UInt64? = nil) -> [UInt8] {
        let time = now ?? UInt64(Date().timeIntervalSince1970)
        return key.sign(NotifyFixtures.unsignedNotify(id: id, zone: zone), id: id, requestMAC: nil, now: time)
    }

    func rcode(_ reply: [UInt8]?) throws -> ResponseCode {
        try DNSMessage(parsing: try #require(reply)).rcode
    }

    @Test func refusesAndCountsEveryBadNotify() async throws {
        let (listener, watcher, resolver, port) = try await start()
        defer { resolver.shutdown() }
        defer { watcher.shutdown() }

        #expect(try rcode(await udpExchange(signed(), port: port, source: "127.0.0.2")) == .refused)
        let impostor = TSIGKey(name: "node-key", algorithm: .hmacSHA256, secret: Array("guessed".utf8))
        #expect(try rcode(await udpExchange(signed(key: impostor), port: port)) == .notAuth)
        #expect(try rcode(await udpExchange(signed(now: 1_000), port: port)) == .notAuth)
        #expect(try rcode(await udpExchange(NotifyFixtures.unsignedNotify(), port: port)) == .refused)
        #expect(try rcode(await udpExchange(signed(zone: "elsewhere.test"), port: port)) == .refused)
        #expect(try await udpExchange(Array(NotifyFixtures.bindSigned.prefix(30)), port: port, timeout: .milliseconds(300)) == nil)
        #expect(try await udpExchange([0xDE, 0xAD], port: port, timeout: .milliseconds(300)) == nil)

        var counters = listener.counters
        #expect(counters["source_refused"] == 1)
        #expect(counters["bad_signature"] == 1)
        #expect(counters["bad_time"] == 1)
        #expect(counters["unsigned"] == 1)
        #expect(counters["unknown_zone"] == 1)
        #expect(counters["malformed"] == 2)
        #expect(counters["accepted"] == 0)
        #expect(counters["refreshes"] == 0)

        // The listener still works, and a good NOTIFY gets a signed NOERROR.
        let reply = try #require(try await udpExchange(signed(id: 99), port: port))
        let message = try DNSMessage(parsing: reply)
        #expect(message.rcode == .noError && message.id == 99)
        #expect(message.additional.last?.type == .tsig)
        counters = listener.counters
        #expect(counters["accepted"] == 1)
        #expect(counters["refreshes"] == 1)
        await listener.stop()
    }

    @Test func aStormOfNotifiesCostsOneRefreshPer100ms() async throws {
        let (listener, watcher, resolver, port) = try await start()
        defer { resolver.shutdown() }
        defer { watcher.shutdown() }
        let started = ContinuousClock.now
        var sent = 0
        while sent < 300, ContinuousClock.now - started < .seconds(5) {
            _ = try await udpExchange(signed(id: UInt16(sent)), port: port)
            sent += 1
        }
        let elapsed = ContinuousClock.now - started
        try await Task.sleep(for: .milliseconds(250))
        let counters = listener.counters
        let allowed = Int((elapsed / .milliseconds(100)).rounded(.up)) + 2
        #expect(counters["accepted"] == sent)
        #expect(counters["refreshes", default: 0] >= 1)
        #expect(counters["refreshes", default: 0] <= allowed, "\(counters) in \(elapsed)")
        await listener.stop()
    }
}
