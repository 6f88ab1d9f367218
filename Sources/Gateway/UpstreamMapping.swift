import Balancer
import Config

/// Translates configuration entities into the balancer's values. Kept in one place so the declarative
/// file, the datastore and the Admin API all produce the same rings.
enum UpstreamMapping {
    static func settings(_ upstream: Upstream) -> UpstreamSettings {
        UpstreamSettings(
            algorithm: algorithm(upstream.algorithm),
            hashOn: hashInput(upstream.hashOn, header: upstream.hashOnHeader, cookie: upstream.hashOnCookie,
                              queryArg: upstream.hashOnQueryArg, uriCapture: upstream.hashOnURICapture),
            hashFallback: hashInput(upstream.hashFallback, header: upstream.hashFallbackHeader,
                                    cookie: upstream.hashOnCookie, queryArg: upstream.hashFallbackQueryArg,
                                    uriCapture: upstream.hashFallbackURICapture),
            slots: upstream.slots,
            panicThreshold: Int(upstream.healthchecks.panicThreshold.rounded(.up))
        )
    }

    static func algorithm(_ algorithm: Upstream.Algorithm) -> UpstreamSettings.Algorithm {
        switch algorithm {
        case .roundRobin: return .roundRobin
        case .consistentHashing: return .consistentHashing
        case .leastConnections: return .leastConnections
        case .latency: return .latency
        }
    }

    static func hashInput(_ input: Upstream.HashInput, header: String?, cookie: String?, queryArg: String?,
                          uriCapture: String? = nil) -> UpstreamSettings.HashInput {
        switch input.rawValue {
        case "ip": return .ip
        case "header": return header.map { .header($0.lowercased()) } ?? .none
        case "cookie": return cookie.map { .cookie($0) } ?? .none
        case "path": return .path
        case "query_arg": return queryArg.map { .queryArg($0) } ?? .none
        case "consumer": return .consumer
        case "uri_capture": return uriCapture.map { .uriCapture($0) } ?? .none
        default: return .none
        }
    }

    static func targets(_ targets: [Target]) -> [TargetSpec] {
        targets.map { TargetSpec(host: $0.host, port: UInt16(clamping: $0.port), weight: UInt16(clamping: $0.weight)) }
    }
}
