/// One address of a ring, with every source that produced it and the weight and priority that
/// follow. Kept for every expanded address, ejected or not, so the admin API can list them all.
public struct RingAddress: Sendable, Hashable {
    public let address: Address
    /// The SRV priority group the address belongs to (lowest wins; 0 for non-SRV targets).
    public let priority: UInt16
    /// The sum of the weights of the sources in that priority group; 0 means the address gets
    /// traffic only when no positive-weight address of its group is available (RFC 2782).
    public let weight: UInt32
    /// Every target/record that produced this address, in target order.
    public let sources: [AddressSource]
}
