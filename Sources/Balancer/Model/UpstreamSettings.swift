import DNSWire

/// How one upstream spreads requests over its addresses. Field names follow Kong's upstream entity
/// (`algorithm`, `hash_on`, `hash_fallback`, `slots`) so a Kong declarative file maps one to one.
public struct UpstreamSettings: Sendable, Hashable {
    /// The balancing algorithm (Kong `algorithm`).
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        /// Smooth weighted round-robin: every address gets its weight share, without bursts.
        case roundRobin = "round-robin"
        /// Consistent hashing of a request attribute, so one key keeps its address while the set changes.
        case consistentHashing = "consistent-hashing"
        /// Fewest in-flight requests per unit of weight, counted across all event loops.
        case leastConnections = "least-connections"
        /// Power of two random choices scored by peak-EWMA latency times in-flight requests.
        case latency = "latency"
    }

    /// The request attribute hashed by consistent hashing (Kong `hash_on` / `hash_fallback`).
    public enum HashInput: Sendable, Hashable {
        case none
        /// The client IP address (Kong `ip`).
        case ip
        /// A request header (Kong `header` + `hash_on_header`).
        case header(String)
        /// A cookie (Kong `cookie` + `hash_on_cookie`).
        case cookie(String)
        /// The request path (Kong `path`).
        case path
        /// A query argument (Kong `query_arg` + `hash_on_query_arg`).
        case queryArg(String)
        /// The consumer the request authenticated as (Kong `consumer`); absent on routes without key-auth.
        case consumer
        /// A named group of the route's regex path (Kong `uri_capture` + `hash_on_uri_capture`).
        case uriCapture(String)

        /// Kong's name for this input (`none`, `ip`, `header`, `cookie`, `path`, `query_arg`).
        public var kongName: String {
            switch self {
            case .none: return "none"
            case .ip: return "ip"
            case .header: return "header"
            case .cookie: return "cookie"
            case .path: return "path"
            case .queryArg: return "query_arg"
            case .consumer: return "consumer"
            case .uriCapture: return "uri_capture"
            }
        }
    }

    /// Kong's default and bounds for `slots`.
    public static let defaultSlots = 10_000
    public static let slotsRange = 10...65_536

    public var algorithm: Algorithm
    /// What consistent hashing hashes first.
    public var hashOn: HashInput
    /// What it hashes when `hashOn` is absent from the request.
    public var hashFallback: HashInput
    /// The least size of the hash continuum (Kong `slots`); the continuum grows with the address count
    /// so that each address gets at least `pointsPerAddress` points whatever `slots` says.
    public var slots: Int
    /// How fast the latency algorithm forgets a slow response (peak-EWMA time constant).
    public var latencyDecay: Duration
    /// The latency charged to an address for a connect failure or a timeout, so the latency algorithm
    /// steers away from it even before the circuit breaker ejects it.
    public var failureLatencyPenalty: Duration
    /// Below this share (percent) of available addresses the upstream panics: picks spread over every
    /// address, ejected or not, instead of answering 503. 0 (the default) never panics.
    public var panicThreshold: Int

    public init(
        algorithm: Algorithm = .roundRobin,
        hashOn: HashInput = .none,
        hashFallback: HashInput = .none,
        slots: Int = UpstreamSettings.defaultSlots,
        latencyDecay: Duration = .seconds(10),
        failureLatencyPenalty: Duration = .seconds(1),
        panicThreshold: Int = 0
    ) {
        self.algorithm = algorithm
        self.hashOn = hashOn
        self.hashFallback = hashFallback
        self.slots = slots
        self.latencyDecay = latencyDecay
        self.failureLatencyPenalty = failureLatencyPenalty
        self.panicThreshold = panicThreshold
    }

    /// Problems a person must fix before these settings are used, in Kong's terms; empty when valid.
    public var problems: [String] {
        var out: [String] = []
        if !Self.slotsRange.contains(slots) {
            out.append("slots must be between \(Self.slotsRange.lowerBound) and \(Self.slotsRange.upperBound), got \(slots)")
        }
        if hashFallback != .none {
            if hashOn == .none {
                out.append("hash_fallback must be 'none' when hash_on is 'none'")
            }
            if hashFallback == hashOn {
                out.append("hash_fallback must differ from hash_on")
            }
            if case .cookie = hashOn {
                out.append("hash_fallback must be 'none' when hash_on is 'cookie'")
            }
        }
        for input in [hashOn, hashFallback] {
            switch input {
            case .header(let name) where name.isEmpty: out.append("hash_on_header must name a header")
            case .cookie(let name) where name.isEmpty: out.append("hash_on_cookie must name a cookie")
            case .queryArg(let name) where name.isEmpty: out.append("hash_on_query_arg must name a query argument")
            case .uriCapture(let name) where name.isEmpty: out.append("hash_on_uri_capture must name a group")
            default: break
            }
        }
        if latencyDecay <= .zero { out.append("latency decay must be positive") }
        if !(0...100).contains(panicThreshold) { out.append("panic threshold must be a percentage (0 to 100), got \(panicThreshold)") }
        return out
    }

    /// The hash key of one request: `hashOn`'s input, else `hashFallback`'s, else nil (consistent hashing then
    /// spreads the request like round-robin). The closures read the request; they do not escape. The client's
    /// address is always there, so with `hashOn: .ip` the fallback is never used.
    public static func hashKey(
        on hashOn: HashInput,
        fallback hashFallback: HashInput,
        clientIP: IPAddress?,
        header: (String) -> Substring?,
        cookie: (String) -> Substring?,
        path: Substring?,
        queryArg: (String) -> Substring?,
        consumer: Substring? = nil,
        uriCapture: (String) -> Substring? = { _ in nil }
    ) -> HashKey? {
        func key(_ input: HashInput) -> HashKey? {
            switch input {
            case .none: return nil
            case .ip: return clientIP.map { HashKey(ip: $0) }
            case .header(let name): return header(name).map { HashKey($0) }
            case .cookie(let name): return cookie(name).map { HashKey($0) }
            case .path: return path.map { HashKey($0) }
            case .queryArg(let name): return queryArg(name).map { HashKey($0) }
            case .consumer: return consumer.map { HashKey($0) }
            case .uriCapture(let name): return uriCapture(name).map { HashKey($0) }
            }
        }
        return key(hashOn) ?? key(hashFallback)
    }
}
