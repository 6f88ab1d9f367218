import Config
import Foundation

/// Everything the proxy needs about a matched route, resolved once when the router is built.
public final class RouteTarget: Sendable {
    /// Where the service sends traffic.
    public enum Destination: Sendable, Hashable {
        /// The service's host names an upstream: pick an address from its ring.
        case upstream(Upstream)
        /// A plain host (name or IP) and port.
        case host(String, port: Int)
    }

    public let route: Route
    /// Nil when the route has no service: the proxy answers 503.
    public let service: Service?
    /// The service's position in the configuration's `services`, so a caller can keep what it derives per
    /// service in an array and find it without hashing the service's id on every request.
    public let serviceIndex: Int?
    public let destination: Destination?
    /// The key-auth requirement in force (route, else service, else global plugin); nil when open.
    public let keyAuth: KeyAuthConfig?

    /// The Host header when the route does not preserve the client's: fixed per route, so computed once here.
    public let upstreamHostHeader: UpstreamHostHeader
    /// The route's name, else its id: how logs and error bodies name it, computed once rather than per request.
    public let displayName: String

    public init(route: Route, service: Service?, serviceIndex: Int? = nil, destination: Destination?,
                keyAuth: KeyAuthConfig?) {
        self.route = route
        self.service = service
        self.serviceIndex = serviceIndex
        self.destination = destination
        self.keyAuth = keyAuth
        self.displayName = route.name ?? route.id.uuidString.lowercased()
        switch destination {
        case let .upstream(upstream)?:
            upstreamHostHeader = upstream.hostHeader.map { .value($0) } ?? .targetHost
        case let .host(host, port)?:
            upstreamHostHeader = .value(UpstreamHostHeader.forTarget(host: host, port: port,
                                                                     protocol: service?.protocol ?? .http))
        case nil:
            upstreamHostHeader = .targetHost
        }
    }
}

/// The Host header to send upstream.
public enum UpstreamHostHeader: Sendable, Hashable {
    /// Send exactly this value (the client's Host with `preserve_host`, an upstream's `host_header`, or a plain
    /// service's host).
    case value(String)
    /// Use the picked target's host name; see `UpstreamHostHeader.forTarget`.
    case targetHost

    /// Kong's rule: the host, plus `:port` unless it is the scheme's default port.
    public static func forTarget(host: String, port: Int, protocol: Service.UpstreamProtocol = .http) -> String {
        let name = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return port == `protocol`.defaultPort ? name : "\(name):\(port)"
    }
}

/// A routed request.
public struct RouteMatch: Sendable {
    public let target: RouteTarget
    /// Path and query to send upstream (service path joined, route prefix stripped when `strip_path`).
    public let upstreamTarget: String
    public let hostHeader: UpstreamHostHeader
    /// The named groups of the regex path that matched (empty for a prefix path).
    public var uriCaptures: [URICapture] = []

    /// The value of named group `name` in the matched regex path, if it took part in the match.
    public func uriCapture(_ name: String) -> Substring? {
        uriCaptures.first { $0.name == name }?.value
    }
}

/// One named group of a matched regex path (Kong's `uri_captures`).
public struct URICapture: Sendable {
    public let name: String
    public let value: Substring
}

/// The router's answer.
public enum RoutingDecision: Sendable {
    case matched(RouteMatch)
    /// Everything matched but the protocol: the route wants https and the request came over http. Answer with
    /// `statusCode` (Kong's `https_redirect_status_code`, 426 by default).
    case httpsRequired(statusCode: Int, target: RouteTarget)
    /// No route matches: 404.
    case noRoute
}
