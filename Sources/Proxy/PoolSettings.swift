import NIOCore

/// Keep-alive pool settings for upstream connections (one pool per address per event loop).
public struct PoolSettings: Sendable, Hashable {
    /// Idle connections kept per address per event loop; one more released is closed (0: no keep-alive).
    public var maxIdlePerAddress: Int
    /// An idle connection unused this long is closed.
    public var idleTimeout: TimeAmount
    /// A connection is closed instead of pooled after this many requests (0: no limit), so long-lived
    /// connections do not pin load to the upstream instances they first reached.
    public var maxRequestsPerConnection: Int
    /// Connections (idle, busy or connecting) per address per event loop (0: no limit). A request that finds
    /// its address at the limit goes to another address; when every address is at it, the request queues for
    /// the service's connect timeout, then gets a 503.
    public var maxConnectionsPerAddress: Int

    public init(maxIdlePerAddress: Int = 64, idleTimeout: TimeAmount = .seconds(60),
                maxRequestsPerConnection: Int = 1000, maxConnectionsPerAddress: Int = 0) {
        self.maxIdlePerAddress = maxIdlePerAddress
        self.idleTimeout = idleTimeout
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}
