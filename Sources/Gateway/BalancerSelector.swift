import Balancer
import DNSWire
import Proxy

/// The proxy's address selector backed by an upstream's balancer: picks from its ring without locks,
/// and hands every outcome back to it (in-flight counts, latency estimates, and the health counters
/// the circuit breaker reads).
struct BalancerSelector: AddressSelector {
    let balancer: UpstreamBalancer
    let settings: UpstreamSettings
    /// Turns outcomes into ejections; nil when the upstream has no health monitor.
    var monitor: UpstreamHealthMonitor? = nil

    func select(_ request: SelectionContext, loopIndex: Int) -> UpstreamPick? {
        var context = PickContext()
        for address in request.tried { context.excluding.insert(address) }
        // The route made the key from the request (`UpstreamSettings.hashKey`); nil spreads the request.
        if settings.algorithm == .consistentHashing { context.hashKey = request.hashKey }
        if settings.algorithm == .latency { context.now = .now }
        return balancer.pick(context, loop: loopIndex).map(UpstreamPick.init)
    }

    func report(_ upstreamPick: UpstreamPick, outcome: UpstreamOutcome) {
        guard let pick = upstreamPick.token else { return }
        let now = ContinuousClock.now
        let recorded: Outcome
        switch outcome {
        case .success(let nanoseconds):
            recorded = .success(latency: .nanoseconds(nanoseconds))
        case .httpStatus(let status, let nanoseconds):
            recorded = .httpStatus(status, latency: .nanoseconds(nanoseconds))
        case .connectFailure, .failure:
            recorded = .connectFailure
        case .timeout:
            recorded = .timeout
        case .released:
            balancer.release(pick)
            monitor?.released(pick.address, now: now)
            return
        }
        balancer.finish(pick, outcome: recorded, now: now)
        monitor?.observe(pick.address, outcome: recorded, now: now)
    }
}
