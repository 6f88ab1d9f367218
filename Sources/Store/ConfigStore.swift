import Config

/// Where a node's entities and Admin API tokens live: one SQLite file (`SQLiteStore`, one node) or a PostgreSQL
/// database shared by a cluster (`PostgresStore`). The Admin API, the node and the commands see only this.
///
/// Reads come from memory (`snapshot`), so the proxy and Admin API reads never wait for the database and keep
/// working while it is down. Writes compute the change from the latest committed configuration, all or nothing.
public protocol ConfigStore: AnyObject, Sendable {
    /// The database, for messages and `/status` (a PostgreSQL URL without its password).
    var location: String { get }

    /// The configuration as last committed or caught up with.
    var snapshot: StoreSnapshot { get }

    /// How the store stands now: reachable or not, started from a cache or not.
    var health: StoreHealth { get }

    /// Computes a new configuration from the latest committed one and stores it in one transaction. Errors
    /// thrown by `change` (a `ConfigError` for an invalid entity) pass through unchanged and nothing is written;
    /// a database that cannot be reached throws `StoreError` with code `unavailable`.
    func update<E: Error>(_ change: (DeclarativeConfig) throws(E) -> DeclarativeConfig) async throws -> StoreSnapshot

    /// Re-reads the database (after another process changed it) and publishes what it holds.
    func reload() async throws(StoreError) -> StoreSnapshot

    /// Creates a token for `name` with `role` and returns it; only its SHA-256 is stored, so this is the one
    /// time it can be seen. An existing token of the same name is replaced.
    func createToken(name: String, role: AdminRole) async throws(StoreError) -> String

    /// Whether any Admin API token exists (then every Admin API request needs one). True when it cannot be
    /// known, so a failing store never opens the Admin API.
    var hasTokens: Bool { get async }

    /// The role of a presented token, or nil when no stored token matches.
    func role(ofToken token: String) async -> AdminRole?

    func tokens() async throws(StoreError) -> [AdminTokenInfo]

    /// Removes a token; returns whether one existed.
    func removeToken(name: String) async throws(StoreError) -> Bool

    /// Every token with its hash, for a backup.
    func storedTokens() async throws(StoreError) -> [StoredToken]

    /// Replaces the whole configuration and every token in one transaction (a restore from a backup); nothing
    /// is written if it fails. The version goes on from the stored one, so running nodes take it as a change.
    func restore(_ config: DeclarativeConfig, tokens: [StoredToken]) async throws(StoreError) -> StoreSnapshot
}

extension ConfigStore {
    /// Replaces the whole configuration in one transaction (an import). The configuration must already be
    /// valid (it came from `DeclarativeConfig.parse`); nothing is written if the transaction fails.
    @discardableResult
    public func replace(with config: DeclarativeConfig) async throws(StoreError) -> StoreSnapshot {
        do {
            return try await update { _ in config }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot write configuration to \(location): \(error)", underlying: error)
        }
    }

    /// Imports Kong declarative text (YAML or JSON) as the whole configuration, all or nothing: text with any
    /// error throws a `ConfigError` listing every error and leaves the store as it was.
    @discardableResult
    public func importDeclarative(_ text: String) async throws -> (snapshot: StoreSnapshot, warnings: [ConfigIssue]) {
        let loaded = try DeclarativeConfig.parse(text)
        return (try await replace(with: loaded.config), loaded.warnings)
    }
}
