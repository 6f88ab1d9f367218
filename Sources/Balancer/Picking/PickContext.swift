/// What a pick needs to know about the request. A plain value: building one allocates nothing.
public struct PickContext: Sendable {
    /// The consistent-hashing key (see `UpstreamSettings.hashKey`); nil spreads like round-robin.
    public var hashKey: HashKey?
    /// Addresses already tried by this request.
    public var excluding: ExcludedAddresses
    /// The time of the pick; the latency algorithm uses it to age the estimates of idle addresses.
    public var now: ContinuousClock.Instant?

    public init(hashKey: HashKey? = nil, excluding: ExcludedAddresses = ExcludedAddresses(),
                now: ContinuousClock.Instant? = nil) {
        self.hashKey = hashKey
        self.excluding = excluding
        self.now = now
    }
}
