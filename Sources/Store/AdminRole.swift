/// What an Admin API token may do.
public enum AdminRole: String, Sendable, Hashable, CaseIterable {
    /// GET only: look at configuration and balancer state.
    case readOnly = "read-only"
    /// Everything, including writes and health overrides.
    case admin
}

/// A stored Admin API token, without its secret (only a hash of it is kept).
public struct AdminTokenInfo: Sendable, Hashable {
    public var name: String
    public var role: AdminRole

    public init(name: String, role: AdminRole) {
        self.name = name
        self.role = role
    }
}

/// A stored token as a backup carries it: its hash, never its secret, so a restored token keeps working and a
/// backup file does not hand out Admin API access.
public struct StoredToken: Sendable, Hashable {
    public var name: String
    public var role: AdminRole
    /// SHA-256 of the token, 64 lowercase hex digits.
    public var sha256: String

    public init(name: String, role: AdminRole, sha256: String) {
        self.name = name
        self.role = role
        self.sha256 = sha256
    }

    /// Whether `text` is a SHA-256 as the store keeps it.
    public static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
