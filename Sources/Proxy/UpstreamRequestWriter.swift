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
        var trace: TraceParent
        /// The same for every request of a connection, built once by `ConnectionForwarding`.
        var fixed: ConnectionForwarding
    }

    /// The forwarding header bytes that depend only on the client connection, rendered once per
    /// connection so a request copies them in one piece instead of several small writes.
    struct ConnectionForwarding {
        /// `X-Forwarded-For: <client>\r\nX-Forwarded-Proto: <proto>` for a request without its own
        /// `X-Forwarded-For`.
        let forwardedForAndProto: ByteBuffer
        /// `\r\nX-Forwarded-Port: <port>\r\nVia: `.
        let portAndVia: ByteBuffer

        init(clientIP: String, proto: StaticString, port: String, allocator: ByteBufferAllocator) {
            var first = allocator.buffer(capacity: 64 + clientIP.utf8.count)
            first.writeStaticString("X-Forwarded-For: ")
            first.writeString(clientIP)
            first.writeStaticString("\r\nX-Forwarded-Proto: ")
            first.writeStaticString(proto)
            forwardedForAndProto = first
            var second = allocator.buffer(capacity: 48)
            second.writeStaticString("\r\nX-Forwarded-Port: ")
            second.writeString(port)
            second.writeStaticString("\r\nVia: ")
            portAndVia = second
        }
    }

    static func write(
        head: RequestHead,
        route: ProxyRoute,
        forwarding: Forwarding,
        tunnel: Bool,
        into buffer: inout ByteBuffer
    ) {
        let facts = head.facts
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
        let filtered = !named.isEmpty || !route.removeHeaders.isEmpty
        head.headers.bytes.withUnsafeReadableBytes { bytes in
            for field in head.headers.fields {
                let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
                guard case .other = RequestHeaderKind.of(name) else { continue }
                if filtered {
                    let lowered = String(decoding: name, as: UTF8.self).lowercased()
                    if named.contains(lowered) || route.removeHeaders.contains(lowered) { continue }
                }
                // The line as received: a valid field line, ended by CRLF.
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.line]))
            }
        }
        for header in route.extraHeaders {
            buffer.writeString(header.name)
            buffer.writeStaticString(": ")
            buffer.writeString(header.value)
            buffer.writeStaticString("\r\n")
        }
        if let existing = facts.forwardedFor {
            buffer.writeStaticString("X-Forwarded-For: ")
            buffer.writeString(existing)
            buffer.writeStaticString(", ")
            buffer.writeString(forwarding.clientIP)
            buffer.writeStaticString("\r\nX-Forwarded-Proto: ")
            buffer.writeStaticString(forwarding.proto)
        } else {
            buffer.writeImmutableBuffer(forwarding.fixed.forwardedForAndProto)
        }
        if let host = facts.host {
            buffer.writeStaticString("\r\nX-Forwarded-Host: ")
            buffer.writeString(host)
        }
        buffer.writeImmutableBuffer(forwarding.fixed.portAndVia)
        if let existing = facts.via {
            buffer.writeString(existing)
            buffer.writeStaticString(", ")
        }
        buffer.writeStaticString(head.minorVersion == 0 ? "1.0 switchyard\r\nX-Request-Id: " : "1.1 switchyard\r\nX-Request-Id: ")
        if let id = facts.clientRequestId {
            buffer.writeString(id)
        } else {
            forwarding.requestId.write(into: &buffer)
        }
        buffer.writeStaticString("\r\n")
        forwarding.trace.writeHeader(into: &buffer)
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
    static func estimatedSize(_ head: RequestHead, _ route: ProxyRoute) -> Int {
        256 + route.upstreamTarget.utf8.count + head.headers.bytes.readableBytes
    }
}
