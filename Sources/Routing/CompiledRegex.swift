import Foundation

/// A regular expression compiled once when the router is built.
///
/// `@unchecked Sendable`: the wrapped `NSRegularExpression` is immutable after `init` and Foundation documents
/// it as safe to use for matching from several threads at once; nothing here mutates it.
final class CompiledRegex: @unchecked Sendable {
    private let regex: NSRegularExpression

    init?(_ pattern: String, caseInsensitive: Bool = false, anchored: Bool = true) {
        // Anchor at the start the way Kong does for regex paths; a leading ^ is harmless.
        let source = anchored && !pattern.hasPrefix("^") ? "^(?:\(pattern))" : pattern
        guard let regex = try? NSRegularExpression(pattern: source,
                                                   options: caseInsensitive ? [.caseInsensitive] : []) else {
            return nil
        }
        self.regex = regex
    }

    /// UTF-8 length of the match at the start of `text`, or nil when it does not match there.
    func prefixMatchLength(in text: String) -> Int? {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        guard let match = regex.firstMatch(in: text, options: [.anchored], range: range),
              let matched = Range(match.range, in: text) else { return nil }
        return text.utf8.distance(from: text.startIndex, to: matched.upperBound)
    }

    func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.firstMatch(in: text, options: [], range: range) != nil
    }
}
