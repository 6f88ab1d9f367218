/// Kong's upstream path rules (its default "v0" path handling), so a Kong route rewrites paths the same way here.
///
/// | service path | strip_path | route | request | upstream |
/// |---|---|---|---|---|
/// | /v1 | true | /api | /api/x | /v1/x |
/// | /v1/ | true | /api | /api/x | /v1/x |
/// | /v1 | false | /api | /api/x | /v1/api/x |
/// | / | true | /api | /api | / |
public enum PathRewriter {
    /// - Parameters:
    ///   - servicePath: the service's `path` (nil → `/`).
    ///   - requestPath: the normalized request path.
    ///   - matchedLength: UTF-8 length of the part the route matched (its prefix, or the regex match), stripped
    ///     when `stripPath` is true.
    public static func upstreamPath(servicePath: String?, requestPath: String, stripPath: Bool,
                                    matchedLength: Int) -> String {
        let base = servicePath ?? "/"
        let slash = UInt8(ascii: "/")
        let baseEndsWithSlash = UTF8Scan.lastByte(base) == slash
        let requestEndsWithSlash = UTF8Scan.lastByte(requestPath) == slash
        if stripPath {
            let postfix = sanitize(requestPath.utf8.dropFirst(matchedLength))
            if baseEndsWithSlash {
                if postfix.isEmpty {
                    if base.utf8.count == 1 { return "/" }
                    return requestEndsWithSlash ? base : String(Substring(base.utf8.dropLast()))
                }
                if postfix.first == slash { return String(Substring(base.utf8.dropLast())) + Substring(postfix) }
                return base + Substring(postfix)
            }
            if postfix.isEmpty {
                return requestPath.utf8.count > 1 && requestEndsWithSlash ? base + "/" : base
            }
            if postfix.first == slash { return base + Substring(postfix) }
            return base + "/" + Substring(postfix)
        }
        if baseEndsWithSlash {
            if base.utf8.count == 1 { return requestPath }  // the common case: no copy
            return base + Substring(requestPath.utf8.dropFirst())
        }
        return requestPath.utf8.count == 1 ? base : base + requestPath
    }

    /// A leftover `.`/`..` segment at the start of the postfix must not climb above the service path.
    private static func sanitize(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        let dot = UInt8(ascii: "."), slash = UInt8(ascii: "/")
        var i = bytes.startIndex
        var dots = 0
        while i < bytes.endIndex, bytes[i] == dot, dots < 2 {
            dots += 1
            i = bytes.index(after: i)
        }
        guard dots > 0 else { return bytes }
        if i == bytes.endIndex { return bytes[i...] }
        if bytes[i] == slash { return bytes[bytes.index(after: i)...] }
        return bytes
    }
}
