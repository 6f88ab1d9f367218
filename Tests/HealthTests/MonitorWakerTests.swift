import Foundation
import Balancer
import Proxy
import Testing
import TestSupport
@testable import Gateway

/// The monitor sleeps until its next deadline and is woken by what it follows, instead of polling.
@Suite("Health monitor wake-ups")
struct MonitorWakerTests {
    @Test func aSignalEndsTheWaitAndOneSentBeforeIsKept() async {
        let waker = MonitorWaker()
        waker.signal()
        let start = ContinuousClock.now
        await waker.wait(until: start + .seconds(10))
        #expect(ContinuousClock.now - start < .seconds(5), "a signal sent before the wait ends it at once")

        let early = Task { await waker.wait(until: .now + .seconds(10)) }
        try? await Task.sleep(for: .milliseconds(50))
        waker.signal()
        await early.value
        #expect(ContinuousClock.now - start < .seconds(5), "a signal during the wait ends it")

        let deadline = ContinuousClock.now + .milliseconds(100)
        await waker.wait(until: deadline)
        #expect(ContinuousClock.now >= deadline, "without a signal the wait lasts until its deadline")

        let cancelled = Task { await waker.wait(until: .now + .seconds(10)) }
        cancelled.cancel()
        await cancelled.value
        #expect(ContinuousClock.now - start < .seconds(5), "a cancelled wait ends")
    }

    @Test func aRingChangeWakesTheMonitorAtOnce() async throws {
        let first = try freeLoopbackPort(Int32(SOCK_STREAM.rawValue))
        let second = try freeLoopbackPort(Int32(SOCK_STREAM.rawValue))
        let balancer = UpstreamBalancer(name: "u", settings: UpstreamSettings(),
                                        targets: [TargetSpec(host: "127.0.0.1", port: UInt16(first))],
                                        loops: 1, seed: 1, now: .now)
        // Probes far apart: once the first is scheduled, the monitor sleeps its longest (5 s) unless told.
        let probes = ActiveProbes(request: ProbeRequest(kind: .tcp, timeout: .seconds(1)),
                                  schedule: ProbeSettings(healthyInterval: .seconds(60), unhealthyInterval: .seconds(60)))
        let monitor = UpstreamHealthMonitor(balancer: balancer, policy: HealthPolicy(passive: HealthPolicy.off.passive,
                                                                                        active: probes), seed: 3)
        monitor.start()
        defer { monitor.stop() }
        #expect(await waitFor(.seconds(2)) { monitor.probedAddresses.count == 1 } != nil)
        try await Task.sleep(for: .milliseconds(300))
        balancer.update(targets: [TargetSpec(host: "127.0.0.1", port: UInt16(first)),
                                  TargetSpec(host: "127.0.0.1", port: UInt16(second))], now: ContinuousClock.now)
        let noticed = await waitFor(.seconds(1)) { monitor.probedAddresses.count == 2 }
        #expect(noticed != nil, "the monitor follows a new ring at once, not at its next timed wake-up")
    }
}
