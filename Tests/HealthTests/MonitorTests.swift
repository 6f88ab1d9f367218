import Balancer
import DNSWire
import Proxy
import Testing
@testable import Gateway

/// The monitor against a real balancer, driven with explicit times: no sockets, no sleeping.
@Suite("Health monitor")
struct MonitorTests {
    let t0 = ContinuousClock.now

    static func address(_ i: Int) -> Address { Address(ip: .v4(0x0A00_0000 | UInt32(i)), port: 80) }

    /// TCP probes on `schedule`.
    static func tcpProbes(_ schedule: ProbeSettings) -> ActiveProbes {
        ActiveProbes(request: ProbeRequest(kind: .tcp, timeout: .seconds(1)), schedule: schedule)
    }

    func make(_ count: Int = 4, passive: PassiveHealthSettings, active: ActiveProbes? = nil,
              panicThreshold: Int = 0) -> UpstreamHealthMonitor {
        let targets = (1...count).map { TargetSpec(host: "10.0.0.\($0)", port: 80) }
        let balancer = UpstreamBalancer(name: "u", settings: UpstreamSettings(panicThreshold: panicThreshold),
                                        targets: targets, loops: 1, seed: 1, now: t0)
        return UpstreamHealthMonitor(balancer: balancer, policy: HealthPolicy(passive: passive, active: active), seed: 9)
    }

    func passive(tcp: Int = 3, timeouts: Int = 2, http: Int = 2, successes: Int = 1, maxPercent: Int = 100) -> PassiveHealthSettings {
        PassiveHealthSettings(tcpFailures: tcp, timeouts: timeouts, httpFailures: http, httpStatuses: [500, 503],
                              successes: successes, baseEjectionTime: .seconds(10), maxEjectionTime: .seconds(25),
                              forgetAfter: .seconds(100), maxEjectionPercent: maxPercent)
    }

    /// Addresses picked in `n` picks (each released at once).
    func picked(_ m: UpstreamHealthMonitor, _ n: Int = 40) -> Set<Address> {
        var out = Set<Address>()
        for _ in 0..<n {
            guard let p = m.balancer.pick(PickContext(), loop: 0) else { continue }
            m.balancer.release(p)
            out.insert(p.address)
        }
        return out
    }

    /// Sends one proxied outcome the way `BalancerSelector` does.
    func send(_ m: UpstreamHealthMonitor, _ address: Address, _ outcome: Outcome, at now: ContinuousClock.Instant) {
        m.balancer.report(address, outcome: outcome, now: now)
        m.observe(address, outcome: outcome, now: now)
        m.settle()
    }

    @Test("the threshold ejects at once; failures of another kind or a success in between do not add up")
    func thresholdEjects() {
        let m = make(passive: passive())
        let a = Self.address(1)
        send(m, a, .connectFailure, at: t0)
        send(m, a, .connectFailure, at: t0)
        send(m, a, .success(latency: .milliseconds(1)), at: t0)
        send(m, a, .connectFailure, at: t0)
        send(m, a, .connectFailure, at: t0)
        send(m, a, .timeout, at: t0)
        #expect(picked(m).contains(a), "no threshold crossed yet")
        send(m, a, .connectFailure, at: t0)
        #expect(!picked(m).contains(a), "third consecutive connect failure: the next pick skips it")
        #expect(picked(m).count == 3)
        guard case .open(let until) = m.breaker(of: a).state else { Issue.record("not open"); return }
        #expect(until == t0 + .seconds(10))
        let b = Self.address(2)
        send(m, b, .httpStatus(404, latency: .zero), at: t0)
        send(m, b, .httpStatus(503, latency: .zero), at: t0)
        send(m, b, .httpStatus(500, latency: .zero), at: t0)
        #expect(!picked(m).contains(b), "two failing statuses in a row (404 is not one)")
    }

    @Test("half-open lets exactly one trial through; failure re-ejects for base x ejections, capped; success restores")
    func halfOpen() {
        let m = make(passive: passive())
        let a = Self.address(1)
        for _ in 0..<3 { send(m, a, .connectFailure, at: t0) }
        _ = m.step(now: t0 + .seconds(5))
        m.settle()
        #expect(!picked(m).contains(a), "still ejected before its time")
        _ = m.step(now: t0 + .seconds(10))
        m.settle()
        var trials = 0
        var picks: [Pick] = []
        for _ in 0..<40 {
            if let p = m.balancer.pick(PickContext(), loop: 0) {
                if p.address == a { trials += 1 }
                picks.append(p)
            }
        }
        #expect(trials == 1, "exactly one trial request")
        for p in picks where p.address != a { m.balancer.release(p) }
        let trial = picks.first { $0.address == a }!
        m.balancer.finish(trial, outcome: .connectFailure, now: t0 + .seconds(11))
        m.observe(a, outcome: .connectFailure, now: t0 + .seconds(11))
        m.settle()
        guard case .open(let until2) = m.breaker(of: a).state else { Issue.record("not re-ejected"); return }
        #expect(until2 == t0 + .seconds(31), "second ejection: 2 x 10 s")
        _ = m.step(now: until2)
        m.settle()
        send(m, a, .connectFailure, at: until2)
        guard case .open(let until3) = m.breaker(of: a).state else { Issue.record("not re-ejected"); return }
        #expect(until3 == until2 + .seconds(25), "third ejection: 30 s capped at 25 s")
        _ = m.step(now: until3)
        m.settle()
        send(m, a, .success(latency: .milliseconds(1)), at: until3)
        #expect(m.breaker(of: a).state == .closed)
        #expect(picked(m).contains(a), "restored")
        // A long healthy stretch forgets the history: the next ejection is short again.
        send(m, a, .success(latency: .milliseconds(1)), at: until3 + .seconds(101))
        for _ in 0..<3 { send(m, a, .connectFailure, at: until3 + .seconds(102)) }
        guard case .open(let until4) = m.breaker(of: a).state else { Issue.record("not ejected"); return }
        #expect(until4 == until3 + .seconds(112), "history forgotten: base ejection time again")
    }

    @Test("a released trial lets the next pick try again")
    func releasedTrial() {
        let m = make(passive: passive())
        let a = Self.address(1)
        for _ in 0..<3 { send(m, a, .connectFailure, at: t0) }
        _ = m.step(now: t0 + .seconds(10))
        m.settle()
        var trial: Pick?
        for _ in 0..<8 {
            if let p = m.balancer.pick(PickContext(), loop: 0) {
                if p.address == a { trial = p } else { m.balancer.release(p) }
            }
        }
        let p = try! #require(trial)
        #expect(!picked(m).contains(a))
        m.balancer.release(p)
        m.released(a, now: t0 + .seconds(10))
        m.settle()
        #expect(picked(m).contains(a), "the trial is offered again")
    }

    @Test("max ejection percent: 50 % of four addresses ejects two, never a third")
    func maxPercent() {
        let m = make(passive: passive(maxPercent: 50))
        for i in 1...4 { for _ in 0..<3 { send(m, Self.address(i), .connectFailure, at: t0) } }
        #expect(picked(m) == [Self.address(3), Self.address(4)])
        let single = make(1, passive: passive())
        for _ in 0..<10 { send(single, Self.address(1), .connectFailure, at: t0) }
        #expect(picked(single) == [Self.address(1)], "an upstream's only address is never ejected passively")
    }

    @Test("no address left: picks fail fast; with a panic threshold they spread over every address")
    func panic() {
        let plain = make(2, passive: passive())
        for i in 1...2 { for _ in 0..<3 { send(plain, Self.address(i), .connectFailure, at: t0) } }
        #expect(picked(plain).isEmpty, "no address: the proxy answers 503 at once")
        let m = make(4, passive: passive(), panicThreshold: 50)
        for i in 1...2 { for _ in 0..<3 { send(m, Self.address(i), .connectFailure, at: t0) } }
        #expect(!m.isPanicking && picked(m) == [Self.address(3), Self.address(4)])
        for _ in 0..<3 { send(m, Self.address(3), .connectFailure, at: t0) }
        #expect(m.isPanicking)
        #expect(picked(m).count == 4, "below 50 % available: every address takes traffic")
        m.markHealthy(Self.address(1), now: t0 + .seconds(1))
        #expect(!m.isPanicking, "half the addresses available again")
        #expect(picked(m) == [Self.address(1), Self.address(4)], "the ones still ejected are left out again")
    }

    @Test("active probes: failing probes eject and hold, passing probes restore before the ejection time ends")
    func probes() {
        let probe = Self.tcpProbes(ProbeSettings(healthyInterval: .seconds(5),
                                                 unhealthyInterval: .seconds(1), successes: 2, tcpFailures: 2))
        let m = make(passive: passive(), active: probe)
        let a = Self.address(1)
        _ = m.step(now: t0)
        m.settle()
        let (due, _, _) = m.step(now: t0 + .seconds(5))
        m.settle()
        #expect(Set(due) == Set((1...4).map(Self.address)), "every ring address is probed")
        for address in due where address != a { m.probeFinished(address, result: .connected, now: t0 + .seconds(5)) }
        m.probeFinished(a, result: .connectFailure, now: t0 + .seconds(5))
        m.settle()
        #expect(picked(m).contains(a))
        m.probeFinished(a, result: .connectFailure, now: t0 + .seconds(6))
        m.settle()
        #expect(!picked(m).contains(a), "second failed probe ejects")
        #expect(m.hold(of: a) == .probe)
        _ = m.step(now: t0 + .seconds(30))
        m.settle()
        #expect(!picked(m).contains(a), "held for the probes: no half-open trial when the ejection time ends")
        m.probeFinished(a, result: .connected, now: t0 + .seconds(7))
        m.settle()
        #expect(!picked(m).contains(a))
        var unwatched = probe
        unwatched.schedule.unhealthyInterval = .zero
        m.update(policy: HealthPolicy(passive: passive(), active: unwatched))
        #expect(m.hold(of: a) == nil, "no probes watch ejected addresses any more: back to half-open trials")
        m.update(policy: HealthPolicy(passive: passive(), active: probe))
        m.probeFinished(a, result: .connected, now: t0 + .seconds(8))
        m.settle()
        #expect(picked(m).contains(a), "two passing probes restore it")
        #expect(m.hold(of: a) == nil && m.breaker(of: a).state == .closed)
        // Passive ejection, then a passing probe in half-open decides at once.
        for _ in 0..<3 { send(m, a, .connectFailure, at: t0 + .seconds(40)) }
        _ = m.step(now: t0 + .seconds(60))
        m.settle()
        m.probeFinished(a, result: .connected, now: t0 + .seconds(60))
        m.settle()
        #expect(m.breaker(of: a).state == .closed)
    }

    @Test("operator overrides: unhealthy holds until healthy; targets mark all their addresses")
    func overrides() throws {
        let m = make(passive: passive())
        let a = Self.address(2)
        #expect(m.markUnhealthy(a, now: t0))
        _ = m.step(now: t0 + .seconds(3600))
        m.settle()
        #expect(!picked(m).contains(a), "a manual ejection does not time out")
        #expect(m.markHealthy(a, now: t0))
        #expect(picked(m).contains(a))
        #expect(!m.markUnhealthy(Address(ip: .v4(0x0B00_0001), port: 1), now: t0), "unknown address")
        #expect(m.addresses(ofTarget: "10.0.0.3:80") == [Self.address(3)])
        #expect(m.addresses(ofTarget: "10.0.0.9:80") == nil)
        let monitors = HealthMonitors()
        monitors.apply([(m.balancer, m.policy)])
        try monitors.mark(upstream: "u", target: "10.0.0.3:80", healthy: false)
        #expect(!picked(m).contains(Self.address(3)))
        try monitors.mark(upstream: "u", address: Self.address(3), healthy: true)
        #expect(picked(m).contains(Self.address(3)))
        #expect(throws: GatewayError.self) { try monitors.mark(upstream: "nope", target: "x:1", healthy: true) }
    }

    @Test("a config update keeps breakers, holds and counts")
    func updateKeepsState() {
        let m = make(passive: passive())
        let a = Self.address(1)
        for _ in 0..<3 { send(m, a, .connectFailure, at: t0) }
        send(m, Self.address(2), .connectFailure, at: t0)
        m.balancer.update(targets: (1...4).map { TargetSpec(host: "10.0.0.\($0)", port: 80, weight: 50) }, now: t0)
        m.update(policy: HealthPolicy(passive: passive(tcp: 2)))
        #expect(!picked(m).contains(a), "still ejected after the reload")
        send(m, Self.address(2), .connectFailure, at: t0)
        #expect(!picked(m).contains(Self.address(2)), "the failure before the reload still counts")
    }

    @Test("probes follow the ring: an address that leaves is forgotten, one that appears is probed")
    func probesFollowRing() {
        let probe = Self.tcpProbes(ProbeSettings(healthyInterval: .seconds(1),
                                                 unhealthyInterval: .seconds(1), successes: 1, tcpFailures: 1))
        let m = make(3, passive: passive(), active: probe)
        _ = m.step(now: t0)
        m.settle()
        #expect(m.probedAddresses == Set((1...3).map(Self.address)))
        m.probeFinished(Self.address(3), result: .connectFailure, now: t0)
        m.settle()
        #expect(m.hold(of: Self.address(3)) == .probe)
        m.balancer.update(targets: [TargetSpec(host: "10.0.0.1", port: 80), TargetSpec(host: "10.0.0.4", port: 80)], now: t0)
        _ = m.step(now: t0 + .seconds(2))
        m.settle()
        #expect(m.probedAddresses == [Self.address(1), Self.address(4)])
        let (due, _, _) = m.step(now: t0 + .seconds(3))
        m.settle()
        #expect(due.contains(Self.address(4)), "the new address is probed within its first interval")
        #expect(m.hold(of: Self.address(3)) == .probe, "kept while its ejection runs (it may come back)")
        // A ring change (here a weight) makes the monitor look at the members again.
        m.balancer.update(targets: [TargetSpec(host: "10.0.0.1", port: 80, weight: 50), TargetSpec(host: "10.0.0.4", port: 80)],
                          now: t0 + .seconds(20))
        _ = m.step(now: t0 + .seconds(20))
        m.settle()
        #expect(m.hold(of: Self.address(3)) == nil, "forgotten once it stopped draining")
    }

    @Test("passes seen before a passive ejection do not count towards the restore")
    func ejectionResetsProbePasses() {
        let probe = Self.tcpProbes(ProbeSettings(healthyInterval: .seconds(1),
                                                 unhealthyInterval: .seconds(1), successes: 2))
        let m = make(passive: passive(), active: probe)
        let a = Self.address(1)
        _ = m.step(now: t0)
        m.settle()
        m.probeFinished(a, result: .connected, now: t0 + .seconds(1))
        m.settle()
        m.probeFinished(a, result: .connected, now: t0 + .seconds(2))
        m.settle()
        for _ in 0..<3 { send(m, a, .connectFailure, at: t0 + .seconds(2)) }
        m.probeFinished(a, result: .connected, now: t0 + .seconds(3))
        m.settle()
        #expect(!picked(m).contains(a), "one fresh pass is not enough")
        m.probeFinished(a, result: .connected, now: t0 + .seconds(4))
        m.settle()
        #expect(picked(m).contains(a))
    }
}
