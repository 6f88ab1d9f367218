import NIOCore
import NIOHTTP1

/// Serialises the request head sent upstream in one buffer: hop-by-hop headers removed,
/// forwarding headers added, framing restated. Always HTTP/1.1 with keep-alive towards upstreams.
enum UpstreamRequestWriter {
    struct Forwarding {
        var clientIP: String
        var proto: StaticString
        var port: String
        var requestId: RequestId
    }

    static func write(
        head: HTTPRequestHead,
        facts: RequestFacts,
        route: ProxyRoute,
        forwarding: Forwarding,
        tunnel: Bool,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeString(head.method.rawValue)
        buffer.writeStaticString(" ")
        buffer.writeSubstring(route.upstreamTarget.isEmpty ? "/" : route.upstreamTarget)
        buffer.writeStaticString(" HTTP/1.1\r\nHost: ")
        if let host = route.hostHeader {
            buffer.writeSubstring(host)
        } else if let host = facts.host {
            buffer.writeString(host)
        }
        buffer.writeStaticString("\r\n")
        let named = facts.connectionNamed
        for (name, value) in head.headers {
            switch RequestHeaderKind.of(name) {
            case .other:
                if !named.isEmpty && named.contains(name.lowercased()) { continue }
                if !route.removeHeaders.isEmpty && route.removeHeaders.contains(name.lowercased()) { continue }
                buffer.writeString(name)
                buffer.writeStaticString(": ")
                buffer.writeString(value)
                buffer.writeStaticString("\r\n")
            default:
                continue
            }
        }
        for header in route.extraHeaders {
            buffer.writeString(header.name)
            buffer.writeStaticString(": ")
            buffer.writeString(header.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("X-Forwarded-For: ")
        if let existing = facts.forwardedFor {
            buffer.writeString(existing)
            buffer.writeStaticString(", ")
        }
        buffer.writeString(forwarding.clientIP)
        buffer.writeStaticString("\r\nX-Forwarded-Proto: ")
        buffer.writeStaticString(forwarding.proto)
        if let host = facts.host {
            buffer.writeStaticString("\r\nX-Forwarded-Host: ")
            buffer.writeString(host)
        }
        buffer.writeStaticString("\r\nX-Forwarded-Port: ")
        buffer.writeString(forwarding.port)
        buffer.writeStaticString("\r\nVia: ")
        if let existing = facts.via {
            buffer.writeString(existing)
            buffer.writeStaticString(", ")
        }
        buffer.writeStaticString(head.version.minor == 0 ? "1.0 switchyard" : "1.1 switchyard")
        buffer.writeStaticString("\r\nX-Request-Id: ")
        if let id = facts.clientRequestId {
            buffer.writeString(id)
        } else {
            forwarding.requestId.write(into: &buffer)
        }
        buffer.writeStaticString("\r\n")
        if facts.chunked {
            buffer.writeStaticString("Transfer-Encoding: chunked\r\n")
        } else if let length = facts.contentLength {
            buffer.writeStaticString("Content-Length: ")
            buffer.writeString(String(length))
            buffer.writeStaticString("\r\n")
        } else if head.method == .POST || head.method == .PUT || head.method == .PATCH {
            buffer.writeStaticString("Content-Length: 0\r\n")
        }
        if tunnel, let upgrade = facts.upgrade {
            buffer.writeStaticString("Connection: upgrade\r\nUpgrade: ")
            buffer.writeString(upgrade)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// Rough size of the head, to allocate once.
    static func estimatedSize(_ head: HTTPRequestHead, _ route: ProxyRoute) -> Int {
        var size = 256 + route.upstreamTarget.utf8.count
        for (name, value) in head.headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }
}
