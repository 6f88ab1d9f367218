/// The address a request goes to, and the token that returns its in-flight slot. Pass it back to
/// `UpstreamBalancer.finish` (with the outcome) or `release` exactly once.
public struct Pick: Sendable {
    public let address: Address
    /// The SRV priority group it came from.
    public let priority: UInt16
    let health: AddressHealth
}
