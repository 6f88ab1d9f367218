/// When real traffic takes an address out of rotation and how it comes back. Counter names follow
/// Kong's `healthchecks.passive` (`unhealthy.tcp_failures`, `timeouts`, `http_failures`,
/// `http_statuses`, `healthy.successes`); a threshold of 0 turns that kind of failure off, as in Kong.
public struct PassiveHealthSettings: Sendable, Hashable {
    /// Consecutive TCP connect failures that eject (Kong `unhealthy.tcp_failures`).
    public var tcpFailures: Int
    /// Consecutive timeouts that eject (Kong `unhealthy.timeouts`).
    public var timeouts: Int
    /// Consecutive failing HTTP statuses that eject (Kong `unhealthy.http_failures`).
    public var httpFailures: Int
    /// The statuses that count as HTTP failures (Kong `unhealthy.http_statuses`).
    public var httpStatuses: Set<Int>
    /// Successful half-open trials needed to close the breaker (Kong `healthy.successes`; at least 1).
    public var successes: Int
    /// The first ejection lasts this long; the n-th lasts n times as long…
    public var baseEjectionTime: Duration
    /// …but never longer than this.
    public var maxEjectionTime: Duration
    /// After this long closed without a failure, the ejection count is forgotten.
    public var forgetAfter: Duration
    /// Never eject more than this share (percent) of an upstream's addresses (see `EjectionGuard`).
    public var maxEjectionPercent: Int
    /// Below this share (percent) of available addresses, spread traffic over every address instead
    /// of failing; 0 = never (fail fast with 503). The ring applies it through
    /// `UpstreamSettings.panicThreshold`: copy it there.
    public var panicThreshold: Int

    public init(
        tcpFailures: Int = 5, timeouts: Int = 5, httpFailures: Int = 5,
        httpStatuses: Set<Int> = [500, 502, 503, 504], successes: Int = 1,
        baseEjectionTime: Duration = .seconds(30), maxEjectionTime: Duration = .seconds(300),
        forgetAfter: Duration = .seconds(300), maxEjectionPercent: Int = 50, panicThreshold: Int = 0
    ) {
        self.tcpFailures = tcpFailures
        self.timeouts = timeouts
        self.httpFailures = httpFailures
        self.httpStatuses = httpStatuses
        self.successes = successes
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionTime = maxEjectionTime
        self.forgetAfter = forgetAfter
        self.maxEjectionPercent = maxEjectionPercent
        self.panicThreshold = panicThreshold
    }

    /// The ejection time for the `count`-th ejection: base × count, capped.
    public func ejectionTime(forEjection count: Int) -> Duration {
        let scaled = baseEjectionTime * max(1, count)
        return min(scaled, maxEjectionTime)
    }
}
