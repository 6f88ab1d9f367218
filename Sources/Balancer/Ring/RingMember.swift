/// One pickable address inside a tier: its weight and the shared state picks read.
struct RingMember: Sendable {
    let address: Address
    /// Positive: the zero-weight tier stores 1 for each of its members.
    let weight: UInt32
    let health: AddressHealth
}
