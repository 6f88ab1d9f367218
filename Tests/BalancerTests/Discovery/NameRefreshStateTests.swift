import Balancer
import DNSWire
import Testing

/// The refresh state machine with plain values: no DNS, no clock.
@Suite("Name refresh policy")
struct NameRefreshStateTests {
    let t0 = ContinuousClock.now
    let a = NameSnapshot.Content.addresses([IPAddress("10.0.0.2")!, IPAddress("10.0.0.1")!])
    let b = NameSnapshot.Content.addresses([IPAddress("10.0.0.3")!])

    func policy() -> RefreshPolicy {
        var p = RefreshPolicy()
        p.minTTL = .seconds(1)
        p.maxTTL = .seconds(60)
        p.staleTTL = .seconds(100)
        p.negativeHold = .seconds(30)
        p.errorRetryInitial = .seconds(1)
        p.errorRetryMax = .seconds(8)
        p.jitter = 0.1
        return p
    }

    @Test("a TTL is honoured, clamped to min and max, and refreshed early by at most the jitter")
    func ttlClamping() {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        let d1 = state.recordsReceived(a, ttl: 10, now: t0, random: 0)
        #expect(d1.nextRefresh == t0 + .seconds(10))
        let d2 = state.recordsReceived(a, ttl: 10, now: t0, random: 1)
        #expect(d2.nextRefresh == t0 + .seconds(9))
        let d3 = state.recordsReceived(a, ttl: 0, now: t0, random: 0.5)
        #expect(d3.nextRefresh == t0 + .seconds(1), "TTL 0 is raised to the floor")
        let d4 = state.recordsReceived(a, ttl: 86400, now: t0, random: 0)
        #expect(d4.nextRefresh == t0 + .seconds(60), "long TTLs are capped")
    }

    @Test("only changes are published, sorted, with a growing generation")
    func publishesOnlyChanges() {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        let first = state.recordsReceived(a, ttl: 5, now: t0, random: 0)
        #expect(first.publish?.generation == 1)
        #expect(first.publish?.content == .addresses([IPAddress("10.0.0.1")!, IPAddress("10.0.0.2")!]))
        let same = state.recordsReceived(.addresses([IPAddress("10.0.0.1")!, IPAddress("10.0.0.2")!]), ttl: 5,
                                         now: t0 + .seconds(5), random: 0)
        #expect(same.publish == nil)
        let changed = state.recordsReceived(b, ttl: 5, now: t0 + .seconds(10), random: 0)
        #expect(changed.publish?.generation == 2)
        #expect(changed.publish?.content == b)
    }

    @Test("failures keep the last good answer for the stale time, retried with capped backoff")
    func staleThroughFailures() throws {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        _ = state.recordsReceived(a, ttl: 5, now: t0, random: 0)
        var now = t0 + .seconds(5)
        let first = state.queryFailed(error: "timeout", now: now, random: 0.5)
        let snapshot = try #require(first.publish)
        guard case .stale(let error, let since, let until) = snapshot.status else { Issue.record("not stale"); return }
        #expect(error == "timeout")
        #expect(since == now)
        #expect(until == now + .seconds(100))
        #expect(snapshot.content == state.content)
        #expect(first.nextRefresh == now + .seconds(1))
        var delays: [Duration] = []
        for _ in 0..<5 {
            now = now + .seconds(1)
            let d = state.queryFailed(error: "timeout", now: now, random: 0.5)
            #expect(d.publish == nil, "same error, same status: nothing new to publish")
            delays.append(d.nextRefresh - now)
        }
        #expect(delays == [.seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        // After the stale time the records go.
        let expired = state.queryFailed(error: "timeout", now: t0 + .seconds(106), random: 0.5)
        #expect(expired.publish?.content == .empty)
        // A good answer afterwards is fresh again and resets the backoff.
        let back = state.recordsReceived(a, ttl: 5, now: t0 + .seconds(110), random: 0)
        #expect(back.publish?.status == .fresh)
        #expect(state.consecutiveFailures == 0)
    }

    @Test("NXDOMAIN for a name that had records is held, then applied")
    func negativeHold() {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        _ = state.recordsReceived(a, ttl: 5, now: t0, random: 0)
        let held = state.negativeAnswer(reason: "x does not exist (NXDOMAIN)", negativeTTL: 2, now: t0 + .seconds(5))
        guard case .negativeHold(_, let since, let until)? = held.publish?.status else {
            Issue.record("expected a hold")
            return
        }
        #expect(since == t0 + .seconds(5))
        #expect(until == t0 + .seconds(35))
        #expect(held.publish?.content == state.content)
        #expect(!state.content.isEmpty)
        #expect(held.nextRefresh == t0 + .seconds(7), "asks again after the SOA negative TTL")
        let still = state.negativeAnswer(reason: "x does not exist (NXDOMAIN)", negativeTTL: 2, now: t0 + .seconds(20))
        #expect(still.publish == nil)
        let applied = state.negativeAnswer(reason: "x does not exist (NXDOMAIN)", negativeTTL: 2, now: t0 + .seconds(35))
        #expect(applied.publish?.content == .empty)
    }

    @Test("records that return during a hold end it")
    func holdEndsWhenRecordsReturn() {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        _ = state.recordsReceived(a, ttl: 5, now: t0, random: 0)
        _ = state.negativeAnswer(reason: "NODATA", negativeTTL: nil, now: t0 + .seconds(5))
        let back = state.recordsReceived(a, ttl: 5, now: t0 + .seconds(10), random: 0)
        #expect(back.publish?.status == .fresh)
    }

    @Test("a name that never had records reports the negative answer at once and retries within the cap")
    func neverResolved() {
        var state = NameRefreshState(name: "x", policy: policy(), now: t0)
        let d = state.negativeAnswer(reason: "NXDOMAIN", negativeTTL: 3600, now: t0)
        #expect(d.publish?.status == .failed(error: "NXDOMAIN"))
        #expect(d.nextRefresh == t0 + .seconds(30), "a long SOA negative TTL is capped")
    }

    @Test("policy validation rejects a zero TTL floor")
    func validation() {
        var p = RefreshPolicy()
        #expect(p.validate().isEmpty)
        p.minTTL = .zero
        #expect(!p.validate().isEmpty)
    }
}
