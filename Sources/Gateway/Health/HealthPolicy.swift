import Balancer

/// Everything one upstream's health monitor needs to know: the passive breaker's settings (which also
/// carry the ejection times, max ejection percent and panic threshold) and the active probes, if any.
public struct HealthPolicy: Sendable, Hashable {
    /// Thresholds, ejection times and guard rails. Its failure thresholds are all zero when passive
    /// checks are off; active and manual ejections still use its ejection times.
    public var passive: PassiveHealthSettings
    /// Active probes; nil when off.
    public var active: ActiveProbes?

    public init(passive: PassiveHealthSettings, active: ActiveProbes? = nil) {
        self.passive = passive
        self.active = active
    }

    /// No breaker and no probes: Kong's default for an upstream without `healthchecks`.
    public static let off = HealthPolicy(passive: PassiveHealthSettings(
        tcpFailures: 0, timeouts: 0, httpFailures: 0, maxEjectionPercent: 100, panicThreshold: 0))

    /// Whether real traffic can eject an address.
    public var isPassiveEnabled: Bool {
        passive.tcpFailures > 0 || passive.timeouts > 0 || passive.httpFailures > 0
    }
}
