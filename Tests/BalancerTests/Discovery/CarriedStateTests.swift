import Balancer
import DNSWire
import Foundation
import Testing

/// The state a node hands to its successor (or writes to its state file), taken and restored with plain values:
/// what comes back is what went, shifted by the time that passed in between.
@Suite("Carried state")
struct CarriedStateTests {
    let t0 = ContinuousClock.now

    func policy() -> RefreshPolicy {
        var p = RefreshPolicy()
        p.staleTTL = .seconds(100)
        p.jitter = 0
        return p
    }

    /// Through JSON, as it travels.
    func roundTrip<T: Codable>(_ value: T) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
    }

    @Test("a fresh SRV name: records, TTL, generation and the time left until its next query come back")
    func freshServiceName() throws {
        var state = NameRefreshState(name: "_http._tcp.api.svc.test", policy: policy(), now: t0)
        let records = NameSnapshot.Content.services([
            ServiceRecord(priority: 10, weight: 5, port: 8080, target: "a.svc.test", addresses: [IPAddress("10.0.0.1")!]),
            ServiceRecord(priority: 20, weight: 1, port: 8081, target: "b.svc.test", addresses: [IPAddress("::1")!]),
        ])
        _ = state.recordsReceived(records, ttl: 30, now: t0, random: 0)
        let carried = try roundTrip(state.carried(kind: "service", now: t0 + .seconds(10)))
        #expect(carried.nextRefreshIn == 20)
        // Restored 2 s later in another process: 18 s left, same records and generation.
        let later = t0 + .seconds(100)
        let restored = try #require(NameRefreshState(restoring: carried, name: state.name, policy: policy(), elapsed: 2, now: later))
        #expect(restored.content == state.content)
        #expect(restored.generation == state.generation)
        #expect(restored.ttl == 30)
        #expect(restored.status == .fresh)
        #expect(restored.nextRefresh == later + .seconds(18))
        #expect(restored.refreshedAt == later - .seconds(12))
    }

    @Test("a name served stale keeps its stale clock: since and until move with the time that passed")
    func staleName() throws {
        var state = NameRefreshState(name: "web.svc.test", policy: policy(), now: t0)
        _ = state.recordsReceived(.addresses([IPAddress("10.0.0.7")!]), ttl: 5, now: t0, random: 0)
        _ = state.queryFailed(error: "timeout", now: t0 + .seconds(5), random: 0.5)
        let carried = try roundTrip(state.carried(kind: "addresses", now: t0 + .seconds(6)))
        #expect(carried.status == "stale")
        let later = t0 + .seconds(1000)
        let restored = try #require(NameRefreshState(restoring: carried, name: "web.svc.test", policy: policy(), elapsed: 4, now: later))
        // Stale since 1 s before it was taken, plus 4 s: 5 s; 100 s of stale serving from then: 95 s left.
        #expect(restored.status == .stale(error: "timeout", since: later - .seconds(5), until: later + .seconds(95)))
        #expect(restored.content == .addresses([IPAddress("10.0.0.7")!]))
        #expect(restored.consecutiveFailures == 1)
        // A query overdue by now is due at once, never in the past.
        #expect(restored.nextRefresh == later)
    }

    @Test("nonsense is refused: another name, an unknown status, an address that does not parse")
    func refusesNonsense() throws {
        var state = NameRefreshState(name: "web.svc.test", policy: policy(), now: t0)
        _ = state.recordsReceived(.addresses([IPAddress("10.0.0.7")!]), ttl: 5, now: t0, random: 0)
        var carried = state.carried(kind: "addresses", now: t0)
        #expect(NameRefreshState(restoring: carried, name: "other.svc.test", policy: policy(), elapsed: 0, now: t0) == nil)
        carried.status = "sideways"
        #expect(NameRefreshState(restoring: carried, name: "web.svc.test", policy: policy(), elapsed: 0, now: t0) == nil)
        carried.status = "fresh"
        carried.addresses = ["10.0.0.300"]
        #expect(NameRefreshState(restoring: carried, name: "web.svc.test", policy: policy(), elapsed: 0, now: t0) == nil)
        carried.addresses = ["10.0.0.7"]
        carried.nextRefreshIn = .infinity
        #expect(NameRefreshState(restoring: carried, name: "web.svc.test", policy: policy(), elapsed: 0, now: t0) == nil)
    }

    @Test("an open breaker keeps its time left and its ejection count, so the next ejection is longer")
    func openBreaker() throws {
        let settings = PassiveHealthSettings(tcpFailures: 1, timeouts: 0, httpFailures: 0, successes: 1,
                                             baseEjectionTime: .seconds(10), maxEjectionTime: .seconds(300))
        var breaker = CircuitBreaker()
        #expect(breaker.outcome(.connectFailure, settings: settings, now: t0) == .eject(until: t0 + .seconds(10)))
        let carried = try roundTrip(CarriedBreaker(address: "10.0.0.1:80", breaker: breaker, hold: "manual", now: t0 + .seconds(3)))
        #expect(carried.untilIn == 7)
        #expect(carried.hold == "manual")
        let later = t0 + .seconds(50)
        let restored = try #require(carried.breaker(elapsed: 2, now: later))
        #expect(restored.state == .open(until: later + .seconds(5)))
        #expect(restored.ejections == 1)
        // Half-open with a trial out: the new process waits for a trial of its own.
        var halfOpen = CarriedBreaker(address: "10.0.0.1:80", breaker: breaker, hold: nil, now: t0)
        halfOpen.state = "half_open"
        #expect(halfOpen.breaker(elapsed: 0, now: t0)?.state == .halfOpen(trialPending: false))
        halfOpen.state = "ajar"
        #expect(halfOpen.breaker(elapsed: 0, now: t0) == nil)
    }

    @Test("addresses parse back from what they print, IPv4 and IPv6; anything else is refused")
    func addressText() {
        for text in ["10.0.0.1:80", "[::1]:8080", "[2001:db8::5]:443"] {
            #expect(Address(text)?.description == text)
        }
        for text in ["10.0.0.1", "::1:80", "[::1]80", "10.0.0.1:70000", "host:80", ""] {
            #expect(Address(text) == nil, "\(text)")
        }
    }
}
