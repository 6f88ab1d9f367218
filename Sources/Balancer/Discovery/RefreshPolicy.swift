/// When a watched name is asked again, and how long its records stay in force when DNS misbehaves.
///
/// Every DNS outcome has its own explicit rule: a valid answer is refreshed when its TTL runs out (clamped);
/// a failure keeps the last good answer for `staleTTL`, retried with backoff; a negative answer for a name
/// that had records is held for `negativeHold` before the records go.
public struct RefreshPolicy: Sendable, Equatable {
    /// The shortest refresh interval. A TTL of 0 (Consul's default) is raised to this, so it cannot cause a
    /// query storm.
    public var minTTL: Duration = .seconds(1)
    /// The longest refresh interval, so a long TTL does not hide a change for hours.
    public var maxTTL: Duration = .seconds(300)
    /// How long the last good answer stays in force while every query fails (timeout, SERVFAIL, REFUSED,
    /// unreachable server), counted from the first failure.
    public var staleTTL: Duration = .seconds(3600)
    /// How long the records of a name that had records stay in force after NXDOMAIN or NODATA, so that a
    /// zone reload mistake does not empty a pool in one query.
    public var negativeHold: Duration = .seconds(30)
    /// The longest wait before asking again about a name that has no records (the SOA negative TTL is used
    /// when shorter).
    public var negativeRetryMax: Duration = .seconds(30)
    /// The first retry delay after a failure; it doubles with each consecutive failure.
    public var errorRetryInitial: Duration = .seconds(1)
    /// The longest retry delay after failures.
    public var errorRetryMax: Duration = .seconds(30)
    /// Refreshes happen up to this fraction early (and retries spread by ± this fraction), so names that
    /// share a TTL do not query in step.
    public var jitter: Double = 0.1

    public init() {}

    /// The refresh interval for a TTL: clamped to `minTTL...maxTTL`.
    public func refreshInterval(ttl: UInt32) -> Duration {
        let interval = Duration.seconds(Int64(ttl))
        return min(max(interval, minTTL), max(minTTL, maxTTL))
    }

    /// The retry delay after `failures` consecutive failures (1 for the first).
    public func retryDelay(failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let delay = errorRetryInitial * (1 << exponent)
        return min(delay, errorRetryMax)
    }

    /// The wait before asking again about a name without records.
    public func negativeRetry(negativeTTL: UInt32?) -> Duration {
        let soa = negativeTTL.map { Duration.seconds(Int64($0)) } ?? negativeRetryMax
        return min(max(soa, minTTL), max(minTTL, negativeRetryMax))
    }

    /// Validates the knobs: every duration positive and the ranges ordered.
    public func validate() -> [String] {
        var problems: [String] = []
        if minTTL <= .zero { problems.append("dns_min_ttl must be greater than 0 (a TTL of 0 would re-query without pause)") }
        if maxTTL < minTTL { problems.append("dns_max_ttl must not be less than dns_min_ttl") }
        if staleTTL < .zero { problems.append("dns_stale_ttl must not be negative") }
        if negativeHold < .zero { problems.append("dns_not_found_hold must not be negative") }
        if errorRetryInitial <= .zero { problems.append("dns_error_retry must be greater than 0") }
        if errorRetryMax < errorRetryInitial { problems.append("dns_error_retry_max must not be less than dns_error_retry") }
        if !(0...0.5).contains(jitter) { problems.append("dns_jitter must be between 0 and 0.5") }
        return problems
    }
}
