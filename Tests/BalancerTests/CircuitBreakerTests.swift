import Testing
@testable import Balancer

@Suite struct CircuitBreakerTests {
    let settings = PassiveHealthSettings(tcpFailures: 3, timeouts: 2, httpFailures: 4, successes: 2,
                                         baseEjectionTime: .seconds(10), maxEjectionTime: .seconds(25),
                                         forgetAfter: .seconds(100))

    @Test func eachFailureKindHasItsOwnThresholdAndSuccessResets() {
        var b = CircuitBreaker()
        #expect(b.outcome(.connectFailure, settings: settings, now: at(0)) == .none)
        #expect(b.outcome(.connectFailure, settings: settings, now: at(0)) == .none)
        #expect(b.outcome(.success(latency: .milliseconds(1)), settings: settings, now: at(1)) == .none)
        #expect(b.consecutiveTCPFailures == 0)
        #expect(b.outcome(.connectFailure, settings: settings, now: at(2)) == .none)
        #expect(b.outcome(.timeout, settings: settings, now: at(2)) == .none)
        #expect(b.outcome(.connectFailure, settings: settings, now: at(2)) == .none)
        #expect(b.outcome(.connectFailure, settings: settings, now: at(2)) == .eject(until: at(12)))
        #expect(b.state == .open(until: at(12)))
    }

    @Test func httpStatusesCountOnlyWhenConfigured() {
        var b = CircuitBreaker()
        for _ in 0..<10 {
            #expect(b.outcome(.httpStatus(404, latency: .zero), settings: settings, now: at(0)) == .none)
        }
        for _ in 0..<3 { _ = b.outcome(.httpStatus(503, latency: .zero), settings: settings, now: at(0)) }
        #expect(b.outcome(.httpStatus(500, latency: .zero), settings: settings, now: at(0)) == .eject(until: at(10)))
    }

    @Test func zeroThresholdTurnsAKindOff() {
        var off = settings
        off.timeouts = 0
        var b = CircuitBreaker()
        for _ in 0..<50 { #expect(b.outcome(.timeout, settings: off, now: at(0)) == .none) }
    }

    @Test func halfOpenTakesSingleTrialsAndClosesAfterEnoughSuccesses() {
        var b = CircuitBreaker()
        _ = b.outcome(.timeout, settings: settings, now: at(0))
        #expect(b.outcome(.timeout, settings: settings, now: at(0)) == .eject(until: at(10)))
        // Late answers while open change nothing.
        #expect(b.outcome(.success(latency: .zero), settings: settings, now: at(5)) == .none)
        #expect(b.tick(now: at(9)) == .none)
        #expect(b.tick(now: at(10)) == .allowTrial)
        #expect(b.state == .halfOpen(trialPending: true))
        #expect(b.outcome(.success(latency: .zero), settings: settings, now: at(11)) == .allowTrial)
        #expect(b.outcome(.success(latency: .zero), settings: settings, now: at(12)) == .restore)
        #expect(b.state == .closed)
    }

    @Test func failedTrialReEjectsForLongerUpToTheCap() {
        var b = CircuitBreaker()
        _ = b.outcome(.timeout, settings: settings, now: at(0))
        _ = b.outcome(.timeout, settings: settings, now: at(0))
        _ = b.tick(now: at(10))
        #expect(b.outcome(.connectFailure, settings: settings, now: at(10)) == .eject(until: at(30)))
        _ = b.tick(now: at(30))
        #expect(b.outcome(.timeout, settings: settings, now: at(30)) == .eject(until: at(55)))
        #expect(b.ejections == 3)
    }

    @Test func aLongHealthyStretchForgetsTheHistory() {
        var b = CircuitBreaker()
        _ = b.outcome(.timeout, settings: settings, now: at(0))
        _ = b.outcome(.timeout, settings: settings, now: at(0))
        _ = b.tick(now: at(10))
        _ = b.outcome(.success(latency: .zero), settings: settings, now: at(10))
        _ = b.outcome(.success(latency: .zero), settings: settings, now: at(10))
        #expect(b.ejections == 1)
        _ = b.outcome(.success(latency: .zero), settings: settings, now: at(50))
        #expect(b.ejections == 1)
        _ = b.outcome(.success(latency: .zero), settings: settings, now: at(111))
        #expect(b.ejections == 0)
        _ = b.outcome(.timeout, settings: settings, now: at(200))
        #expect(b.outcome(.timeout, settings: settings, now: at(200)) == .eject(until: at(210)))
    }

    @Test func maxEjectionShareHoldsTheEjectionBack() {
        var b = CircuitBreaker()
        for _ in 0..<5 { #expect(b.outcome(.timeout, settings: settings, now: at(0), mayEject: false) == .none) }
        #expect(b.state == .closed)
        #expect(b.outcome(.timeout, settings: settings, now: at(0), mayEject: true) == .eject(until: at(10)))
    }

    @Test func guardRails() {
        // The share is computed after the ejection.
        #expect(EjectionGuard.mayEject(ejected: 0, total: 3, maxPercent: 50))
        #expect(!EjectionGuard.mayEject(ejected: 1, total: 3, maxPercent: 50))
        #expect(EjectionGuard.mayEject(ejected: 1, total: 4, maxPercent: 50))
        #expect(!EjectionGuard.mayEject(ejected: 2, total: 4, maxPercent: 50))
        #expect(!EjectionGuard.mayEject(ejected: 0, total: 1, maxPercent: 100))
        #expect(EjectionGuard.mayEject(ejected: 2, total: 3, maxPercent: 100))
        #expect(!EjectionGuard.isPanicking(available: 0, total: 4, panicThreshold: 0))
        #expect(EjectionGuard.isPanicking(available: 1, total: 4, panicThreshold: 50))
        #expect(!EjectionGuard.isPanicking(available: 2, total: 4, panicThreshold: 50))
    }

    @Test func manualMarks() {
        var b = CircuitBreaker()
        #expect(b.markHealthy(now: at(0)) == .none)
        #expect(b.markUnhealthy(settings: settings, now: at(0)) == .eject(until: at(10)))
        #expect(b.markUnhealthy(settings: settings, now: at(1)) == .none)
        #expect(b.markHealthy(now: at(2)) == .restore)
    }

    /// The breaker's actions drive the balancer: ejected, exactly one trial pick, then restored.
    @Test func drivesTheBalancerThroughOneTrial() throws {
        let up = balancer(targets: ipTargets([100, 100]), loops: 2)
        let bad = v4(1)
        var b = CircuitBreaker()
        func apply(_ action: CircuitBreaker.Action, now: ContinuousClock.Instant) {
            switch action {
            case .none: break
            case .eject(let until): up.eject(bad, until: until, now: now)
            case .allowTrial: up.allowTrial(bad, now: now)
            case .restore: up.restore(bad, now: now)
            }
        }
        for _ in 0..<2 { apply(b.outcome(.timeout, settings: settings, now: at(0)), now: at(0)) }
        #expect(up.tally(20) == [v4(2): 20])
        apply(b.tick(now: at(10)), now: at(10))
        // Exactly one pick over both loops gets the trial.
        var trials: [Pick] = []
        for i in 0..<40 {
            let p = try #require(up.pick(PickContext(), loop: i % 2))
            if p.address == bad { trials.append(p) } else { up.release(p) }
        }
        #expect(trials.count == 1)
        for p in trials {
            let outcome = Outcome.success(latency: .milliseconds(1))
            up.finish(p, outcome: outcome, now: at(11))
            apply(b.outcome(outcome, settings: settings, now: at(11)), now: at(11))
        }
        // successes = 2: a second single trial.
        let second = up.tally(40).filter { $0.key == bad }
        #expect(second == [bad: 1])
        apply(b.outcome(.success(latency: .milliseconds(1)), settings: settings, now: at(12)), now: at(12))
        #expect(up.tally(40)[bad] == 20)
    }
}
