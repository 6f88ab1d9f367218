/// Upstream-wide guard rails around ejection.
public enum EjectionGuard {
    /// Whether one more address may be ejected: the share is computed *after* the ejection
    /// (`(ejected + 1) / total <= maxPercent`), so a small upstream is never emptied by rounding
    /// (Envoy issues 26877, 27066), and a single-address upstream is never ejected at all: failing
    /// fast on its only address helps nobody.
    public static func mayEject(ejected: Int, total: Int, maxPercent: Int) -> Bool {
        guard total > 1 else { return false }
        return (ejected + 1) * 100 <= maxPercent * total
    }

    /// Whether the upstream is in panic: fewer available addresses than the threshold share, so
    /// traffic should go to every address rather than fail. Threshold 0 never panics.
    public static func isPanicking(available: Int, total: Int, panicThreshold: Int) -> Bool {
        guard panicThreshold > 0, total > 0 else { return false }
        return available * 100 < panicThreshold * total
    }
}
