/// What one active probe does to an address: open a TCP connection, or also send `GET path` and read
/// the response status. Plain values, built once per upstream from its health settings.
public struct ProbeRequest: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A TCP connect that succeeds is a healthy answer.
        case tcp
        /// `GET path` with the given `Host` header and extra headers; the status decides.
        case http(path: String, host: String?, headers: [(String, String)])

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case (.tcp, .tcp): return true
            case let (.http(p1, h1, x1), .http(p2, h2, x2)):
                return p1 == p2 && h1 == h2 && x1.map { "\($0.0):\($0.1)" } == x2.map { "\($0.0):\($0.1)" }
            default: return false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .tcp: hasher.combine(0)
            case .http(let path, let host, let headers):
                hasher.combine(path)
                hasher.combine(host)
                for (name, value) in headers { hasher.combine(name); hasher.combine(value) }
            }
        }
    }

    public var kind: Kind
    /// The whole probe (connect, TLS handshake, request, response head) must finish within this time.
    public var timeout: Duration
    /// TLS for `https` probes (a failed handshake is a failed probe); nil probes in plain text.
    public var tls: UpstreamTLS?

    public init(kind: Kind, timeout: Duration, tls: UpstreamTLS? = nil) {
        self.kind = kind
        self.timeout = timeout
        self.tls = tls
    }

    public static func == (lhs: ProbeRequest, rhs: ProbeRequest) -> Bool {
        lhs.kind == rhs.kind && lhs.timeout == rhs.timeout && lhs.tls?.identity == rhs.tls?.identity
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(timeout)
        hasher.combine(tls?.identity)
    }
}
