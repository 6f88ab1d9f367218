import DNSWire
import NIOHTTP1

/// Sends every request to one service, unchanged: the route table for a plain list of backends
/// (benchmarks, `--proxy-listen` with static targets) before declarative routing is configured.
public struct StaticRouter: ProxyRouter {
    public let service: ProxyService
    public let name: String
    public let maxBodyBytes: Int64?

    public init(service: ProxyService, name: String = "default", maxBodyBytes: Int64? = nil) {
        self.service = service
        self.name = name
        self.maxBodyBytes = maxBodyBytes
    }

    public func route(method: HTTPMethod, host: Substring?, uri: Substring, headers: RequestHeaders, https: Bool, clientIP: IPAddress?) -> ProxyRoute? {
        ProxyRoute(name: name, upstreamTarget: uri, hostHeader: host, maxBodyBytes: maxBodyBytes, service: service)
    }
}
