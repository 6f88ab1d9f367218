/// One problem found in configuration, located by a field path such as `services[1].routes[0].paths[2]`.
///
/// Issues are collected rather than thrown one at a time so an operator fixes a whole file in one pass, and so the
/// Admin API can answer a 400 that names every invalid field.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        /// The configuration is rejected.
        case error
        /// Accepted; the field is ignored or has no effect in Switchyard.
        case warning
    }

    /// What kind of problem, so an API layer can choose a status code (conflict → 409, notFound → 404).
    public enum Kind: String, Sendable, Hashable {
        case invalid
        case required
        case unknownField = "unknown_field"
        case unsupported
        case conflict
        case notFound = "not_found"
        case ignored
        /// Accepted after conversion from an older format (a warning).
        case converted
    }

    public var severity: Severity
    public var kind: Kind
    /// Field path, e.g. `upstreams[0].targets[2].weight`; empty for the whole document.
    public var path: String
    public var message: String

    public init(_ severity: Severity, _ kind: Kind, path: String, _ message: String) {
        self.severity = severity
        self.kind = kind
        self.path = path
        self.message = message
    }

    public static func error(_ kind: Kind, _ path: String, _ message: String) -> ConfigIssue {
        ConfigIssue(.error, kind, path: path, message)
    }

    public static func warning(_ kind: Kind, _ path: String, _ message: String) -> ConfigIssue {
        ConfigIssue(.warning, kind, path: path, message)
    }

    /// `services[1].port: must be between 1 and 65535, got 0`.
    public var description: String {
        path.isEmpty ? message : "\(path): \(message)"
    }
}

/// The Config module's error: every issue that made a configuration unusable, plus any warnings found with them.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The text is not valid YAML or JSON.
        case syntax
        /// The document parsed but some entities or fields are invalid.
        case invalid
        /// The file could not be read.
        case unreadable
    }

    public var code: Code
    public var issues: [ConfigIssue]
    /// The underlying error (a YAML parser or file system error), for logs.
    public var underlying: (any Error & Sendable)?

    public init(code: Code, issues: [ConfigIssue], underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.issues = issues
        self.underlying = underlying
    }

    public var errors: [ConfigIssue] { issues.filter { $0.severity == .error } }
    public var warnings: [ConfigIssue] { issues.filter { $0.severity == .warning } }

    /// One line per error, ready for a terminal or a log.
    public var description: String {
        let errors = self.errors
        let head = errors.count == 1 ? "invalid configuration: 1 error" : "invalid configuration: \(errors.count) errors"
        if code == .syntax || code == .unreadable, let only = errors.first, errors.count == 1 {
            return only.description
        }
        return ([head] + errors.map { "  " + $0.description }).joined(separator: "\n")
    }
}
