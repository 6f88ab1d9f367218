import NIOCore

/// Keep-alive pool settings for upstream connections (one pool per address per event loop).
public struct PoolSettings: Sendable, Hashable {
    /// Idle connections kept per address per event loop; one more released is closed.
    public var maxIdlePerAddress: Int
    /// An idle connection unused this long is closed.
    public var idleTimeout: TimeAmount

    public init(maxIdlePerAddress: Int = 64, idleTimeout: TimeAmount = .seconds(60)) {
        self.maxIdlePerAddress = maxIdlePerAddress
        self.idleTimeout = idleTimeout
    }
}
