import Admin
import Balancer
import DNSWire
@testable import Discovery
@testable import Gateway
import Testing

/// How the node turns a watcher's status into the Admin API's `/dns` entry: how long a name has been stale,
/// and how long its records may still serve, are two different clocks.
@Suite struct WatchedNameViewTests {
    static func status(_ state: NameSnapshot.Status, now: ContinuousClock.Instant,
                       warning: String? = nil) -> DNSWatcher.NameStatus {
        let snapshot = NameSnapshot(name: "api.test", content: .addresses([IPAddress("10.0.0.1")!]), status: state,
                                    generation: 3, refreshedAt: now - .seconds(40), nextRefresh: now + .seconds(1),
                                    ttl: 30)
        return DNSWatcher.NameStatus(kind: .addresses, snapshot: snapshot, lastError: nil, lastQueryAt: now, queries: 5, failures: 0,
                                     warning: warning)
    }

    @Test func staleForCountsFromWhenTheNameWentStale() {
        let now = ContinuousClock.now
        let stale = Self.status(.stale(error: "timed out", since: now - .seconds(3), until: now + .seconds(3597)), now: now)
        let view = GatewayNode.watchedName(stale, now: now)
        #expect(view.status == "stale")
        #expect(view.staleFor == 3)
        #expect(view.staleServeRemaining == 3597)
        #expect(view.lastError == "timed out")
    }

    @Test func negativeHoldHasBothClocksToo() {
        let now = ContinuousClock.now
        let held = Self.status(.negativeHold(reason: "NXDOMAIN", since: now - .seconds(12), until: now + .seconds(18)), now: now)
        let view = GatewayNode.watchedName(held, now: now)
        #expect(view.status == "negative_hold")
        #expect(view.staleFor == 12)
        #expect(view.staleServeRemaining == 18)
    }

    @Test func aWarningAboutTheAnswersIsShown() {
        let now = ContinuousClock.now
        let view = GatewayNode.watchedName(Self.status(.fresh, now: now, warning: "answers cut to 3 records"), now: now)
        #expect(view.warning == "answers cut to 3 records")
    }

    @Test func freshNamesHaveNeither() {
        let now = ContinuousClock.now
        let view = GatewayNode.watchedName(Self.status(.fresh, now: now), now: now)
        #expect(view.staleFor == nil)
        #expect(view.staleServeRemaining == nil)
    }
}
