/// An upstream's active probe schedule and verdicts (Kong's `healthchecks.active`), in the units the scheduler
/// uses; what a probe sends is the probe client's `ProbeRequest`.
/// An interval of zero turns probing off for addresses in that state; a threshold of zero turns that
/// verdict off.
public struct ProbeSettings: Sendable, Hashable {
    /// Probes running at once for the upstream (Kong `concurrency`).
    public var concurrency: Int
    /// Between probes of an address in rotation (Kong `healthy.interval`); zero = not probed.
    public var healthyInterval: Duration
    /// Between probes of an ejected address (Kong `unhealthy.interval`); zero = not probed.
    public var unhealthyInterval: Duration
    /// HTTP statuses that count as a passing probe (Kong `healthy.http_statuses`).
    public var healthyStatuses: Set<Int>
    /// HTTP statuses that count as a failing probe (Kong `unhealthy.http_statuses`); others are ignored.
    public var unhealthyStatuses: Set<Int>
    /// Consecutive passing probes that restore an address (Kong `healthy.successes`).
    public var successes: Int
    /// Consecutive refused connections that eject (Kong `unhealthy.tcp_failures`).
    public var tcpFailures: Int
    /// Consecutive timed-out probes that eject (Kong `unhealthy.timeouts`).
    public var timeouts: Int
    /// Consecutive failing statuses that eject (Kong `unhealthy.http_failures`).
    public var httpFailures: Int
    /// Each wait between probes is drawn from `[1 - jitter, 1] × interval`, so that nodes started
    /// together drift apart; jitter only ever shortens a wait, so restore times stay within
    /// `interval × successes`.
    public var jitter: Double

    public init(concurrency: Int = 10, healthyInterval: Duration = .zero,
                unhealthyInterval: Duration = .zero, healthyStatuses: Set<Int> = [200, 302],
                unhealthyStatuses: Set<Int> = [429, 404, 500, 501, 502, 503, 504, 505], successes: Int = 0,
                tcpFailures: Int = 0, timeouts: Int = 0, httpFailures: Int = 0, jitter: Double = 0.1) {
        self.concurrency = concurrency
        self.healthyInterval = healthyInterval
        self.unhealthyInterval = unhealthyInterval
        self.healthyStatuses = healthyStatuses
        self.unhealthyStatuses = unhealthyStatuses
        self.successes = successes
        self.tcpFailures = tcpFailures
        self.timeouts = timeouts
        self.httpFailures = httpFailures
        self.jitter = jitter
    }

    /// The wait between probes of an address in that state; nil when such addresses are not probed.
    public func interval(ejected: Bool) -> Duration? {
        let value = ejected ? unhealthyInterval : healthyInterval
        return value > .zero ? value : nil
    }
}
