import Foundation

/// A Kong plugin instance. Switchyard implements only `key-auth`; any other name is rejected when loading so a
/// configuration never silently loses a security or traffic rule.
public struct Plugin: Sendable, Hashable, Identifiable {
    public enum Configuration: Sendable, Hashable {
        case keyAuth(KeyAuthConfig)

        public var pluginName: String {
            switch self {
            case .keyAuth: return "key-auth"
            }
        }
    }

    public var id: UUID
    /// Scope: a route, a service (all its routes), or neither (every route). A route's own plugin wins over its
    /// service's, which wins over a global one.
    public var route: UUID?
    public var service: UUID?
    public var enabled: Bool
    public var config: Configuration
    public var tags: [String]

    public static let supportedNames = ["key-auth"]

    public init(id: UUID = UUID(), route: UUID? = nil, service: UUID? = nil, enabled: Bool = true,
                config: Configuration, tags: [String] = []) {
        self.id = id
        self.route = route
        self.service = service
        self.enabled = enabled
        self.config = config
        self.tags = tags
    }

    public var name: String { config.pluginName }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if route != nil && service != nil {
            issues.append(.error(.invalid, base, "set either 'route' or 'service', not both"))
        }
        switch config {
        case let .keyAuth(keyAuth):
            issues += keyAuth.validationIssues(path: joinPath(base, "config"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}

/// Configuration of the `key-auth` plugin (Kong's field names and defaults).
public struct KeyAuthConfig: Sendable, Hashable {
    /// Header or query-argument names that carry the key.
    public var keyNames: [String]
    /// Remove the key from the request before it goes upstream.
    public var hideCredentials: Bool
    public var keyInHeader: Bool
    public var keyInQuery: Bool
    /// Let CORS preflight (`OPTIONS`) requests through without a key when false.
    public var runOnPreflight: Bool

    public init(keyNames: [String] = ["apikey"], hideCredentials: Bool = false, keyInHeader: Bool = true,
                keyInQuery: Bool = true, runOnPreflight: Bool = true) {
        self.keyNames = keyNames
        self.hideCredentials = hideCredentials
        self.keyInHeader = keyInHeader
        self.keyInQuery = keyInQuery
        self.runOnPreflight = runOnPreflight
    }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if keyNames.isEmpty {
            issues.append(.error(.required, joinPath(base, "key_names"), "must list at least one name"))
        }
        for (i, name) in keyNames.enumerated() where !Validate.isToken(name) {
            issues.append(.error(.invalid, joinPath(joinPath(base, "key_names"), i),
                                 "invalid header name \"\(name)\""))
        }
        if !keyInHeader && !keyInQuery {
            issues.append(.error(.invalid, joinPath(base, "key_in_header"),
                                 "key_in_header and key_in_query cannot both be false"))
        }
        return issues
    }
}
