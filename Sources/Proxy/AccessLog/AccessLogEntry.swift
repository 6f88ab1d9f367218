import Balancer

/// One request as the access log records it: filled in by the client connection as the exchange goes, and
/// written as one line when it ends. Only built when an access log is on.
///
/// Latencies are milliseconds, each defined once (docs/observability.md): `total` from the request head to the
/// end of the response; `upstream_connect` the last try's wait for a connection (0 when one was idle in the pool);
/// `upstream_ttfb` from sending the request to the response head; `upstream_total` from sending the request to
/// the end of the response; `proxy` = `total` − `upstream_total`, the time spent in Switchyard (routing, picks,
/// connects, retries, queueing at a connection limit).
public struct AccessLogEntry: Sendable {
    /// The id Switchyard generated, written as hex when the line is formatted (no string per request).
    var generatedId: RequestId? = nil
    /// The request's W3C trace context (the client's, or the one generated for it); its trace id is logged.
    var trace: TraceParent? = nil
    /// One address tried for the request.
    public struct Try: Sendable, Equatable {
        public var address: Address
        /// "ok" (a response came), "connect_failed", "connect_timeout", "failed", "timeout", "released".
        public var outcome: String
        public var status: Int?
        public var connectMilliseconds: Double?
        public var ttfbMilliseconds: Double?

        public init(address: Address, outcome: String, status: Int? = nil, connectMilliseconds: Double? = nil,
                    ttfbMilliseconds: Double? = nil) {
            self.address = address
            self.outcome = outcome
            self.status = status
            self.connectMilliseconds = connectMilliseconds
            self.ttfbMilliseconds = ttfbMilliseconds
        }
    }

    /// Why a request ended as it did, as Envoy's response flags, plus `DS` of our own.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// UH: no healthy upstream address to send it to.
        public static let noHealthyUpstream = Flags(rawValue: 1 << 0)
        /// UF: an upstream connection failed (refused, reset, TLS).
        public static let upstreamConnectionFailure = Flags(rawValue: 1 << 1)
        /// UT: an upstream timed out (connect, read or write).
        public static let upstreamTimeout = Flags(rawValue: 1 << 2)
        /// URX: every try failed; the client got the last failure.
        public static let retriesExhausted = Flags(rawValue: 1 << 3)
        /// DC: the client went away before its response was complete.
        public static let clientDisconnected = Flags(rawValue: 1 << 4)
        /// DS (Switchyard's own): an address was picked from a ring built while one of the upstream's DNS
        /// names was served stale (DNS failing) or held (a negative answer): traffic flowed on old records.
        public static let servedStaleDNS = Flags(rawValue: 1 << 5)

        public static let names: [(Flags, String)] = [
            (.noHealthyUpstream, "UH"), (.upstreamConnectionFailure, "UF"), (.upstreamTimeout, "UT"),
            (.retriesExhausted, "URX"), (.clientDisconnected, "DC"), (.servedStaleDNS, "DS"),
        ]
    }

    /// Wall-clock start, milliseconds since 1970 (Kong's `started_at`).
    public var startedAt: Int64
    public var clientIP: String
    public var method: String
    /// The request target as the client sent it (path and query).
    public var uri: String
    public var status = 0
    /// The status the upstream answered, nil when Switchyard answered by itself.
    public var upstreamStatus: Int?
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    public var requestId = ""
    public var route: String?
    public var service: String?
    /// The service's upstream (its host).
    public var upstream: String?
    public var tries: [Try] = []
    public var flags: Flags = []
    public var totalMilliseconds: Double = 0
    public var upstreamConnectMilliseconds: Double?
    public var upstreamTTFBMilliseconds: Double?
    public var upstreamTotalMilliseconds: Double?

    public init(startedAt: Int64, clientIP: String, method: String, uri: String) {
        self.startedAt = startedAt
        self.clientIP = clientIP
        self.method = method
        self.uri = uri
    }

    /// `total` − `upstream_total`: what Switchyard itself added.
    public var proxyMilliseconds: Double { max(0, totalMilliseconds - (upstreamTotalMilliseconds ?? 0)) }
}
