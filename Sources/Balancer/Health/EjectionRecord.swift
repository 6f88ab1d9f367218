/// Why and until when an address is out of rotation. Kept by address across ring rebuilds and while
/// the address is absent from DNS, so a flapping DNS answer cannot launder an ejection.
public struct EjectionRecord: Sendable, Hashable {
    public var since: ContinuousClock.Instant
    /// The ejection time ends here; what happens then (half-open trial, probe) is the breaker's call.
    public var until: ContinuousClock.Instant
    /// How many times the address was ejected since its history was last forgotten.
    public var count: Int
    /// Whether it is out of rotation now (false after `restore`, when only the count is kept).
    public var isActive: Bool
}
