import Config

/// What the Admin API shows for one DNS name that discovery watches. Filled from the watcher by the node, so
/// this module does not depend on the resolver.
public struct WatchedName: Sendable, Hashable {
    public var name: String
    /// `A`, `AAAA`, `A/AAAA` or `SRV`.
    public var kind: String
    /// Records in force, as text (`10.0.0.1`, `10 5 8080 api1.example`).
    public var records: [String]
    /// TTL the server gave for the records, in seconds.
    public var ttl: UInt32?
    /// Seconds until the next query (negative when overdue).
    public var nextRefreshIn: Double?
    /// Seconds since the records were last confirmed (nil: never).
    public var refreshedAgo: Double?
    /// `fresh`, `stale`, `negative_hold` or `failed`.
    public var status: String
    /// What the last failed query said.
    public var lastError: String?
    /// Seconds since the records went stale (DNS failing) or into a negative hold (NXDOMAIN/NODATA).
    public var staleFor: Double?
    /// Seconds the stale or held records may still serve before they are dropped.
    public var staleServeRemaining: Double?
    /// A problem with the server's answers that is not an error (Consul cutting UDP answers to 3 records).
    public var warning: String?
    public var generation: UInt64
    public var queries: Int
    /// Queries that failed (timeout, SERVFAIL, REFUSED, unreachable).
    public var failures: Int

    public init(name: String, kind: String, records: [String], ttl: UInt32?, nextRefreshIn: Double?,
                refreshedAgo: Double?, status: String, lastError: String?, staleFor: Double?,
                staleServeRemaining: Double? = nil, warning: String? = nil, generation: UInt64, queries: Int, failures: Int = 0) {
        self.name = name
        self.kind = kind
        self.records = records
        self.ttl = ttl
        self.nextRefreshIn = nextRefreshIn
        self.refreshedAgo = refreshedAgo
        self.status = status
        self.lastError = lastError
        self.staleFor = staleFor
        self.staleServeRemaining = staleServeRemaining
        self.warning = warning
        self.generation = generation
        self.queries = queries
        self.failures = failures
    }

    /// Kong-style JSON of this name.
    var json: RawValue {
        func number(_ value: Double?) -> RawValue {
            value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null
        }
        return .object([
            "name": .string(name), "type": .string(kind), "records": .array(records.map { .string($0) }),
            "ttl": ttl.map { .int(Int($0)) } ?? .null, "next_refresh_in": number(nextRefreshIn),
            "last_refresh_ago": number(refreshedAgo), "status": .string(status),
            "stale": .bool(status == "stale" || status == "negative_hold"),
            "last_error": lastError.map { .string($0) } ?? .null, "stale_for": number(staleFor),
            "stale_serve_remaining": number(staleServeRemaining),
            "warning": warning.map { .string($0) } ?? .null,
            "generation": .int(Int(generation)), "queries": .int(queries), "failures": .int(failures),
        ])
    }
}
