import Foundation

/// A regular expression compiled once when the router is built.
///
/// `@unchecked Sendable`: the wrapped `NSRegularExpression` is immutable after `init` and Foundation documents
/// it as safe to use for matching from several threads at once; nothing here mutates it.
final class CompiledRegex: @unchecked Sendable {
    private let regex: NSRegularExpression
    /// Names of the pattern's named groups (`(?<id>…)`), for `uri_capture` hashing.
    let captureNames: [String]

    init?(_ pattern: String, caseInsensitive: Bool = false, anchored: Bool = true) {
        // Anchor at the start the way Kong does for regex paths; a leading ^ is harmless.
        let source = anchored && !pattern.hasPrefix("^") ? "^(?:\(pattern))" : pattern
        guard let regex = try? NSRegularExpression(pattern: source,
                                                   options: caseInsensitive ? [.caseInsensitive] : []) else {
            return nil
        }
        self.regex = regex
        self.captureNames = CompiledRegex.groupNames(in: pattern)
    }

    /// The names of `(?<name>…)` groups, in order; lookbehinds (`(?<=`, `(?<!`) are not groups.
    static func groupNames(in pattern: String) -> [String] {
        var names: [String] = []
        var rest = pattern[...]
        while let open = rest.range(of: "(?<") {
            rest = rest[open.upperBound...]
            guard let first = rest.first, first != "=", first != "!", let close = rest.firstIndex(of: ">") else {
                continue
            }
            let name = rest[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                names.append(String(name))
            }
            rest = rest[close...]
        }
        return names
    }

    /// The match at the start of `text`: its UTF-8 length, and the named groups that took part in it.
    func prefixMatch(in text: String) -> (length: Int, captures: [URICapture])? {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        guard let match = regex.firstMatch(in: text, options: [.anchored], range: range),
              let matched = Range(match.range, in: text) else { return nil }
        var captures: [URICapture] = []
        for name in captureNames {
            if let group = Range(match.range(withName: name), in: text) {
                captures.append(URICapture(name: name, value: text[group]))
            }
        }
        return (text.utf8.distance(from: text.startIndex, to: matched.upperBound), captures)
    }

    func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }
}
