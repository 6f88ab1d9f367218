import Config
import Foundation
@testable import Routing

/// Builds a router from a Kong declarative snippet; every route's service is "svc" unless given.
func makeRouter(_ routesYAML: String, service: String = "{name: svc, host: backend.internal}",
                extra: String = "") throws -> Router {
    let text = """
    _format_version: "3.0"
    services:
    - \(service)
    routes:
    \(routesYAML)
    \(extra)
    """
    return Router(config: try DeclarativeConfig.parse(text).config)
}

extension Router {
    /// Name of the matched route, "404", or "redirect:<code>".
    func name(_ method: String = "GET", host: String? = nil, path: String, scheme: Route.ClientProtocol = .http,
              headers: [String: [String]] = [:]) -> String {
        switch route(RouteRequest(method: method, host: host, target: path, scheme: scheme),
                     headers: HeaderDictionary(headers)) {
        case .matched(let match): return match.target.route.name ?? "?"
        case .noRoute: return "404"
        case .httpsRequired(let code, _): return "redirect:\(code)"
        }
    }

    func match(_ method: String = "GET", host: String? = nil, path: String) -> RouteMatch? {
        if case .matched(let match) = route(RouteRequest(method: method, host: host, target: path)) { return match }
        return nil
    }
}
