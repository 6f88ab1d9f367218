import Admin
import Balancer
import Dispatch
import Proxy
import Synchronization

/// The proxy's request metrics. Each event loop counts its own requests with no lock (`RequestTally`) and hands
/// what it counted over at most every 100 ms (`observe`): one short lock per hand-over, none per request, and no
/// thread of its own (the address sweep, every 10 s, runs on a global queue). `/metrics` renders the totals
/// (`emit`), the dashboard reads each service's (`traffic`).
public final class RequestMetrics: RequestObserver {
    private let series: Mutex<RequestSeries>
    /// Whether an address is in its upstream's ring now (an address still in DNS keeps its series).
    private let present: @Sendable (_ upstream: String, _ address: Address) -> Bool
    private let lastSweep = Mutex(ContinuousClock.now)
    /// How often address series are checked against the rings.
    static let sweepInterval = Duration.seconds(10)

    /// - Parameters:
    ///   - addressGrace: how long an address that left DNS keeps its series.
    ///   - present: whether an address is in its upstream's ring now.
    public init(addressGrace: Duration = .seconds(300),
                present: @escaping @Sendable (_ upstream: String, _ address: Address) -> Bool) {
        series = Mutex(RequestSeries(addressGrace: addressGrace))
        self.present = present
    }

    public func observe(_ tally: RequestTally) {
        let now = ContinuousClock.now
        series.withLock { $0.add(tally, now: now) }
        let sweepDue = lastSweep.withLock { last -> Bool in
            guard now - last >= Self.sweepInterval else { return false }
            last = now
            return true
        }
        // Off the event loop: checking idle addresses against their rings takes time in proportion to both.
        if sweepDue { DispatchQueue.global(qos: .utility).async { self.sweep(now: now) } }
    }

    /// Drops the series of addresses gone from DNS and idle for longer than the grace period; returns how many.
    /// The rings are read outside the series' lock, so a hand-over never waits on them.
    @discardableResult
    func sweep(now: ContinuousClock.Instant) -> Int {
        let idle = series.withLock { $0.idleAddresses(now: now) }
        let gone = idle.filter { !present($0.upstream, $0.address) }
        guard !gone.isEmpty else { return 0 }
        return series.withLock { $0.drop(gone, now: now) }
    }

    /// Appends the request series in Prometheus's text format.
    public func emit(into bytes: inout [UInt8]) {
        let snapshot = series.withLock { $0 }
        snapshot.emit(into: &bytes)
    }

    /// Each service's totals, as of the last hand-over.
    public var traffic: [ServiceTraffic] {
        series.withLock { $0 }.traffic.values.sorted { $0.name < $1.name }
    }
}
