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
        var body = "{\"message\":\""
        appendEscaped(message, to: &body)
        body += "\",\"request_id\":\""
        appendEscaped(requestId, to: &body)
        body += "\"}\n"
        var buffer = allocator.buffer(capacity: 256 + body.utf8.count)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status))
        buffer.writeStaticString(" ")
        buffer.writeStaticString(reason(status))
        buffer.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
        buffer.writeString(String(body.utf8.count))
        buffer.writeStaticString("\r\nX-Request-Id: ")
        buffer.writeString(requestId)
        for header in extraHeaders {
            buffer.writeStaticString("\r\n")
            buffer.writeString(header.name)
            buffer.writeStaticString(": ")
            buffer.writeString(header.value)
        }
        buffer.writeStaticString(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        buffer.writeString(body)
        return buffer
    }

    private static func appendEscaped(_ text: String, to out: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}
