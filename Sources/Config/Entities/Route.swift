import Foundation

/// Match rules that send requests to a service, with Kong's field names and defaults.
public struct Route: Sendable, Hashable, Identifiable {
    public enum ClientProtocol: String, Sendable, Hashable, CaseIterable {
        case http
        case https
    }

    public var id: UUID
    public var name: String?
    /// The service requests go to; a route without one matches and is answered 503.
    public var service: UUID?
    /// Protocols a request may arrive with; a plain-http request on an https-only route is answered with
    /// `httpsRedirectStatusCode`.
    public var protocols: [ClientProtocol]
    /// Upper-case methods; empty matches any.
    public var methods: [String]
    /// Exact (`api.example.com`), leading wildcard (`*.example.com`) or trailing wildcard (`example.*`), optionally
    /// with `:port`; empty matches any host.
    public var hosts: [String]
    /// Prefixes (`/api`), or regular expressions anchored at the path start when written `~/users/\d+`.
    public var paths: [String]
    /// Header name (lower case) → accepted values; each named header must be present with one of its values
    /// (compared without case; a value written `~*regex` is a case-insensitive regular expression).
    public var headers: [String: [String]]
    public var stripPath: Bool
    public var preserveHost: Bool
    /// Only used to order regex paths against each other (higher first).
    public var regexPriority: Int
    public var httpsRedirectStatusCode: Int
    /// Accepted for compatibility: Switchyard always streams bodies with back-pressure.
    public var requestBuffering: Bool
    public var responseBuffering: Bool
    public var tags: [String]
    /// Switchyard extension: largest request body in bytes this route accepts (413 beyond); nil uses the node's
    /// limit. Kong has no such route field, so exports for Kong should drop it.
    public var maxRequestBodySize: Int?

    public static let redirectStatusCodes = [426, 301, 302, 307, 308]

    public init(id: UUID = UUID(), name: String? = nil, service: UUID? = nil,
                protocols: [ClientProtocol] = [.http, .https], methods: [String] = [], hosts: [String] = [],
                paths: [String] = [], headers: [String: [String]] = [:], stripPath: Bool = true,
                preserveHost: Bool = false, regexPriority: Int = 0, httpsRedirectStatusCode: Int = 426,
                requestBuffering: Bool = true, responseBuffering: Bool = true, tags: [String] = [],
                maxRequestBodySize: Int? = nil) {
        self.id = id
        self.name = name
        self.service = service
        self.protocols = protocols
        self.methods = methods
        self.hosts = hosts
        self.paths = paths
        self.headers = headers
        self.stripPath = stripPath
        self.preserveHost = preserveHost
        self.regexPriority = regexPriority
        self.httpsRedirectStatusCode = httpsRedirectStatusCode
        self.requestBuffering = requestBuffering
        self.responseBuffering = responseBuffering
        self.tags = tags
        self.maxRequestBodySize = maxRequestBodySize
    }

    public var displayName: String { name ?? id.uuidString.lowercased() }

    /// Field-level checks (regexes compile, hosts are well formed, at least one match field...).
    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let name { issues += Validate.entityName(name, at: joinPath(base, "name")) }
        if protocols.isEmpty {
            issues.append(.error(.invalid, joinPath(base, "protocols"), "must list at least one protocol"))
        }
        if methods.isEmpty && hosts.isEmpty && paths.isEmpty && headers.isEmpty {
            issues.append(.error(.required, base,
                                 "must set at least one of 'methods', 'hosts', 'paths' or 'headers'"))
        }
        for (i, method) in methods.enumerated() {
            let ok = !method.isEmpty && method.utf8.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
            if !ok {
                issues.append(.error(.invalid, joinPath(joinPath(base, "methods"), i),
                                     "invalid method \"\(method)\": use upper-case letters only, e.g. GET"))
            }
        }
        for (i, host) in hosts.enumerated() {
            issues += Validate.routeHost(host, at: joinPath(joinPath(base, "hosts"), i))
        }
        for (i, path) in paths.enumerated() {
            issues += Validate.routePath(path, at: joinPath(joinPath(base, "paths"), i))
        }
        for name in headers.keys.sorted() {
            let at = joinPath(joinPath(base, "headers"), name)
            let lower = name.lowercased()
            if lower == "host" {
                issues.append(.error(.invalid, at, "use 'hosts' to match the Host header"))
            } else if !Validate.isToken(name) {
                issues.append(.error(.invalid, at, "invalid header name \"\(name)\""))
            }
            let values = headers[name] ?? []
            if values.isEmpty {
                issues.append(.error(.invalid, at, "must list at least one value"))
            }
            for (i, value) in values.enumerated() where value.hasPrefix("~*") {
                if let problem = Validate.regexProblem(String(value.dropFirst(2))) {
                    issues.append(.error(.invalid, joinPath(at, i), "invalid regex \"\(value)\": \(problem)"))
                }
            }
        }
        if !Route.redirectStatusCodes.contains(httpsRedirectStatusCode) {
            issues.append(.error(.invalid, joinPath(base, "https_redirect_status_code"),
                                 "expected one of 426, 301, 302, 307, 308, got \(httpsRedirectStatusCode)"))
        }
        if let size = maxRequestBodySize, size < 0 {
            issues.append(.error(.invalid, joinPath(base, "max_request_body_size"),
                                 "must be 0 or more bytes, got \(size)"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}
