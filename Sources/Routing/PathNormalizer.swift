/// Puts a request path in the canonical form routes are matched against, so `/api/%2e%2e/admin` or
/// `/public/../admin` cannot slip past a prefix: percent-encoded unreserved characters are decoded, other escapes
/// upper-cased, and `.`/`..` segments removed (RFC 3986 §6.2.2, §5.2.4). Paths needing none of that are returned
/// without copying their bytes twice.
public enum PathNormalizer {
    public static func normalize(_ path: Substring) -> String {
        if !needsWork(path) {
            return path.isEmpty ? "/" : String(path)
        }
        let decoded = decodeUnreserved(Array(path.utf8))
        let resolved = removeDotSegments(decoded)
        let text = String(decoding: resolved, as: UTF8.self)
        return text.isEmpty ? "/" : text
    }

    /// Whether the path has a '%' or a dot segment's start ("/."); nearly none has either.
    private static func needsWork(_ path: Substring) -> Bool {
        var path = path  // `withUTF8` on a substring is specialized; `utf8.withContiguousStorageIfAvailable` is not
        return path.withUTF8 { bytes in
            var previous: UInt8 = 0
            for byte in bytes {
                if byte == UInt8(ascii: "%") || (byte == UInt8(ascii: ".") && previous == UInt8(ascii: "/")) {
                    return true
                }
                previous = byte
            }
            return false
        }
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
            || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
    }

    private static func decodeUnreserved(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                let value = hi << 4 | lo
                if isUnreserved(value) {
                    out.append(value)
                } else {
                    out.append(UInt8(ascii: "%"))
                    out.append(uppercased(bytes[i + 1]))
                    out.append(uppercased(bytes[i + 2]))
                }
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func uppercased(_ c: UInt8) -> UInt8 { c >= 97 && c <= 122 ? c - 32 : c }

    /// RFC 3986 §5.2.4 over segments; a trailing `.`/`..` keeps the directory's slash.
    private static func removeDotSegments(_ bytes: [UInt8]) -> [UInt8] {
        let absolute = bytes.first == UInt8(ascii: "/")
        var segments: [ArraySlice<UInt8>] = []
        let parts = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var trailingSlash = false
        for (index, part) in parts.enumerated() {
            if index == 0 && absolute { continue }
            let isLast = index == parts.count - 1
            if part.elementsEqual([UInt8(ascii: ".")]) {
                if isLast { trailingSlash = true }
            } else if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                if isLast { trailingSlash = true }
            } else {
                segments.append(part)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: segment)
        }
        if trailingSlash || out.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }
}
