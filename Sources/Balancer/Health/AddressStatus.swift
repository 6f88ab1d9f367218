/// A read-only view of one address's health for the admin API.
public struct AddressStatus: Sendable, Hashable {
    public enum Membership: Sendable, Hashable {
        /// In the current ring.
        case member
        /// Gone from DNS or config; kept until its in-flight requests finish and its ejection ends.
        case draining(since: ContinuousClock.Instant)
    }

    public let address: Address
    public let membership: Membership
    public let isAvailable: Bool
    public let inFlight: Int
    public let latencyEstimate: Duration?
    public let counters: AddressHealth.Counters
    public let ejection: EjectionRecord?
}
