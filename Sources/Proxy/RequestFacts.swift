
/// What one pass over a client's request headers found: framing, connection handling, the
/// headers the proxy rewrites, and any reason to refuse the request as ambiguous (smuggling).
struct RequestFacts {
    var contentLength: Int64? = nil
    var chunked = false
    var host: String? = nil
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    var upgrade: String? = nil
    var clientRequestId: String? = nil
    /// The client's trace context, when it sent exactly one valid `traceparent`.
    var traceParent: TraceParent? = nil
    var forwardedFor: String? = nil
    var via: String? = nil
    /// Header names listed in `Connection` (hop-by-hop by declaration), lower-cased; rare.
    var connectionNamed: [String] = []
    /// Set when the request must be refused with 400 and the connection closed.
    var invalid: String? = nil

    /// Empty: `read` fills it where it is stored (the request head), so no string is copied.
    init() {}

    mutating func read(_ bytes: UnsafeRawBufferPointer, _ fields: [RequestHeaders.Field]) {
        var sawTransferEncoding = false
        var traceParents = 0
        for field in fields {
            let value = UnsafeRawBufferPointer(rebasing: bytes[field.value])
            switch RequestHeaderKind.of(UnsafeRawBufferPointer(rebasing: bytes[field.name])) {
            case .host:
                if host != nil { invalid = "more than one Host header" }
                host = String(decoding: value, as: UTF8.self)
            case .contentLength:
                guard let parsed = RequestFacts.parseLength(value) else {
                    invalid = "invalid Content-Length"
                    continue
                }
                if contentLength != nil { invalid = "more than one Content-Length header" }
                contentLength = parsed
            case .transferEncoding:
                if sawTransferEncoding { invalid = "more than one Transfer-Encoding header" }
                sawTransferEncoding = true
                if value.count == 7 && HeadScan.equalsLowercase(value, 0, "chunked") {
                    chunked = true
                } else {
                    invalid = "unsupported Transfer-Encoding"
                }
            case .connection:
                scanConnection(value)
            case .upgrade:
                upgrade = String(decoding: value, as: UTF8.self)
            case .requestId:
                if RequestFacts.isWellFormedRequestId(value) {
                    clientRequestId = String(decoding: value, as: UTF8.self)
                }
            case .traceParent:
                // More than one makes the context ambiguous: the spec says to start a new one.
                traceParents += 1
                traceParent = traceParents == 1 ? TraceParent(value) : nil
            case .forwardedFor:
                let text = String(decoding: value, as: UTF8.self)
                forwardedFor = forwardedFor.map { $0 + ", " + text } ?? text
            case .via:
                let text = String(decoding: value, as: UTF8.self)
                via = via.map { $0 + ", " + text } ?? text
            default:
                break
            }
        }
        if sawTransferEncoding && contentLength != nil {
            invalid = "both Content-Length and Transfer-Encoding"
        }
    }

    var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    private mutating func scanConnection(_ value: UnsafeRawBufferPointer) {
        var i = 0
        let end = value.count
        while i < end {
            while i < end && (value[i] == UInt8(ascii: " ") || value[i] == UInt8(ascii: "\t") || value[i] == UInt8(ascii: ",")) {
                i += 1
            }
            let tokenStart = i
            while i < end && value[i] != UInt8(ascii: ",") { i += 1 }
            var tokenEnd = i
            while tokenEnd > tokenStart && (value[tokenEnd - 1] == UInt8(ascii: " ") || value[tokenEnd - 1] == UInt8(ascii: "\t")) {
                tokenEnd -= 1
            }
            let token = UnsafeRawBufferPointer(rebasing: value[tokenStart..<tokenEnd])
            switch token.count {
            case 0:
                continue
            case 5 where HeadScan.equalsLowercase(token, 0, "close"):
                connectionClose = true
            case 10 where HeadScan.equalsLowercase(token, 0, "keep-alive"):
                connectionKeepAlive = true
            case 7 where HeadScan.equalsLowercase(token, 0, "upgrade"):
                connectionUpgrade = true
            default:
                connectionNamed.append(String(decoding: token, as: UTF8.self).lowercased())
            }
        }
    }

    static func parseLength(_ value: UnsafeRawBufferPointer) -> Int64? {
        var result: Int64 = 0
        var digits = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            guard digits <= 18 else { return nil }
            result = result * 10 + Int64(byte &- UInt8(ascii: "0"))
        }
        return digits > 0 ? result : nil
    }

    /// 1 to 200 characters of letters, digits and `-_.:+/=`: safe to log and to relay.
    static func isWellFormedRequestId(_ value: UnsafeRawBufferPointer) -> Bool {
        guard !value.isEmpty, value.count <= 200 else { return false }
        for byte in value {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
                continue
            default:
                return false
            }
        }
        return true
    }
}
