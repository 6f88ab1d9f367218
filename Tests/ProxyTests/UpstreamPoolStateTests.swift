import NIOCore
import Testing
@testable import Proxy

/// The upstream pool's state machine, driven event by event without a socket: reuse order, the idle and
/// per-connection request caps, the FIFO queue at `upstream_max_connections`, and capacity handed to waiters.
@Suite("Upstream pool state")
struct UpstreamPoolStateTests {
    final class Connection: CustomStringConvertible {
        let id: Int
        init(_ id: Int) { self.id = id }
        var description: String { "c\(id)" }
    }

    typealias State = UpstreamPoolState<Connection, Int>

    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func state(maxIdle: Int = 4, maxRequests: Int = 0, maxConnections: Int = 0, maxWaiters: Int = 8) -> State {
        State(settings: PoolSettings(maxIdlePerAddress: maxIdle, idleTimeout: .seconds(60),
                                     maxRequestsPerConnection: maxRequests, maxConnectionsPerAddress: maxConnections),
              maxWaiters: maxWaiters, now: t0)
    }

    /// `(waiter, "c1")` or `(waiter, "slot")` for each grant.
    func describe(_ grants: [(Int, State.Grant)]) -> [String] {
        grants.map { waiter, grant in
            switch grant {
            case .connection(let c): "\(waiter):\(c)"
            case .slot: "\(waiter):slot"
            }
        }
    }

    @Test("the most recently released idle connection is reused first")
    func lifoReuse() {
        var s = state()
        let (a, b) = (Connection(1), Connection(2))
        s.reserveSlot(); s.reserveSlot()
        #expect(s.released(a, requestsServed: 1, now: t0).0 == .keep)
        #expect(s.released(b, requestsServed: 1, now: t0 + .seconds(1)).0 == .keep)
        #expect(s.take() === b)
        #expect(s.take() === a)
        #expect(s.take() == nil)
        #expect(s.live == 2, "taking does not change the count: the connections are busy")
    }

    @Test("a full pool and a connection that served its share are closed, not kept")
    func closeDecisions() {
        var s = state(maxIdle: 1, maxRequests: 3)
        let (a, b, c) = (Connection(1), Connection(2), Connection(3))
        for _ in 0..<3 { s.reserveSlot() }
        #expect(s.released(a, requestsServed: 1, now: t0).0 == .keep)
        #expect(s.released(b, requestsServed: 1, now: t0).0 == .close, "one idle at most")
        #expect(s.take() === a)
        #expect(s.released(c, requestsServed: 3, now: t0).0 == .close, "served 3 of 3")
        #expect(s.idle.isEmpty)
    }

    @Test("at the limit new requests queue; freed capacity goes to the oldest waiter first, reserved for it")
    func fifoQueueAtTheLimit() {
        var s = state(maxConnections: 2)
        let (a, b) = (Connection(1), Connection(2))
        s.reserveSlot(); s.reserveSlot()
        #expect(s.isAtLimit)
        let queued = [10, 11, 12].map { s.enqueue($0) }
        #expect(queued == [true, true, true])
        // A release hands the connection straight to the oldest waiter; it never becomes idle.
        let (kept, grants) = s.released(a, requestsServed: 1, now: t0)
        #expect(kept == .keep && describe(grants) == ["10:c1"])
        #expect(s.take() == nil, "reserved for waiter 10")
        // A connection that closes frees a slot for the next waiter, counted at once.
        #expect(describe(s.ended()) == ["11:slot"])
        #expect(s.live == 2 && s.isAtLimit, "the slot is counted for waiter 11")
        // The other busy connection's release goes to waiter 12, the last one.
        let (keptB, grantsB) = s.released(b, requestsServed: 1, now: t0)
        #expect(keptB == .keep && describe(grantsB) == ["12:c2"])
        #expect(s.waiters.isEmpty && s.idle.isEmpty)
    }

    @Test("a woken waiter that left gives its capacity to the next waiter, or back to the pool")
    func giveBack() {
        var s = state(maxConnections: 1)
        let a = Connection(1)
        s.reserveSlot()
        let queued = [10, 11].map { s.enqueue($0) }
        #expect(queued == [true, true])
        let (_, first) = s.released(a, requestsServed: 1, now: t0)
        #expect(describe(first) == ["10:c1"])
        // Waiter 10 timed out before it ran: the connection goes to 11.
        let (_, second) = s.giveBack(.connection(a), requestsServed: 1, now: t0)
        #expect(describe(second) == ["11:c1"])
        // 11 left too: the connection is idle, nothing waits.
        let (kept, none) = s.giveBack(.connection(a), requestsServed: 1, now: t0)
        #expect(kept == .keep && none.isEmpty && s.take() === a)
        // A slot given back with nobody waiting just lowers the count.
        let queued12 = s.enqueue(12)
        #expect(queued12)
        #expect(describe(s.ended()) == ["12:slot"])
        #expect(s.live == 1)
        #expect(s.giveBack(.slot, requestsServed: 0, now: t0).1.isEmpty)
        #expect(s.live == 0 && !s.isAtLimit)
    }

    @Test("cancelled waiters are skipped, the queue has a cap, and a connect failure frees the slot")
    func cancelAndCap() {
        var s = state(maxConnections: 1, maxWaiters: 2)
        s.reserveSlot()
        let queued = [10, 11].map { s.enqueue($0) }
        #expect(queued == [true, true])
        let third = s.enqueue(12)
        #expect(!third, "two wait at most")
        s.cancel(10)
        #expect(describe(s.ended()) == ["11:slot"], "the connect failed: the slot goes to the first waiter still waiting")
        #expect(s.waiters.isEmpty && s.live == 1)
    }

    @Test("without a limit nothing queues and ending a connection grants nothing")
    func noLimit() {
        var s = state(maxConnections: 0)
        for _ in 0..<1000 { s.reserveSlot() }
        #expect(!s.isAtLimit)
        #expect(s.ended().isEmpty && s.live == 999)
    }

    @Test("idle connections past the timeout are expired, newer ones kept; an idle one that closes leaves")
    func expiryAndLeaving() {
        var s = state()
        let (a, b, c) = (Connection(1), Connection(2), Connection(3))
        for _ in 0..<3 { s.reserveSlot() }
        _ = s.released(a, requestsServed: 1, now: t0)
        _ = s.released(b, requestsServed: 1, now: t0 + .seconds(30))
        _ = s.released(c, requestsServed: 1, now: t0 + .seconds(40))
        #expect(s.expire(idleBefore: t0 + .seconds(10)).map(\.id) == [1])
        s.left(c)
        #expect(s.idle.map(\.connection.id) == [2])
        #expect(s.takeAllIdle().map(\.id) == [2])
        #expect(s.idle.isEmpty)
        #expect(s.lastUsed == t0 + .seconds(40))
    }
}
