import Atomics

/// One immutable snapshot of what the data path needs: the router and the client limits.
///
/// Published by swapping one reference (`ProxyServer.update`), read once per request, so a reload
/// never drops a connection and never makes a request wait on a writer.
public final class ProxyConfiguration: Sendable, AtomicReference {
    public let router: any ProxyRouter
    /// Client limits; the parser's share of them (head size, field count) is fixed when a connection is
    /// accepted, so a change reaches new connections.
    public let limits: ProxyLimits
    /// Increases with every publication; shows in logs which snapshot served a request.
    public let generation: Int

    public init(router: any ProxyRouter, limits: ProxyLimits = ProxyLimits(), generation: Int = 0) {
        self.router = router
        self.limits = limits
        self.generation = generation
    }
}
