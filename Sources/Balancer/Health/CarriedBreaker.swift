/// One address's circuit breaker (and operator or probe hold) in a form that outlives the process, so the
/// process that takes over a node keeps its ejections, half-open trials and ejection backoff. Instants are
/// seconds relative to the moment the state was taken.
public struct CarriedBreaker: Sendable, Hashable, Codable {
    /// `ip:port`.
    public var address: String
    /// "closed", "open" or "half_open".
    public var state: String
    /// Seconds until an open breaker's ejection ends.
    public var untilIn: Double?
    public var tcpFailures: Int
    public var timeouts: Int
    public var httpFailures: Int
    public var trialSuccesses: Int
    /// Ejections since the history was forgotten: the next ejection's length grows with it.
    public var ejections: Int
    public var quietAgo: Double?
    /// "manual" (an operator marked it unhealthy) or "probe" (failing probes hold it), nil otherwise.
    public var hold: String?

    public init(address: String, breaker: CircuitBreaker, hold: String?, now: ContinuousClock.Instant) {
        self.address = address
        switch breaker.state {
        case .closed: state = "closed"
        case .open(let until):
            state = "open"
            untilIn = CarriedTime.seconds(until - now)
        case .halfOpen: state = "half_open"
        }
        tcpFailures = breaker.consecutiveTCPFailures
        timeouts = breaker.consecutiveTimeouts
        httpFailures = breaker.consecutiveHTTPFailures
        trialSuccesses = breaker.trialSuccesses
        ejections = breaker.ejections
        quietAgo = breaker.quietSince.map { CarriedTime.seconds(now - $0) }
        self.hold = hold
    }

    /// The breaker this describes, `elapsed` seconds after it was taken; nil if it does not make sense. A trial
    /// that was out in the old process is not: the new one waits for a trial of its own.
    public func breaker(elapsed: Double, now: ContinuousClock.Instant) -> CircuitBreaker? {
        func instant(_ ahead: Double) -> ContinuousClock.Instant? { CarriedTime.instant(ahead, elapsed: elapsed, now: now) }
        let restored: CircuitBreaker.State
        switch state {
        case "closed": restored = .closed
        case "open":
            guard let until = untilIn.flatMap(instant) else { return nil }
            restored = .open(until: until)
        case "half_open": restored = .halfOpen(trialPending: false)
        default: return nil
        }
        return CircuitBreaker(state: restored, tcpFailures: tcpFailures, timeouts: timeouts, httpFailures: httpFailures,
                              trialSuccesses: trialSuccesses, ejections: ejections,
                              quietSince: quietAgo.flatMap { instant(-$0) })
    }
}
