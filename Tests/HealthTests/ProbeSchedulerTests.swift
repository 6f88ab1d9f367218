import Balancer
import DNSWire
import Proxy
import Testing
@testable import Gateway

@Suite("Probe scheduler")
struct ProbeSchedulerTests {
    let a = Address(ip: .v4(0x7F00_0001), port: 1)
    let b = Address(ip: .v4(0x7F00_0001), port: 2)
    let c = Address(ip: .v4(0x7F00_0001), port: 3)
    let t0 = ContinuousClock.now

    func settings(concurrency: Int = 10, successes: Int = 2, httpFailures: Int = 2, tcpFailures: Int = 1,
                  timeouts: Int = 3) -> ProbeSettings {
        ProbeSettings(concurrency: concurrency,
                      healthyInterval: .seconds(10), unhealthyInterval: .seconds(2),
                      successes: successes, tcpFailures: tcpFailures, timeouts: timeouts, httpFailures: httpFailures)
    }

    @Test("first probes are spread over the first interval, then follow it with jitter that only shortens")
    func spreadAndJitter() {
        var s = ProbeScheduler(settings: settings(), seed: 42)
        let many = (1...50).map { Address(ip: .v4(0x7F00_0001), port: UInt16($0)) }
        s.track(Set(many), now: t0)
        let firsts = many.compactMap { s.due($0, ejected: false) }.map { $0 - t0 }
        #expect(firsts.count == 50)
        #expect(firsts.allSatisfy { $0 >= .zero && $0 < .seconds(10) })
        #expect(firsts.filter { $0 < .seconds(5) }.count > 10 && firsts.filter { $0 >= .seconds(5) }.count > 10,
                "first probes spread over the interval, not in one burst")
        // Each wait after a probe lies in [0.9, 1.0] x interval, and not all are equal.
        var waits: [Duration] = []
        for address in many {
            _ = s.start(now: t0 + .seconds(10), isEjected: { _ in false })
            _ = s.finished(address, result: .connected, now: t0 + .seconds(10))
            if let due = s.due(address, ejected: false) { waits.append(due - (t0 + .seconds(10))) }
        }
        #expect(waits.count == 50)
        #expect(waits.allSatisfy { $0 >= .seconds(9) && $0 <= .seconds(10) })
        #expect(Set(waits).count > 40)
        // The interval follows the address's state.
        #expect(s.due(Address(ip: .v4(0x7F00_0001), port: 999), ejected: true) == nil, "untracked")
        let ejectedDue = s.due(many[0], ejected: true).map { $0 - (t0 + .seconds(10)) }
        #expect(ejectedDue != nil && ejectedDue! <= .seconds(2) && ejectedDue! >= .milliseconds(1800))
    }

    @Test("concurrency caps the probes in flight; finished probes free room")
    func concurrencyCap() {
        var s = ProbeScheduler(settings: settings(concurrency: 2), seed: 1)
        s.track([a, b, c], now: t0)
        let first = s.start(now: t0 + .seconds(11), isEjected: { _ in false })
        #expect(first.count == 2 && s.inFlight == 2)
        #expect(s.start(now: t0 + .seconds(11), isEjected: { _ in false }).isEmpty)
        _ = s.finished(first[0], result: .connected, now: t0 + .seconds(11))
        let second = s.start(now: t0 + .seconds(11), isEjected: { _ in false })
        #expect(second.count == 1 && !first.contains(second[0]))
    }

    @Test("thresholds: passes restore, each failure kind counts on its own, a pass resets failures")
    func thresholds() {
        var s = ProbeScheduler(settings: settings(), seed: 7)
        s.track([a], now: t0)
        #expect(s.finished(a, result: .status(500), now: t0) == .none)
        #expect(s.finished(a, result: .status(200), now: t0) == .none, "a pass resets the failures")
        #expect(s.finished(a, result: .status(500), now: t0) == .none)
        #expect(s.finished(a, result: .timeout, now: t0) == .none, "timeouts count apart from HTTP failures")
        #expect(s.finished(a, result: .status(503), now: t0) == .unhealthy)
        #expect(s.finished(a, result: .status(418), now: t0) == .none, "a status in neither list is ignored")
        #expect(s.finished(a, result: .status(200), now: t0) == .none)
        #expect(s.finished(a, result: .status(302), now: t0) == .healthy)
        #expect(s.finished(a, result: .connectFailure, now: t0) == .unhealthy, "tcp_failures 1")
        #expect(s.classify(.status(404)) == .fail && s.classify(.connected) == .pass && s.classify(.status(418)) == .ignored)
    }

    @Test("probes follow the tracked set: new addresses are added, gone ones forgotten")
    func follows() {
        var s = ProbeScheduler(settings: settings(), seed: 3)
        s.track([a, b], now: t0)
        let started = s.start(now: t0 + .seconds(10), isEjected: { _ in false })
        #expect(Set(started) == [a, b])
        s.track([b, c], now: t0 + .seconds(10))
        #expect(Set(s.entries.keys) == [b, c])
        #expect(s.inFlight == 1, "the forgotten address's probe no longer counts")
        #expect(s.finished(a, result: .connectFailure, now: t0) == .none, "results for forgotten addresses are dropped")
    }

    @Test("zero thresholds and zero intervals turn verdicts and probing off")
    func zeroes() {
        var s = ProbeScheduler(settings: settings(successes: 0, httpFailures: 0, tcpFailures: 0, timeouts: 0), seed: 5)
        s.track([a], now: t0)
        for _ in 0..<10 { #expect(s.finished(a, result: .connectFailure, now: t0) == .none) }
        for _ in 0..<10 { #expect(s.finished(a, result: .connected, now: t0) == .none) }
        var off = settings()
        off.unhealthyInterval = .zero
        var t = ProbeScheduler(settings: off, seed: 5)
        t.track([a], now: t0)
        #expect(t.due(a, ejected: true) == nil && t.due(a, ejected: false) != nil)
        #expect(t.nextDue(isEjected: { _ in true }) == nil)
    }
}
