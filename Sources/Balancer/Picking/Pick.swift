/// The address a request goes to, and the token that returns its in-flight slot. Pass it back to
/// `UpstreamBalancer.finish` (with the outcome) or `release` exactly once.
public struct Pick: Sendable {
    public let address: Address
    /// The SRV priority group it came from.
    public let priority: UInt16
    /// The ring it came from was built while one of the upstream's DNS names was stale or held.
    public let staleDNS: Bool
    let health: AddressHealth
}
