import Balancer
import Config
import DNSWire
import Foundation
import NIOCore
import NIOHTTP1
import Proxy
import Routing

/// The proxy's router over the compiled `Routing.Router`: matches the request, then attaches the
/// service binding (timeouts, retries, selector) computed once per configuration.
struct GatewayRouter: ProxyRouter {
    /// What a matched route's service needs beyond the router's answer, keyed by service id. A class: each
    /// request takes it with one retain, where a struct of three references took three and released them again.
    final class Binding: Sendable {
        let service: ProxyService
        /// The Host header when the route neither preserves the client's nor names one.
        let defaultHost: String
        let hashOn: UpstreamSettings.HashInput
        let hashFallback: UpstreamSettings.HashInput
        /// `Path` of the cookie set when hashing on a cookie the request lacks (`hash_on_cookie_path`).
        let hashCookiePath: String

        init(service: ProxyService, defaultHost: String, hashOn: UpstreamSettings.HashInput,
             hashFallback: UpstreamSettings.HashInput, hashCookiePath: String = "/") {
            self.service = service
            self.defaultHost = defaultHost
            self.hashOn = hashOn
            self.hashFallback = hashFallback
            self.hashCookiePath = hashCookiePath
        }

        /// Hashing may use the path: it is normalized as routing does, so `/a/../b` and `/b` are one key.
        var hashesPath: Bool { hashOn == .path || hashFallback == .path }
    }

    let router: Router
    /// By the service's index in the configuration's `services` (`RouteTarget.serviceIndex`); nil for a service
    /// that has none (its upstream is missing).
    let bindings: [Binding?]
    /// The node-wide request body limit, for routes that set none (nil: no limit).
    let defaultMaxBodyBytes: Int64?

    func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? {
        let request = RouteRequest(method: method.rawValue, host: host.map(String.init), target: String(uri),
                                   scheme: https ? .https : .http)
        let match: RouteMatch
        switch router.route(request, headers: headers) {
        case .noRoute:
            return nil
        case .httpsRequired(let status, let target):
            return GatewayRouter.httpsRequired(status: status, target: target, host: host, uri: uri)
        case .matched(let matched):
            match = matched
        }
        guard let index = match.target.serviceIndex, bindings.indices.contains(index), let binding = bindings[index] else {
            return GatewayRouter.refusal(503, "route \(match.target.route.name ?? "(unnamed)") has no service")
        }
        var upstreamTarget = Substring(match.upstreamTarget)
        var removeHeaders: [String] = []
        var extraHeaders: [(name: String, value: String)] = []
        var consumerID: String? = nil
        if let keyAuth = match.target.keyAuth, keyAuth.runOnPreflight || !method.isOPTIONS {
            switch KeyAuthCheck.check(keyAuth, headers: headers, uri: uri, router: router) {
            case .refused(let refusal):
                return ProxyRoute(name: match.target.route.name ?? "", upstreamTarget: "", service: GatewayRouter.refusalService,
                                  refusal: refusal)
            case .accepted(let consumer, let header, let queryArg):
                extraHeaders = KeyAuthCheck.consumerHeaders(consumer)
                consumerID = consumer.id.uuidString.lowercased()
                if keyAuth.hideCredentials {
                    if let header { removeHeaders.append(header) }
                    if let queryArg { upstreamTarget = Substring(KeyAuthCheck.removingQueryArgument(queryArg, from: match.upstreamTarget)) }
                }
            }
        }
        let hostHeader: String
        switch match.hostHeader {
        case .value(let value): hostHeader = value
        case .targetHost: hostHeader = binding.defaultHost
        }
        var hashKey: HashKey? = nil
        var responseHeaders: [(name: String, value: String)] = []
        if binding.hashOn != .none {
            var generated: String? = nil
            hashKey = UpstreamSettings.hashKey(
                on: binding.hashOn, fallback: binding.hashFallback, clientIP: clientIP,
                header: { headers.first(name: $0).map { Substring($0) } },
                cookie: { name in
                    if let value = Self.cookie(named: name, in: headers) { return value }
                    // As Kong does: a client without the cookie gets one, and keeps its backend from then on.
                    let value = UUID().uuidString.lowercased()
                    generated = "\(name)=\(value); Path=\(binding.hashCookiePath)"
                    return Substring(value)
                },
                path: binding.hashesPath
                    ? Substring(PathNormalizer.normalize(uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri)) : nil,
                queryArg: { Self.queryArgument(named: $0, in: uri) },
                consumer: consumerID.map { Substring($0) },
                uriCapture: { match.uriCapture($0) })
            if let generated { responseHeaders = [(name: "Set-Cookie", value: generated)] }
        }
        return ProxyRoute(
            name: match.target.displayName,
            upstreamTarget: upstreamTarget,
            hostHeader: Substring(hostHeader),
            maxBodyBytes: match.target.route.maxRequestBodySize.map(Int64.init) ?? defaultMaxBodyBytes,
            hashKey: hashKey,
            service: binding.service,
            removeHeaders: removeHeaders,
            extraHeaders: extraHeaders,
            responseHeaders: responseHeaders
        )
    }

    /// The service refusals point at: never selected, since a refusal is answered before any pick.
    static let refusalService = ProxyService(name: "refused", selector: NoAddresses())

    static func refusal(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> ProxyRoute {
        ProxyRoute(name: "", upstreamTarget: "", service: refusalService,
                   refusal: ProxyRoute.Refusal(status: status, message: message, headers: headers))
    }

    /// Kong's `https_redirect_status_code`: 426 asks for https; 301/302/307/308 redirect to it.
    static func httpsRequired(status: Int, target: RouteTarget, host: Substring?, uri: Substring) -> ProxyRoute {
        guard [301, 302, 307, 308].contains(status), let host else {
            return refusal(426, "Please use HTTPS protocol", headers: [(name: "Upgrade", value: "TLS/1.2, HTTP/1.1")])
        }
        return refusal(status, "Please use HTTPS protocol", headers: [(name: "Location", value: "https://\(host)\(uri)")])
    }

    /// The value of cookie `name` in the request's `Cookie` headers (`a=1; name=value`), if any.
    static func cookie(named name: String, in headers: RequestHeaders) -> Substring? {
        for cookieHeader in headers.values(name: "cookie") {
            for pair in cookieHeader.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                if trimmed.hasPrefix(name + "=") { return trimmed.dropFirst(name.count + 1) }
            }
        }
        return nil
    }

    /// The value of query argument `name` in `uri` (`/p?a=1&name=value`), if any.
    static func queryArgument(named name: String, in uri: Substring) -> Substring? {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix(name + "=") {
            return pair.dropFirst(name.count + 1)
        }
        return nil
    }
}

extension RequestHeaders: RouteHeaders {
    public func values(forLowercasedName name: String) -> [String] { values(name: name) }
}
