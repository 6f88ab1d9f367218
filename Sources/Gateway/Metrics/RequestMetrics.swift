import Admin
import Balancer
import Dispatch
import Foundation
import Prometheus
import Proxy
import Synchronization

/// The proxy's request metrics, recorded off the request path: event loops hand over batches of finished requests
/// (`observe`, one short lock per batch, none per request) and a thread of its own records them into `registry`
/// for `/metrics`, and into per-service totals for the dashboard.
public final class RequestMetrics: RequestObserver {
    private struct Pending {
        var batches: [[AccessLogEntry]] = []
        var count = 0
        var stopping = false
    }

    /// Holds the request series; `/metrics` emits it after the node's state.
    public let registry = PrometheusCollectorRegistry()
    private let pending = Mutex(Pending())
    private let published = Mutex<[String: ServiceTraffic]>([:])
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let droppedRequests = Mutex(0)
    /// Requests waiting beyond this many are dropped (counted) rather than growing memory.
    static let maxPending = 200_000

    /// - Parameters:
    ///   - addressGrace: how long an address that left DNS keeps its series.
    ///   - present: whether an address is in its upstream's ring now.
    public init(addressGrace: Duration = .seconds(300),
                present: @escaping @Sendable (_ upstream: String, _ address: Address) -> Bool) {
        // Made on the recorder's thread, the only one that ever touches it (its series are classes).
        let thread = Thread { [self, registry] in
            self.run(RequestRecorder(registry: registry, addressGrace: addressGrace, present: present))
        }
        thread.name = "switchyard-metrics"
        thread.start()
    }

    public func observe(_ requests: [AccessLogEntry]) {
        let accepted = pending.withLock { state -> Bool in
            guard !state.stopping, state.count + requests.count <= Self.maxPending else { return false }
            state.batches.append(requests)
            state.count += requests.count
            return true
        }
        if accepted {
            wake.signal()
        } else {
            droppedRequests.withLock { $0 += requests.count }
        }
    }

    /// Each service's totals, as of the last recorded batch.
    public var traffic: [ServiceTraffic] {
        published.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// Requests not recorded because the recorder was too far behind.
    public var dropped: Int { droppedRequests.withLock { $0 } }

    /// Records what is pending and stops the thread.
    public func stop() {
        let first = pending.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        wake.signal()
        finished.wait()
    }

    private func run(_ initial: RequestRecorder) {
        var recorder = initial
        var lastSweep = ContinuousClock.now
        while true {
            // Woken by a batch, or every 10 s to sweep address series.
            _ = wake.wait(timeout: .now() + .seconds(10))
            let (batches, stopping) = pending.withLock { state in
                defer {
                    state.batches = []
                    state.count = 0
                }
                return (state.batches, state.stopping)
            }
            let now = ContinuousClock.now
            for batch in batches {
                // Through the buffer: each entry is read in place, not copied out (its strings retained and
                // released again).
                batch.withUnsafeBufferPointer { entries in
                    for index in entries.indices { recorder.record(entries[index], now: now) }
                }
            }
            if !batches.isEmpty {
                let traffic = recorder.traffic
                published.withLock { $0 = traffic }
            }
            if now - lastSweep >= .seconds(10) {
                recorder.sweep(now: now)
                lastSweep = now
            }
            if stopping {
                finished.signal()
                return
            }
        }
    }
}
