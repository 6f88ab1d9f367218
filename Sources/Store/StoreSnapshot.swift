import Config

/// The stored configuration as last committed, with its generation (bumped by every write), so the proxy and
/// the Admin API work from memory and never read the database on the request path.
public struct StoreSnapshot: Sendable, Hashable {
    public var config: DeclarativeConfig
    public var generation: Int

    public init(config: DeclarativeConfig, generation: Int) {
        self.config = config
        self.generation = generation
    }
}
