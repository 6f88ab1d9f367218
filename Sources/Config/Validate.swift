import Foundation

/// Field checks shared by entities and node settings.
enum Validate {
    static func entityName(_ name: String, at path: String) -> [ConfigIssue] {
        if name.isEmpty { return [.error(.invalid, path, "must not be empty")] }
        let ok = name.unicodeScalars.allSatisfy {
            CharacterSet.alphanumerics.contains($0) || "._-~".unicodeScalars.contains($0)
        }
        return ok ? [] : [.error(.invalid, path,
                                 "invalid name \"\(name)\": use letters, digits, '.', '-', '_' and '~'")]
    }

    static func port(_ port: Int, at path: String) -> [ConfigIssue] {
        (1...65535).contains(port) ? [] : [.error(.invalid, path, "port must be between 1 and 65535, got \(port)")]
    }

    static func host(_ host: String, at path: String) -> [ConfigIssue] {
        if host.isEmpty { return [.error(.required, path, "must not be empty")] }
        if isIPAddress(host) || isHostname(host) { return [] }
        return [.error(.invalid, path, "invalid hostname or IP address \"\(host)\"")]
    }

    static func servicePath(_ path: String, at field: String) -> [ConfigIssue] {
        guard path.hasPrefix("/") else { return [.error(.invalid, field, "must start with \"/\", got \"\(path)\"")] }
        if let bad = path.unicodeScalars.first(where: { !isPathScalar($0) }) {
            return [.error(.invalid, field, "invalid character \(quoted(bad)) in path \"\(path)\"")]
        }
        if path.contains("//") { return [.error(.invalid, field, "must not contain \"//\"")] }
        return []
    }

    /// `/prefix` or `~regex`.
    static func routePath(_ path: String, at field: String) -> [ConfigIssue] {
        if path.hasPrefix("~") {
            let pattern = String(path.dropFirst())
            if pattern.isEmpty { return [.error(.invalid, field, "empty regex")] }
            if let problem = regexProblem(pattern) {
                return [.error(.invalid, field, "invalid regex \"\(path)\": \(problem)")]
            }
            return []
        }
        guard path.hasPrefix("/") else {
            return [.error(.invalid, field, "must start with \"/\" (prefix) or \"~\" (regex), got \"\(path)\"")]
        }
        if let bad = path.unicodeScalars.first(where: { !isPathScalar($0) }) {
            return [.error(.invalid, field, "invalid character \(quoted(bad)) in path \"\(path)\"")]
        }
        return []
    }

    /// Returns nil when the pattern compiles.
    static func regexProblem(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
            return nil
        } catch {
            return "does not compile as a regular expression"
        }
    }

    /// `api.example.com`, `*.example.com`, `example.*`, each optionally `:port`.
    static func routeHost(_ host: String, at path: String) -> [ConfigIssue] {
        var name = host
        if let colon = host.lastIndex(of: ":"), !host.hasPrefix("[") {
            let portText = host[host.index(after: colon)...]
            guard let port = Int(portText), (1...65535).contains(port) else {
                return [.error(.invalid, path, "invalid port in host \"\(host)\"")]
            }
            name = String(host[..<colon])
        }
        let stars = name.filter { $0 == "*" }.count
        if stars > 1 { return [.error(.invalid, path, "only one wildcard is allowed in \"\(host)\"")] }
        if stars == 1 {
            let ok = (name.hasPrefix("*.") && name.count > 2) || (name.hasSuffix(".*") && name.count > 2)
            if !ok {
                return [.error(.invalid, path,
                               "a wildcard must be the leftmost or rightmost label, e.g. *.example.com or example.*")]
            }
            let rest = name.hasPrefix("*.") ? String(name.dropFirst(2)) : String(name.dropLast(2))
            return isHostname(rest) ? [] : [.error(.invalid, path, "invalid hostname \"\(host)\"")]
        }
        if isIPAddress(name) || isHostname(name) { return [] }
        if name.hasPrefix("["), name.hasSuffix("]"), isIPv6(String(name.dropFirst().dropLast())) { return [] }
        return [.error(.invalid, path, "invalid hostname \"\(host)\"")]
    }

    static func tags(_ tags: [String], at path: String) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        for (i, tag) in tags.enumerated() {
            if tag.isEmpty || tag.contains(",") || tag.contains("/") || tag.unicodeScalars.contains(where: {
                CharacterSet.whitespacesAndNewlines.contains($0) || CharacterSet.controlCharacters.contains($0)
            }) {
                issues.append(.error(.invalid, joinPath(path, i),
                                     "invalid tag \"\(tag)\": no spaces, commas or slashes"))
            }
        }
        return issues
    }

    static func isHostname(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
            guard label.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
                return false
            }
        }
        return true
    }

    static func isIPAddress(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let v = Int(part), v <= 255 else { return false }
            return part.count == 1 || part.first != "0"
        }
    }

    static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.utf8.count <= 45 else { return false }
        var body = Substring(text)
        var groupsAllowed = 8
        // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(body[body.index(after: lastColon)...])) else { return false }
            body = body[...lastColon]
            if body.hasSuffix("::") == false { body = body.dropLast() }
            groupsAllowed = 6
        }
        let halves = body.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ s: String) -> [Substring]? {
            if s.isEmpty { return [] }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for p in parts {
                guard (1...4).contains(p.count), p.utf8.allSatisfy(isHex) else { return nil }
            }
            return parts
        }
        guard let left = groups(halves[0]) else { return false }
        if halves.count == 2 {
            guard let right = groups(halves[1]) else { return false }
            return left.count + right.count < groupsAllowed
        }
        return left.count == groupsAllowed
    }

    /// RFC 9110 token characters (header names).
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlnum($0) || "!#$%&'*+-.^_`|~".utf8.contains($0) }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
    }

    private static func isPathScalar(_ s: Unicode.Scalar) -> Bool {
        guard s.isASCII, s.value > 0x20, s.value < 0x7f else { return false }
        return !"?#\"<>\\^`{|}".unicodeScalars.contains(s)
    }

    private static func quoted(_ s: Unicode.Scalar) -> String {
        s.value < 0x21 || s.value >= 0x7f ? String(format: "U+%04X", s.value) : "'\(s)'"
    }
}

/// Splitting of `host:port` strings shared by targets and listen addresses.
extension Validate {
    /// `ADDRESS/PREFIX` (or a bare address) with the prefix in range for the family and no bits set past it.
    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = String(parts[0])
        guard isIPAddress(address) else { return false }
        guard parts.count == 2 else { return true }
        let bits = address.contains(":") ? 128 : 32
        guard let length = Int(parts[1]), parts[1].allSatisfy(\.isNumber), (0...bits).contains(length) else { return false }
        return true
    }
}

enum HostPort {
    struct SyntaxError: Error { var message: String }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address without brackets is rejected because its last
    /// group would be ambiguous with a port.
    /// `lowestPort` is 0 for listen addresses (0: any free port), 1 for everything else.
    static func split(_ text: String, lowestPort: Int = 1) -> Result<(String, Int?), SyntaxError> {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(SyntaxError(message: "missing ']' in \"\(text)\""))
            }
            let host = String(text[text.index(after: text.startIndex)..<close])
            guard Validate.isIPv6(host) else {
                return .failure(SyntaxError(message: "invalid IPv6 address \"\(host)\" in \"\(text)\""))
            }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return .success((host, nil)) }
            guard rest.hasPrefix(":") else {
                return .failure(SyntaxError(message: "expected ':PORT' after ']' in \"\(text)\""))
            }
            return parsePort(rest.dropFirst(), in: text, lowest: lowestPort).map { (host, $0) }
        }
        let colons = text.filter { $0 == ":" }.count
        if colons > 1 {
            return .failure(SyntaxError(message: "write IPv6 addresses in brackets, e.g. [\(text)]:8000"))
        }
        if colons == 1, let colon = text.firstIndex(of: ":") {
            let host = String(text[..<colon])
            return parsePort(text[text.index(after: colon)...], in: text, lowest: lowestPort).map { (host, $0) }
        }
        return .success((text, nil))
    }

    private static func parsePort(_ digits: Substring, in text: String, lowest: Int) -> Result<Int, SyntaxError> {
        guard !digits.isEmpty, digits.count <= 5, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let port = Int(digits), (lowest...65535).contains(port) else {
            return .failure(SyntaxError(message: "invalid port \"\(digits)\" in \"\(text)\": use \(lowest)-65535"))
        }
        return .success(port)
    }
}
