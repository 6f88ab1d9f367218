import Balancer
import DNSWire
import Proxy

/// The proxy's address selector backed by an upstream's balancer: picks from its ring without locks,
/// and hands every outcome back to it (in-flight counts, latency estimates, and the health counters
/// the circuit breaker reads).
struct BalancerSelector: AddressSelector {
    let balancer: UpstreamBalancer
    let settings: UpstreamSettings

    func select(_ request: SelectionContext, loopIndex: Int) -> Pick? {
        var context = PickContext()
        for address in request.tried { context.excluding.insert(address) }
        if settings.algorithm == .consistentHashing {
            if let key = request.hashKey {
                context.hashKey = HashKey(key)
            } else if case .ip = settings.hashOn, let ip = request.clientIP {
                context.hashKey = HashKey(ip: ip)
            } else if case .ip = settings.hashFallback, let ip = request.clientIP {
                context.hashKey = HashKey(ip: ip)
            }
        }
        if settings.algorithm == .latency { context.now = .now }
        return balancer.pick(context, loop: loopIndex)
    }

    func report(_ pick: Pick, outcome: UpstreamOutcome) {
        let now = ContinuousClock.now
        switch outcome {
        case .success(let nanoseconds):
            balancer.finish(pick, outcome: .success(latency: .nanoseconds(nanoseconds)), now: now)
        case .httpStatus(let status):
            balancer.finish(pick, outcome: .httpStatus(status, latency: .zero), now: now)
        case .connectFailure, .failure:
            balancer.finish(pick, outcome: .connectFailure, now: now)
        case .timeout:
            balancer.finish(pick, outcome: .timeout, now: now)
        case .released:
            balancer.release(pick)
        }
    }
}
