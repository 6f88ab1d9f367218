import Foundation

/// Where a route sends traffic: an upstream (when `host` equals an upstream's name) or a plain `host:port`.
///
/// Field names and defaults follow Kong's `services` entity so Kong files and Admin API scripts carry over.
public struct Service: Sendable, Hashable, Identifiable {
    public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
        case http
        /// TLS from the proxy to the upstream's addresses.
        case https

        public var defaultPort: Int { self == .https ? 443 : 80 }
    }

    public var id: UUID
    public var name: String?
    public var `protocol`: UpstreamProtocol
    public var host: String
    public var port: Int
    /// Prefix prepended to the upstream request path; nil means `/`.
    public var path: String?
    /// Attempts on another address after a connect failure or timeout.
    public var retries: Int
    /// Milliseconds.
    public var connectTimeout: Int
    public var writeTimeout: Int
    public var readTimeout: Int
    public var tags: [String]
    /// A disabled service's routes do not match.
    public var enabled: Bool
    /// With `protocol: https`, whether the upstream's certificate is verified (chain and name). Nil is Kong's
    /// unset value: not verified, as in Kong, so Kong files behave the same.
    public var tlsVerify: Bool?

    public static let defaultRetries = 5
    public static let defaultTimeout = 60_000
    /// Kong's upper bound for timeouts (ms).
    public static let maxTimeout = 2_147_483_646

    public init(id: UUID = UUID(), name: String? = nil, protocol: UpstreamProtocol = .http, host: String,
                port: Int = 80, path: String? = nil, retries: Int = Service.defaultRetries,
                connectTimeout: Int = Service.defaultTimeout, writeTimeout: Int = Service.defaultTimeout,
                readTimeout: Int = Service.defaultTimeout, tags: [String] = [], enabled: Bool = true) {
        self.id = id
        self.name = name
        self.protocol = `protocol`
        self.host = host
        self.port = port
        self.path = path
        self.retries = retries
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
        self.readTimeout = readTimeout
        self.tags = tags
        self.enabled = enabled
        self.tlsVerify = nil
    }

    /// The name if set, else the id: how messages and references point at this service.
    public var displayName: String { name ?? id.uuidString.lowercased() }

    /// Field-level checks; `path` prefixes each issue's field path. Cross-entity checks live in `EntitySet`.
    public func validationIssues(path base: String = "", options: ValidationOptions = .init()) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let name { issues += Validate.entityName(name, at: joinPath(base, "name")) }
        if self.protocol == .https && !options.tlsUpstreams {
            issues.append(.error(.unsupported, joinPath(base, "protocol"),
                                 "\"https\" upstreams are not supported by this build (no TLS to upstreams); use \"http\""))
        }
        issues += Validate.host(host, at: joinPath(base, "host"))
        issues += Validate.port(port, at: joinPath(base, "port"))
        if let path {
            issues += Validate.servicePath(path, at: joinPath(base, "path"))
        }
        if retries < 0 || retries > 32767 {
            issues.append(.error(.invalid, joinPath(base, "retries"), "must be between 0 and 32767, got \(retries)"))
        }
        for (field, value) in [("connect_timeout", connectTimeout), ("write_timeout", writeTimeout),
                               ("read_timeout", readTimeout)] where value < 1 || value > Service.maxTimeout {
            issues.append(.error(.invalid, joinPath(base, field),
                                 "must be between 1 and \(Service.maxTimeout) milliseconds, got \(value)"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}

/// Switches for checks that depend on what the running build supports.
public struct ValidationOptions: Sendable, Hashable {
    /// Accept `protocol: https` on services (TLS from the proxy to upstreams).
    public var tlsUpstreams: Bool

    public init(tlsUpstreams: Bool = true) {
        self.tlsUpstreams = tlsUpstreams
    }
}
