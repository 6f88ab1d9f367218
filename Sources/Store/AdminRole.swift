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
