/// Converts between `ContinuousClock` instants and the relative seconds carried state is written in, for
/// `CarriedName` and `CarriedBreaker` alike.
enum CarriedTime {
    static func seconds(_ duration: Duration) -> Double {
        let c = duration.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// The instant `ahead` seconds after the state was taken, `elapsed` seconds ago; nil for values that are not
    /// finite or more than ten years away (a corrupt file, not a clock).
    static func instant(_ ahead: Double, elapsed: Double, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let seconds = ahead - elapsed
        guard seconds.isFinite, abs(seconds) < 10 * 365 * 86_400 else { return nil }
        return now + .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
