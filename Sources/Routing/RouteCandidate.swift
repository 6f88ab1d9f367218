import Config
import Foundation

/// One route with one path group, ready to test against a request. A route with several paths becomes several
/// candidates (one per prefix, one for its regexes), each ranked by its own path, as Kong's router does.
final class RouteCandidate: Sendable {
    enum PathRule: Sendable {
        case any
        /// UTF-8 bytes of the prefix.
        case prefix([UInt8])
        case regex([CompiledRegex])
    }

    struct HeaderRule: Sendable {
        let name: String
        /// Lower-cased plain values, compared without case.
        let plain: [[UInt8]]
        let regexes: [CompiledRegex]
    }

    let target: RouteTarget
    let declarationIndex: Int
    /// Few (Kong routes name one to three): a linear scan compares short strings, where a `Set` would hash.
    let methods: [String]
    let wildcardHosts: [HostPattern]
    let path: PathRule
    let headers: [HeaderRule]
    /// The schemes the route accepts, as flags: asked on every match, where a `Set` would hash.
    let acceptsHTTP: Bool
    let acceptsHTTPS: Bool
    let rank: Rank

    init(target: RouteTarget, declarationIndex: Int, methods: Set<String>, wildcardHosts: [HostPattern],
         path: PathRule, headers: [HeaderRule], protocols: Set<Route.ClientProtocol>, rank: Rank) {
        self.target = target
        self.declarationIndex = declarationIndex
        self.methods = Array(methods)
        self.wildcardHosts = wildcardHosts
        self.path = path
        self.headers = headers
        self.acceptsHTTP = protocols.contains(.http)
        self.acceptsHTTPS = protocols.contains(.https)
        self.rank = rank
    }

    /// Kong's precedence, compared field by field, larger first; ties go to the route declared first.
    struct Rank: Comparable, Sendable {
        /// How many of methods, hosts, headers, paths the route sets.
        var matchFields: Int
        /// Every host is exact (no wildcard).
        var plainHostsOnly: Bool
        var headerCount: Int
        /// Regex path groups rank above prefix groups.
        var isRegex: Bool
        /// Only counts for regex paths.
        var regexPriority: Int
        /// Prefix length in bytes; longer wins.
        var prefixLength: Int

        static func < (a: Rank, b: Rank) -> Bool {
            (a.matchFields, a.plainHostsOnly ? 1 : 0, a.headerCount, a.isRegex ? 1 : 0, a.regexPriority,
             a.prefixLength)
                < (b.matchFields, b.plainHostsOnly ? 1 : 0, b.headerCount, b.isRegex ? 1 : 0, b.regexPriority,
                   b.prefixLength)
        }
    }

    /// Checks every rule but the host (the caller found this candidate through the host). Returns the UTF-8
    /// length of the matched path part, and whether the scheme is one the route accepts.
    func match<H: RouteHeaders>(method: String, path: String, scheme: Route.ClientProtocol,
                                headers: H) -> PathMatch? {
        if !methods.isEmpty && !methods.contains(method) { return nil }
        for rule in self.headers {
            let values = headers.values(forLowercasedName: rule.name)
            guard values.contains(where: { rule.accepts($0) }) else { return nil }
        }
        let matchedLength: Int
        var captures: [URICapture] = []
        switch self.path {
        case .any:
            matchedLength = 0
        case let .prefix(bytes):
            guard hasBytePrefix(path, bytes) else { return nil }
            matchedLength = bytes.count
        case let .regex(regexes):
            var found: Int?
            for regex in regexes {
                if let match = regex.prefixMatch(in: path) {
                    found = match.length
                    captures = match.captures
                    break
                }
            }
            guard let found else { return nil }
            matchedLength = found
        }
        return PathMatch(matchedLength: matchedLength, protocolMatches: accepts(scheme), captures: captures)
    }

    func accepts(_ scheme: Route.ClientProtocol) -> Bool {
        switch scheme {
        case .http: acceptsHTTP
        case .https: acceptsHTTPS
        }
    }

    struct PathMatch {
        var matchedLength: Int
        var protocolMatches: Bool
        var captures: [URICapture]
    }
}

extension RouteCandidate.HeaderRule {
    func accepts(_ value: String) -> Bool {
        let trimmed = value.utf8
        for plain in self.plain where asciiCaseInsensitiveEqual(trimmed, plain) { return true }
        for regex in regexes where regex.matches(value) { return true }
        return false
    }
}

@inline(__always)
func asciiCaseInsensitiveEqual(_ a: String.UTF8View, _ lowered: [UInt8]) -> Bool {
    guard a.count == lowered.count else { return false }
    var i = 0
    for byte in a {
        let folded = byte >= 65 && byte <= 90 ? byte + 32 : byte
        if folded != lowered[i] { return false }
        i += 1
    }
    return true
}

/// A wildcard host: `*.example.com` (suffix `.example.com`) or `example.*` (prefix `example.`), optionally with a
/// port the request's Host must carry.
struct HostPattern: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case suffix, prefix }
    let kind: Kind
    let fixed: String
    let port: Int?

    init?(_ pattern: String) {
        var name = pattern.lowercased()
        var port: Int?
        if let colon = name.lastIndex(of: ":"), let p = Int(name[name.index(after: colon)...]) {
            port = p
            name = String(name[..<colon])
        }
        if name.hasPrefix("*.") {
            kind = .suffix
            fixed = String(name.dropFirst())
        } else if name.hasSuffix(".*") {
            kind = .prefix
            fixed = String(name.dropLast())
        } else {
            return nil
        }
        self.port = port
    }

    func matches(host: String, port requestPort: Int?) -> Bool {
        if let port, port != requestPort { return false }
        switch kind {
        case .suffix: return host.utf8.count > fixed.utf8.count && host.hasSuffix(fixed)
        case .prefix: return host.utf8.count > fixed.utf8.count && host.hasPrefix(fixed)
        }
    }
}

/// Byte-wise prefix test on contiguous UTF-8 (native Swift strings are), with a generic fallback.
@inline(__always)
func hasBytePrefix(_ text: String, _ prefix: [UInt8]) -> Bool {
    let fast = text.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
        guard buffer.count >= prefix.count else { return false }
        return prefix.withUnsafeBufferPointer { p in
            guard let a = buffer.baseAddress, let b = p.baseAddress else { return p.isEmpty }
            return memcmp(a, b, p.count) == 0
        }
    }
    return fast ?? text.utf8.starts(with: prefix)
}
