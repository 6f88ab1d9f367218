import Config

/// What the router looks at in a request. `target` is the request target as received (path with optional query).
public struct RouteRequest: Sendable {
    public var method: String
    /// The Host header (or the authority of an absolute-form target), port included if the client sent one.
    public var host: String?
    public var target: String
    public var scheme: Route.ClientProtocol

    public init(method: String, host: String?, target: String, scheme: Route.ClientProtocol = .http) {
        self.method = method
        self.host = host
        self.target = target
        self.scheme = scheme
    }
}

/// Read access to request headers by lower-case name, so the proxy can pass its own header storage without
/// copying (NIO's `HTTPHeaders` conforms with a one-line extension).
public protocol RouteHeaders {
    /// Every value of the header, in order; empty when absent.
    func values(forLowercasedName name: String) -> [String]
}

/// Headers as a plain dictionary, mainly for tests; keys are matched case-insensitively.
public struct HeaderDictionary: RouteHeaders, Sendable {
    private let storage: [String: [String]]

    public init(_ headers: [String: [String]]) {
        var lowered: [String: [String]] = [:]
        for (name, values) in headers { lowered[name.lowercased(), default: []].append(contentsOf: values) }
        storage = lowered
    }

    public func values(forLowercasedName name: String) -> [String] { storage[name] ?? [] }
}

/// No headers at all: for requests routed before headers matter, and for routes without header rules.
public struct NoHeaders: RouteHeaders, Sendable {
    public init() {}
    public func values(forLowercasedName name: String) -> [String] { [] }
}
