/// How a store stands, for `/status` and the Admin API's answer to a write while the database is down.
public struct StoreHealth: Sendable, Hashable {
    /// Whether the last contact with the database succeeded.
    public var reachable: Bool
    /// Whether the configuration in force came from the node's cache file because the database could not be
    /// reached at start, and has not been caught up with the database since.
    public var fromCache: Bool
    /// The last error talking to the database, while it is unreachable.
    public var lastError: String?

    public init(reachable: Bool, fromCache: Bool, lastError: String? = nil) {
        self.reachable = reachable
        self.fromCache = fromCache
        self.lastError = lastError
    }
}
