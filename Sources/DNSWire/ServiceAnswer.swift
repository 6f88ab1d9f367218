/// The SRV records a message gives for one service name, with glue addresses for their targets.
public struct ServiceAnswer: Sendable, Equatable {
    /// Sorted by priority, target, port, weight; without duplicates; never a "." target.
    public var entries: [SRVEntry]
    /// Minimum TTL over the CNAME records followed and the whole SRV RRset (a "." record included).
    /// Nil when there is no SRV RRset.
    public var ttl: UInt32?
    /// A "." target was present (RFC 2782): the service is decidedly not available at this name.
    public var serviceUnavailable: Bool
    /// Addresses for entry targets found in the ANSWER and ADDITIONAL sections, keyed by target
    /// name; targets without any are absent, and records for names that are no entry's target are
    /// not used.
    public var glue: [String: GlueAddresses]
    /// The owner of the SRV RRset after following CNAMEs.
    public var canonicalName: String

    public init(entries: [SRVEntry], ttl: UInt32?, serviceUnavailable: Bool, glue: [String: GlueAddresses],
                canonicalName: String) {
        self.entries = entries
        self.ttl = ttl
        self.serviceUnavailable = serviceUnavailable
        self.glue = glue
        self.canonicalName = canonicalName
    }
}

/// One SRV target with the TTL of its own record (c-ares 1.18 drops it; refreshing needs it).
public struct SRVEntry: Sendable, Equatable, Hashable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: String
    public var ttl: UInt32

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String, ttl: UInt32) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
        self.ttl = ttl
    }
}

/// A/AAAA records for one SRV target that came with the answer, saving a second query.
public struct GlueAddresses: Sendable, Equatable {
    /// Sorted, without duplicates; IPv4 first.
    public var addresses: [IPAddress]
    /// Minimum TTL over those records.
    public var ttl: UInt32

    public init(addresses: [IPAddress], ttl: UInt32) {
        self.addresses = addresses
        self.ttl = ttl
    }
}
