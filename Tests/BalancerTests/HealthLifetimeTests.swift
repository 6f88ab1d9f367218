import Testing
@testable import Balancer

/// Health state belongs to `ip:port`, not to a DNS snapshot or a ring.
@Suite struct HealthLifetimeTests {
    let name = "api.test"

    func upstream(_ ips: [String], loops: Int = 1) -> UpstreamBalancer {
        balancer(targets: [TargetSpec(host: name, port: 80)], snapshots: [addressSnapshot(name, ips)], loops: loops)
    }

    @Test func stateSurvivesASnapshotChange() throws {
        let up = upstream(["10.0.0.1", "10.0.0.2"])
        let stay = addr("10.0.0.2")
        let before = try #require(up.health.health(of: stay))
        let p = try #require(up.pick(PickContext(), loop: 0))
        up.finish(p, outcome: .timeout, now: at(1))
        up.eject(addr("10.0.0.1"), until: at(60), now: at(1))
        up.update(snapshot: addressSnapshot(name, ["10.0.0.1", "10.0.0.2", "10.0.0.3"], generation: 2), now: at(2))
        #expect(up.health.health(of: stay) === before)
        #expect(up.health.health(of: addr("10.0.0.1"))?.isAvailable == false)
        #expect(up.health.ejection(of: addr("10.0.0.1"))?.count == 1)
        #expect(Set(up.tally(100).keys) == [addr("10.0.0.2"), addr("10.0.0.3")])
        // Config changes (weights, algorithm) keep it too.
        up.update(settings: UpstreamSettings(algorithm: .leastConnections),
                  targets: [TargetSpec(host: name, port: 80, weight: 50)], now: at(3))
        #expect(up.health.health(of: stay) === before)
        #expect(up.health.health(of: addr("10.0.0.1"))?.isAvailable == false)
    }

    @Test func removedAddressDrains() throws {
        let up = upstream(["10.0.0.1", "10.0.0.2"])
        var held: [Pick] = []
        for _ in 0..<4 { held.append(try #require(up.pick(PickContext(), loop: 0))) }
        let leaving = addr("10.0.0.1")
        #expect(held.filter { $0.address == leaving }.count == 2)
        up.update(snapshot: addressSnapshot(name, ["10.0.0.2"], generation: 2), now: at(1))
        // No new picks...
        #expect(up.tally(100) == [addr("10.0.0.2"): 100])
        // ...but the requests in flight finish on the same state.
        #expect(up.health.drainingAddresses == [leaving])
        #expect(up.health.health(of: leaving)?.inFlight == 2)
        let status = up.health.statuses().first { $0.address == leaving }
        #expect(status?.membership == .draining(since: at(1)))
        for p in held { up.finish(p, outcome: .success(latency: .milliseconds(3)), now: at(2)) }
        #expect(up.health.health(of: leaving)?.inFlight == 0)
        // Once idle it is forgotten at the next rebuild.
        up.update(snapshot: addressSnapshot(name, ["10.0.0.2", "10.0.0.4"], generation: 3), now: at(3))
        #expect(up.health.drainingAddresses.isEmpty)
        #expect(up.health.health(of: leaving) == nil)
    }

    @Test func returningAddressStartsFresh() throws {
        let up = upstream(["10.0.0.1", "10.0.0.2"])
        let a = addr("10.0.0.1")
        let p = try #require(up.pick(PickContext(), loop: 0))
        #expect(p.address == a || p.address == addr("10.0.0.2"))
        up.release(p)
        _ = up.report(a, outcome: .connectFailure, now: at(0.5))
        #expect(up.health.health(of: a)?.counters.connectFailures == 1)
        up.update(snapshot: addressSnapshot(name, ["10.0.0.2"], generation: 2), now: at(1))
        up.update(snapshot: addressSnapshot(name, ["10.0.0.1", "10.0.0.2"], generation: 3), now: at(2))
        #expect(up.health.health(of: a)?.counters.connectFailures == 0)
        #expect(up.health.health(of: a)?.isAvailable == true)
    }

    @Test func returningAddressStaysEjectedUntilItsEjectionEnds() {
        let up = upstream(["10.0.0.1", "10.0.0.2"])
        let a = addr("10.0.0.1")
        up.eject(a, until: at(30), now: at(1))
        up.update(snapshot: addressSnapshot(name, ["10.0.0.2"], generation: 2), now: at(2))
        // Still ejected while away: kept although idle.
        #expect(up.health.drainingAddresses == [a])
        up.update(snapshot: addressSnapshot(name, ["10.0.0.1", "10.0.0.2"], generation: 3), now: at(10))
        #expect(up.health.health(of: a)?.isAvailable == false)
        #expect(up.tally(20) == [addr("10.0.0.2"): 20])
        // Gone again, back after the ejection time: fresh.
        up.update(snapshot: addressSnapshot(name, ["10.0.0.2"], generation: 4), now: at(11))
        up.update(snapshot: addressSnapshot(name, ["10.0.0.1", "10.0.0.2"], generation: 5), now: at(31))
        #expect(up.health.health(of: a)?.isAvailable == true)
        #expect(up.health.ejection(of: a) == nil)
        #expect(up.tally(20)[a] == 10)
    }

    @Test func ejectAndRestoreHooks() {
        let up = upstream(["10.0.0.1", "10.0.0.2"])
        let a = addr("10.0.0.1")
        #expect(!up.eject(addr("10.9.9.9"), until: at(5), now: at(1)))
        #expect(up.eject(a, until: at(5), now: at(1)))
        #expect(up.health.expiredEjections(now: at(4)).isEmpty)
        #expect(up.health.expiredEjections(now: at(5)) == [a])
        #expect(up.restore(a, now: at(5)))
        #expect(up.health.ejection(of: a)?.isActive == false)
        #expect(up.health.ejection(of: a)?.count == 1)
        #expect(up.eject(a, until: at(20), now: at(6)))
        #expect(up.health.ejection(of: a)?.count == 2)
    }

    @Test func outcomesFeedTheBreakerCounters() throws {
        let up = upstream(["10.0.0.1"])
        let a = addr("10.0.0.1")
        var last: AddressHealth.Counters? = nil
        for _ in 0..<3 {
            let p = try #require(up.pick(PickContext(), loop: 0))
            last = up.finish(p, outcome: .httpStatus(503, latency: .milliseconds(2)), now: at(1))
        }
        #expect(last?.httpFailures == 3 && last?.successes == 0)
        _ = up.report(a, outcome: .timeout, now: at(2))
        _ = up.report(a, outcome: .timeout, now: at(2))
        let afterTimeouts = up.health.health(of: a)?.counters
        #expect(afterTimeouts?.timeouts == 2 && afterTimeouts?.httpFailures == 3)
        let ok = up.report(a, outcome: .httpStatus(404, latency: .milliseconds(2)), now: at(3))
        #expect(ok?.timeouts == 0 && ok?.httpFailures == 0 && ok?.successes == 1)
        #expect(ok?.totalRequests == 6 && ok?.totalFailures == 5)
        #expect(up.health.health(of: a)?.inFlight == 0)
    }

    @Test func peakEWMAJumpsUpAndDecaysDown() throws {
        let up = upstream(["10.0.0.1"])
        let a = addr("10.0.0.1")
        _ = up.report(a, outcome: .success(latency: .milliseconds(10)), now: at(0))
        _ = up.report(a, outcome: .success(latency: .milliseconds(100)), now: at(1))
        #expect(up.health.health(of: a)?.latencyEstimate == .milliseconds(100))
        // 10 s later (one decay constant), a 10 ms sample pulls it about 63% of the way down.
        _ = up.report(a, outcome: .success(latency: .milliseconds(10)), now: at(11))
        let estimate = try #require(up.health.health(of: a)?.latencyEstimate)
        #expect(estimate > .milliseconds(40) && estimate < .milliseconds(50))
    }

    @Test("times become nanoseconds since the epoch: exact for the first days, before the epoch too, and in order")
    func nanosecondsSinceTheEpoch() {
        let epoch = ContinuousClock.now
        let health = UpstreamHealth(epoch: epoch)
        let cases: [(Duration, Int64)] = [
            (.zero, 0), (.nanoseconds(1), 1), (.nanoseconds(-7), -7), (.milliseconds(1_500), 1_500_000_000),
            (.seconds(86_400 * 30) + .nanoseconds(123), 86_400 * 30 * 1_000_000_000 + 123),
        ]
        for (offset, expected) in cases { #expect(health.nanos(epoch + offset) == expected, "\(offset)") }
        var previous = Int64.min
        for step in 0..<1_000 {
            let value = health.nanos(epoch + .seconds(86_400 * 365) * Double(step) / 100 + .nanoseconds(step))
            #expect(value >= previous)
            previous = value
        }
    }
}
