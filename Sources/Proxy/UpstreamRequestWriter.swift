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
        buffer.writeHead(
            Rendering(head: head, route: route, forwarding: forwarding, tunnel: tunnel),
            estimate: estimatedSize(head, route)
        )
    }

    /// The head's pieces in order; rendered into memory reserved once.
    struct Rendering: HeadRendering {
        let head: RequestHead
        let route: ProxyRoute
        let forwarding: Forwarding
        let tunnel: Bool

        func render<Output: HeadOutput>(into out: inout Output) {
            UpstreamRequestWriter.appendMethod(head.method, to: &out)
            out.append(" ")
            out.append(route.upstreamTarget.isEmpty ? "/" : route.upstreamTarget)
            out.append(" HTTP/1.1\r\nHost: ")
            if let host = route.hostHeader {
                out.append(host)
            } else if let host = head.facts.host {
                out.append(host)
            }
            out.append("\r\n")
            let named = head.facts.connectionNamed
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
                    out.append(UnsafeRawBufferPointer(rebasing: bytes[field.line]))
                }
            }
            for header in route.extraHeaders {
                out.append(header.name)
                out.append(": ")
                out.append(header.value)
                out.append("\r\n")
            }
            if let existing = head.facts.forwardedFor {
                out.append("X-Forwarded-For: ")
                out.append(existing)
                out.append(", ")
                out.append(forwarding.clientIP)
                out.append("\r\nX-Forwarded-Proto: ")
                out.append(forwarding.proto)
            } else {
                out.append(forwarding.fixed.forwardedForAndProto)
            }
            if let host = head.facts.host {
                out.append("\r\nX-Forwarded-Host: ")
                out.append(host)
            }
            out.append(forwarding.fixed.portAndVia)
            if let existing = head.facts.via {
                out.append(existing)
                out.append(", ")
            }
            out.append(head.minorVersion == 0 ? "1.0 switchyard\r\nX-Request-Id: " : "1.1 switchyard\r\nX-Request-Id: ")
            if let id = head.facts.clientRequestId {
                out.append(id)
            } else {
                forwarding.requestId.write(into: &out)
            }
            out.append("\r\n")
            forwarding.trace.writeHeader(into: &out)
            if head.facts.chunked {
                out.append("Transfer-Encoding: chunked\r\n")
            } else if let length = head.facts.contentLength {
                out.append("Content-Length: ")
                out.appendDecimal(length)
                out.append("\r\n")
            } else {
                switch head.method {
                case .POST, .PUT, .PATCH: out.append("Content-Length: 0\r\n")
                default: break
                }
            }
            if tunnel, let upgrade = head.facts.upgrade {
                out.append("Connection: upgrade\r\nUpgrade: ")
                out.append(upgrade)
                out.append("\r\n")
            }
            out.append("\r\n")
        }
    }

    /// The method's name; the common ones without asking NIO to build a `String`.
    @inline(__always)
    static func appendMethod<Output: HeadOutput>(_ method: HTTPMethod, to out: inout Output) {
        let name: StaticString
        switch method {
        case .GET: name = "GET"
        case .POST: name = "POST"
        case .HEAD: name = "HEAD"
        case .PUT: name = "PUT"
        case .DELETE: name = "DELETE"
        case .PATCH: name = "PATCH"
        case .OPTIONS: name = "OPTIONS"
        default:
            out.append(method.rawValue)
            return
        }
        out.append(name)
    }

    /// Size of the head for most requests: the client's head, the upstream target and the added headers
    /// (forwarding, ids, trace context: about 300 bytes). A larger head is measured, not cut.
    static func estimatedSize(_ head: RequestHead, _ route: ProxyRoute) -> Int {
        384 + route.upstreamTarget.utf8.count + head.headers.bytes.readableBytes
    }
}
