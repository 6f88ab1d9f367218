/// Coalesces NOTIFY-driven refreshes: at most one refresh per zone per `interval`, however many NOTIFYs
/// arrive, and never a NOTIFY lost: one that comes inside the interval gets a refresh at its end.
///
/// Pure: the caller passes the time, performs `.refreshNow` at once, sleeps until the instant of
/// `.refreshAt`, then calls `scheduledRefreshStarted` and refreshes.
public struct ZoneRefreshLimiter: Sendable {
    public enum Action: Sendable, Equatable {
        case refreshNow
        /// A refresh is due at this instant (the end of the zone's interval); schedule it.
        case refreshAt(ContinuousClock.Instant)
        /// A refresh is already scheduled and will see this change too.
        case coalesced
    }

    public let interval: Duration
    private var lastRefresh: [String: ContinuousClock.Instant] = [:]
    private var scheduled: Set<String> = []

    public init(interval: Duration = .milliseconds(100)) {
        self.interval = interval
    }

    /// A NOTIFY for `zone` was accepted at `now`.
    public mutating func notified(zone: String, now: ContinuousClock.Instant) -> Action {
        if scheduled.contains(zone) { return .coalesced }
        if let last = lastRefresh[zone], now < last + interval {
            scheduled.insert(zone)
            return .refreshAt(last + interval)
        }
        lastRefresh[zone] = now
        return .refreshNow
    }

    /// The refresh scheduled for `zone` starts now.
    public mutating func scheduledRefreshStarted(zone: String, now: ContinuousClock.Instant) {
        scheduled.remove(zone)
        lastRefresh[zone] = now
    }
}
