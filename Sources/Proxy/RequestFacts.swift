import NIOHTTP1

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
    var forwardedFor: String? = nil
    var via: String? = nil
    /// Header names listed in `Connection` (hop-by-hop by declaration), lower-cased; rare.
    var connectionNamed: [String] = []
    /// Set when the request must be refused with 400 and the connection closed.
    var invalid: String? = nil

    init(_ headers: HTTPHeaders) {
        var sawTransferEncoding = false
        for (name, value) in headers {
            switch RequestHeaderKind.of(name) {
            case .host:
                if host != nil { invalid = "more than one Host header" }
                host = value
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
                if RequestFacts.trimmed(value).equalsLowercase("chunked") {
                    chunked = true
                } else {
                    invalid = "unsupported Transfer-Encoding"
                }
            case .connection:
                scanConnection(value)
            case .upgrade:
                upgrade = value
            case .requestId:
                if RequestFacts.isWellFormedRequestId(value) { clientRequestId = value }
            case .forwardedFor:
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
            case .via:
                via = via.map { $0 + ", " + value } ?? value
            default:
                break
            }
        }
        if sawTransferEncoding && contentLength != nil {
            invalid = "both Content-Length and Transfer-Encoding"
        }
    }

    var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    private mutating func scanConnection(_ value: String) {
        for token in value.split(separator: ",") {
            let name = RequestFacts.trimmed(token)
            if name.isEmpty { continue }
            if name.equalsLowercase("close") {
                connectionClose = true
            } else if name.equalsLowercase("keep-alive") {
                connectionKeepAlive = true
            } else if name.equalsLowercase("upgrade") {
                connectionUpgrade = true
            } else {
                connectionNamed.append(name.lowercased())
            }
        }
    }

    static func parseLength(_ value: String) -> Int64? {
        var result: Int64 = 0
        var digits = 0
        for byte in value.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            digits += 1
            guard digits <= 18 else { return nil }
            result = result * 10 + Int64(byte &- UInt8(ascii: "0"))
        }
        return digits > 0 ? result : nil
    }

    /// 1 to 200 characters of letters, digits and `-_.:+/=`: safe to log and to relay.
    static func isWellFormedRequestId(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= 200 else { return false }
        for byte in utf8 {
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

    static func trimmed<S: StringProtocol>(_ value: S) -> String {
        var s = Substring(value)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
