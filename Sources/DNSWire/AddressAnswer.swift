/// The addresses a message gives for one name, ready to cache.
public struct AddressAnswer: Sendable, Equatable {
    /// Sorted, without duplicates.
    public var addresses: [IPAddress]
    /// Minimum TTL over the CNAME records followed and the address RRset: how long the whole answer
    /// may be cached. Nil when there are no addresses (use `DNSMessage.negativeTTL`).
    public var ttl: UInt32?
    /// The name the addresses belong to, after following CNAMEs (the asked name when there were none).
    public var canonicalName: String

    public init(addresses: [IPAddress], ttl: UInt32?, canonicalName: String) {
        self.addresses = addresses
        self.ttl = ttl
        self.canonicalName = canonicalName
    }
}
