/// The passive circuit breaker of one address, as a plain state machine: each event is a `mutating`
/// method that returns the `Action` the caller performs on the balancer (eject, allow a trial, restore)
/// after releasing whatever lock guards the breaker.
///
/// closed --threshold of consecutive failures--> open(until) --time elapsed--> half-open
/// half-open --trial succeeded `successes` times--> closed; --trial failed--> open (longer)
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        /// Waiting for single trials; `trialPending` is true while one is out.
        case halfOpen(trialPending: Bool)
    }

    public enum Action: Sendable, Hashable {
        case none
        /// Take the address out of rotation until `until` (`UpstreamBalancer.eject`).
        case eject(until: ContinuousClock.Instant)
        /// Let exactly one request (or one active probe) try it (`UpstreamBalancer.allowTrial`).
        case allowTrial
        /// Put it back in rotation (`UpstreamBalancer.restore`).
        case restore
    }

    public private(set) var state: State = .closed
    public private(set) var consecutiveTCPFailures = 0
    public private(set) var consecutiveTimeouts = 0
    public private(set) var consecutiveHTTPFailures = 0
    /// Successful trials in the current half-open phase.
    public private(set) var trialSuccesses = 0
    /// Ejections since the history was last forgotten: the ejection time grows with it.
    public private(set) var ejections = 0
    /// The last time the breaker closed or last saw a failure while closed.
    public private(set) var quietSince: ContinuousClock.Instant?

    public init() {}

    /// A breaker as it was in another process (see `CarriedBreaker`).
    init(state: State, tcpFailures: Int, timeouts: Int, httpFailures: Int, trialSuccesses: Int, ejections: Int,
         quietSince: ContinuousClock.Instant?) {
        self.state = state
        consecutiveTCPFailures = max(0, tcpFailures)
        consecutiveTimeouts = max(0, timeouts)
        consecutiveHTTPFailures = max(0, httpFailures)
        self.trialSuccesses = max(0, trialSuccesses)
        self.ejections = max(0, ejections)
        self.quietSince = quietSince
    }

    /// A proxied request (or a probe) finished with `outcome`.
    ///
    /// - Parameter mayEject: whether the upstream's max-ejection share still allows one more
    ///   ejection (see `EjectionGuard`); when false, a threshold crossing is remembered but not acted on.
    public mutating func outcome(_ outcome: Outcome, settings: PassiveHealthSettings,
                                 now: ContinuousClock.Instant, mayEject: Bool = true) -> Action {
        let failure = Self.failureKind(outcome, settings)
        switch state {
        case .open:
            // Late answers of requests sent before the ejection change nothing.
            return .none
        case .halfOpen:
            guard failure == nil else { return open(settings: settings, now: now) }
            trialSuccesses += 1
            if trialSuccesses >= max(1, settings.successes) {
                state = .closed
                resetCounters()
                quietSince = now
                return .restore
            }
            state = .halfOpen(trialPending: false)
            return .allowTrial
        case .closed:
            guard let failure else {
                forgetIfQuiet(settings: settings, now: now)
                resetCounters()
                return .none
            }
            quietSince = now
            let crossed: Bool
            switch failure {
            case .tcp:
                consecutiveTCPFailures += 1
                crossed = settings.tcpFailures > 0 && consecutiveTCPFailures >= settings.tcpFailures
            case .timeout:
                consecutiveTimeouts += 1
                crossed = settings.timeouts > 0 && consecutiveTimeouts >= settings.timeouts
            case .http:
                consecutiveHTTPFailures += 1
                crossed = settings.httpFailures > 0 && consecutiveHTTPFailures >= settings.httpFailures
            }
            guard crossed, mayEject else { return .none }
            return open(settings: settings, now: now)
        }
    }

    /// Time passed: an open breaker whose ejection time is over goes half-open.
    public mutating func tick(now: ContinuousClock.Instant) -> Action {
        guard case .open(let until) = state, until <= now else { return .none }
        state = .halfOpen(trialPending: true)
        trialSuccesses = 0
        return .allowTrial
    }

    /// An operator (or a passing active probe) declared the address healthy.
    public mutating func markHealthy(now: ContinuousClock.Instant) -> Action {
        let wasClosed = state == .closed
        state = .closed
        resetCounters()
        quietSince = now
        return wasClosed ? .none : .restore
    }

    /// An operator (or failing active probes) declared the address unhealthy.
    public mutating func markUnhealthy(settings: PassiveHealthSettings, now: ContinuousClock.Instant) -> Action {
        if case .open = state { return .none }
        return open(settings: settings, now: now)
    }

    private mutating func open(settings: PassiveHealthSettings, now: ContinuousClock.Instant) -> Action {
        ejections += 1
        let until = now + settings.ejectionTime(forEjection: ejections)
        state = .open(until: until)
        resetCounters()
        trialSuccesses = 0
        return .eject(until: until)
    }

    private mutating func forgetIfQuiet(settings: PassiveHealthSettings, now: ContinuousClock.Instant) {
        if ejections > 0, let quietSince, now - quietSince >= settings.forgetAfter {
            ejections = 0
        }
    }

    private mutating func resetCounters() {
        consecutiveTCPFailures = 0
        consecutiveTimeouts = 0
        consecutiveHTTPFailures = 0
    }

    enum FailureKind { case tcp, timeout, http }

    static func failureKind(_ outcome: Outcome, _ settings: PassiveHealthSettings) -> FailureKind? {
        switch outcome {
        case .success: return nil
        case .connectFailure: return .tcp
        case .timeout: return .timeout
        case .httpStatus(let status, _): return settings.httpStatuses.contains(status) ? .http : nil
        }
    }
}
