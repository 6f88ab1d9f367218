import NIOCore

/// The proxy's own answers (errors and refusals): a short JSON body naming what failed and the request id.
enum ErrorResponse {
    static func reason(_ status: Int) -> StaticString {
        switch status {
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 307: return "Temporary Redirect"
        case 308: return "Permanent Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 426: return "Upgrade Required"
        case 504: return "Gateway Timeout"
        default: return "Error"
        }
    }

    static func make(
        status: Int, message: String, requestId: String, close: Bool,
        extraHeaders: [(name: String, value: String)] = [], allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        // The access log's JSON writer, so both escape alike.
        var body: [UInt8] = []
        body.reserveCapacity(64 + message.utf8.count + requestId.utf8.count)
        body.append(contentsOf: #"{"message":"#.utf8)
        JSONLine.string(message, into: &body)
        body.append(contentsOf: #","request_id":"#.utf8)
        JSONLine.string(requestId, into: &body)
        body.append(contentsOf: "}\n".utf8)
        var buffer = allocator.buffer(capacity: 256 + body.count)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status))
        buffer.writeStaticString(" ")
        buffer.writeStaticString(reason(status))
        buffer.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
        buffer.writeString(String(body.count))
        buffer.writeStaticString("\r\nX-Request-Id: ")
        buffer.writeString(requestId)
        for header in extraHeaders {
            buffer.writeStaticString("\r\n")
            buffer.writeString(header.name)
            buffer.writeStaticString(": ")
            buffer.writeString(header.value)
        }
        buffer.writeStaticString(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}
