import Foundation

/// A named pool of targets with a balancing algorithm and health settings; services reach it by naming it as
/// their `host`.
public struct Upstream: Sendable, Hashable, Identifiable {
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case roundRobin = "round-robin"
        case consistentHashing = "consistent-hashing"
        case leastConnections = "least-connections"
        case latency
    }

    /// Input of the consistent hash (Kong's `hash_on` / `hash_fallback` values).
    public enum HashInput: String, Sendable, Hashable, CaseIterable {
        case none, consumer, ip, header, cookie, path
        case queryArg = "query_arg"
        case uriCapture = "uri_capture"
    }

    public var id: UUID
    /// A hostname: services point at the upstream by using it as their host.
    public var name: String
    public var algorithm: Algorithm
    public var hashOn: HashInput
    public var hashFallback: HashInput
    public var hashOnHeader: String?
    public var hashFallbackHeader: String?
    public var hashOnCookie: String?
    public var hashOnCookiePath: String
    public var hashOnQueryArg: String?
    public var hashFallbackQueryArg: String?
    public var hashOnURICapture: String?
    public var hashFallbackURICapture: String?
    /// Size of the consistent-hash continuum.
    public var slots: Int
    /// Host header sent upstream instead of the picked target's host (unless the route preserves the host).
    public var hostHeader: String?
    public var healthchecks: Healthchecks
    public var tags: [String]

    public init(id: UUID = UUID(), name: String, algorithm: Algorithm = .roundRobin, hashOn: HashInput = .none,
                hashFallback: HashInput = .none, hashOnHeader: String? = nil, hashFallbackHeader: String? = nil,
                hashOnCookie: String? = nil, hashOnCookiePath: String = "/", hashOnQueryArg: String? = nil,
                hashFallbackQueryArg: String? = nil, hashOnURICapture: String? = nil,
                hashFallbackURICapture: String? = nil, slots: Int = 10_000, hostHeader: String? = nil,
                healthchecks: Healthchecks = Healthchecks(), tags: [String] = []) {
        self.id = id
        self.name = name
        self.algorithm = algorithm
        self.hashOn = hashOn
        self.hashFallback = hashFallback
        self.hashOnHeader = hashOnHeader
        self.hashFallbackHeader = hashFallbackHeader
        self.hashOnCookie = hashOnCookie
        self.hashOnCookiePath = hashOnCookiePath
        self.hashOnQueryArg = hashOnQueryArg
        self.hashFallbackQueryArg = hashFallbackQueryArg
        self.hashOnURICapture = hashOnURICapture
        self.hashFallbackURICapture = hashFallbackURICapture
        self.slots = slots
        self.hostHeader = hostHeader
        self.healthchecks = healthchecks
        self.tags = tags
    }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        let namePath = joinPath(base, "name")
        if Validate.isIPAddress(name) || !Validate.isHostname(name) {
            issues.append(.error(.invalid, namePath,
                                 "must be a hostname (services name it as their host), got \"\(name)\""))
        }
        if slots < 10 || slots > 65536 {
            issues.append(.error(.invalid, joinPath(base, "slots"), "must be between 10 and 65536, got \(slots)"))
        }
        func needs(_ input: HashInput, _ field: String, _ value: String?, _ what: String) {
            if value == nil || value?.isEmpty == true {
                issues.append(.error(.required, joinPath(base, field),
                                     "required when \(what) is \"\(input.rawValue)\""))
            }
        }
        switch hashOn {
        case .header: needs(.header, "hash_on_header", hashOnHeader, "hash_on")
        case .cookie: needs(.cookie, "hash_on_cookie", hashOnCookie, "hash_on")
        case .queryArg: needs(.queryArg, "hash_on_query_arg", hashOnQueryArg, "hash_on")
        case .uriCapture: needs(.uriCapture, "hash_on_uri_capture", hashOnURICapture, "hash_on")
        default: break
        }
        switch hashFallback {
        case .header: needs(.header, "hash_fallback_header", hashFallbackHeader, "hash_fallback")
        case .queryArg: needs(.queryArg, "hash_fallback_query_arg", hashFallbackQueryArg, "hash_fallback")
        case .uriCapture: needs(.uriCapture, "hash_fallback_uri_capture", hashFallbackURICapture, "hash_fallback")
        case .cookie:
            issues.append(.error(.invalid, joinPath(base, "hash_fallback"), "cannot be \"cookie\""))
        default: break
        }
        if hashOn == .none && hashFallback != .none {
            issues.append(.error(.invalid, joinPath(base, "hash_fallback"),
                                 "must be \"none\" when hash_on is \"none\""))
        }
        if hashOn != .none && hashOn == hashFallback && hashOn != .header && hashOn != .queryArg
            && hashOn != .uriCapture {
            issues.append(.error(.invalid, joinPath(base, "hash_fallback"), "must differ from hash_on"))
        }
        if hashOn != .none && algorithm != .consistentHashing {
            issues.append(.warning(.ignored, joinPath(base, "hash_on"),
                                   "only used with algorithm \"consistent-hashing\""))
        }
        // Both go into a `Set-Cookie` line when a client lacks the cookie: a cookie name is a token, and the
        // path must not end the attribute or the line.
        if let cookie = hashOnCookie, !cookie.isEmpty, !Validate.isToken(cookie) {
            issues.append(.error(.invalid, joinPath(base, "hash_on_cookie"),
                                 "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), got \"\(cookie)\""))
        }
        if !hashOnCookiePath.hasPrefix("/") {
            issues.append(.error(.invalid, joinPath(base, "hash_on_cookie_path"), "must start with \"/\""))
        } else if hashOnCookiePath.contains(";") {
            issues.append(.error(.invalid, joinPath(base, "hash_on_cookie_path"), "must not contain \";\""))
        } else {
            issues += Validate.servicePath(hashOnCookiePath, at: joinPath(base, "hash_on_cookie_path"))
        }
        if let hostHeader {
            issues += Validate.host(hostHeader, at: joinPath(base, "host_header"))
        }
        issues += healthchecks.validationIssues(path: joinPath(base, "healthchecks"))
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}
