import DNSWire

/// What discovery holds for one watched DNS name at one moment: the records in force (sorted, so two
/// snapshots with the same content compare equal whatever order the server sent), and how fresh they are.
///
/// Snapshots are immutable and published only when `content` changes; `status` changes (a DNS error
/// while serving stale) are published too, so operators can see them.
public struct NameSnapshot: Sendable, Equatable {
    /// The watched name, fully qualified without the trailing dot (`_http._tcp.api.svc.test`).
    public let name: String
    /// The records in force.
    public let content: Content
    /// How these records came to be in force.
    public let status: Status
    /// Increases by one with every publication for this name.
    public let generation: UInt64
    /// When the records were last confirmed by a successful answer (nil: never).
    public let refreshedAt: ContinuousClock.Instant?
    /// When the next query for this name is due.
    public let nextRefresh: ContinuousClock.Instant
    /// The TTL (seconds) the server gave for the RRset in force, before clamping.
    public let ttl: UInt32?

    public init(
        name: String, content: Content, status: Status, generation: UInt64,
        refreshedAt: ContinuousClock.Instant?, nextRefresh: ContinuousClock.Instant, ttl: UInt32?
    ) {
        self.name = name
        self.content = content
        self.status = status
        self.generation = generation
        self.refreshedAt = refreshedAt
        self.nextRefresh = nextRefresh
        self.ttl = ttl
    }

    /// The records a name resolves to. Addresses and services are kept sorted.
    public enum Content: Sendable, Hashable {
        /// Nothing known yet, or the records were withdrawn after the negative-answer hold.
        case empty
        /// An A/AAAA name: its addresses (IPv4 first, then IPv6, each ascending).
        case addresses([IPAddress])
        /// An SRV name: its entries sorted by (priority, target, port, weight).
        case services([ServiceRecord])

        public var isEmpty: Bool {
            switch self {
            case .empty: return true
            case .addresses(let a): return a.isEmpty
            case .services(let s): return s.isEmpty
            }
        }
    }

    /// Whether the records are fresh, or held through a DNS failure or a negative answer.
    public enum Status: Sendable, Hashable {
        /// The last query succeeded.
        case fresh
        /// Queries are failing (timeout, SERVFAIL, REFUSED, unreachable); the last good records stay in
        /// force until `until`. `error` is what the last query said.
        case stale(error: String, since: ContinuousClock.Instant, until: ContinuousClock.Instant)
        /// The name no longer exists (NXDOMAIN) or has no records of the type (NODATA), but had records:
        /// they stay in force until `until`, in case this is a zone mistake that is about to be fixed.
        case negativeHold(reason: String, since: ContinuousClock.Instant, until: ContinuousClock.Instant)
        /// No records are in force and the last query failed (or the name does not exist).
        case failed(error: String)
    }
}

/// One SRV entry of a service name, with the addresses its target resolved to (from the additional
/// section when the server sent glue, otherwise from a follow-up A/AAAA query).
public struct ServiceRecord: Sendable, Hashable, Comparable {
    public let priority: UInt16
    public let weight: UInt16
    public let port: UInt16
    /// The target host name, without the trailing dot.
    public let target: String
    /// Sorted addresses of `target`; empty when it did not resolve (the entry then gets no traffic).
    public let addresses: [IPAddress]

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String, addresses: [IPAddress]) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
        self.addresses = addresses.sorted()
    }

    public static func < (lhs: ServiceRecord, rhs: ServiceRecord) -> Bool {
        (lhs.priority, lhs.target, lhs.port, lhs.weight) < (rhs.priority, rhs.target, rhs.port, rhs.weight)
    }
}
