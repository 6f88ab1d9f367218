/// Request header names the proxy treats specially; everything else is relayed as received.
enum RequestHeaderKind {
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case te
    case trailer
    case upgrade
    case proxyPrefixed
    case forwardedFor
    case forwardedProto
    case forwardedHost
    case forwardedPort
    case via
    case requestId
    case traceParent
    case other

    /// Classifies a header name by length first, then one case-insensitive compare: no lowercased copy.
    static func of(_ bytes: UnsafeRawBufferPointer) -> RequestHeaderKind {
        switch bytes.count {
        case 2:
            return matches(bytes, "te") ? .te : .other
        case 3:
            return matches(bytes, "via") ? .via : .other
        case 4:
            return matches(bytes, "host") ? .host : .other
        case 7:
            if matches(bytes, "upgrade") { return .upgrade }
            if matches(bytes, "trailer") { return .trailer }
            return .other
        case 10:
            if matches(bytes, "connection") { return .connection }
            if matches(bytes, "keep-alive") { return .keepAlive }
            return .other
        case 11:
            return matches(bytes, "traceparent") ? .traceParent : .other
        case 12:
            return matches(bytes, "x-request-id") ? .requestId : .other
        case 14:
            return matches(bytes, "content-length") ? .contentLength : proxyPrefixed(bytes)
        case 15:
            if matches(bytes, "x-forwarded-for") { return .forwardedFor }
            return proxyPrefixed(bytes)
        case 16:
            if matches(bytes, "x-forwarded-host") { return .forwardedHost }
            if matches(bytes, "x-forwarded-port") { return .forwardedPort }
            return proxyPrefixed(bytes)
        case 17:
            if matches(bytes, "transfer-encoding") { return .transferEncoding }
            if matches(bytes, "x-forwarded-proto") { return .forwardedProto }
            return proxyPrefixed(bytes)
        default:
            return proxyPrefixed(bytes)
        }
    }

    private static func proxyPrefixed(_ bytes: UnsafeRawBufferPointer) -> RequestHeaderKind {
        guard bytes.count > 6 else { return .other }
        return HeadScan.equalsLowercase(bytes, 0, "proxy-") ? .proxyPrefixed : .other
    }

    @inline(__always)
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount && HeadScan.equalsLowercase(bytes, 0, literal)
    }
}
