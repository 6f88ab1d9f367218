import Config
import Foundation
import GRDB
import Synchronization

/// The single-node store: entities as rows in one SQLite file, written in transactions, with the whole
/// configuration kept in memory as a `StoreSnapshot` refreshed after every commit.
///
/// One writer at a time: `update` runs the change, the database write and the publication of the new snapshot
/// under one lock, so a change is always computed from the latest committed configuration.
public final class SQLiteStore: ConfigStore {
    public let path: String
    private let database: DatabaseQueue
    private let current: Mutex<StoreSnapshot>
    private let writer = NSLock()

    /// Opens (creating if needed) the database at `path` (`:memory:` for one that lives only in memory). With
    /// `migrate` the schema is brought up to date; without it an outdated schema is an error that tells the
    /// operator to run the migrations.
    public init(path: String, migrate: Bool = true) throws(StoreError) {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            // ":memory:" keeps everything in memory: the DB-less mode's store, gone at exit.
            database = path == ":memory:" ? try DatabaseQueue(configuration: configuration)
                : try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw StoreError(.unavailable, "cannot open database \(path): \(Self.describe(error))", underlying: error)
        }
        if migrate {
            do {
                try Schema.migrator.migrate(database)
            } catch {
                throw StoreError(.io, "cannot migrate database \(path): \(Self.describe(error))", underlying: error)
            }
        } else {
            let status = try Self.status(database, path: path)
            guard status.isUpToDate else {
                throw StoreError(.schemaOutdated, "database \(path) needs migrations \(status.pending.joined(separator: ", ")): run `switchyard migrations up`")
            }
        }
        current = Mutex(StoreSnapshot(config: DeclarativeConfig(), generation: 0))
        let first = try readSnapshot()
        current.withLock { $0 = first }
    }

    /// Applied and pending migrations of the database at `path`, without changing it.
    public static func migrationStatus(path: String) throws(StoreError) -> MigrationStatus {
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path)
        } catch {
            throw StoreError(.unavailable, "cannot open database \(path): \(describe(error))", underlying: error)
        }
        return try status(queue, path: path)
    }

    /// Applies pending migrations to the database at `path`; returns those applied now.
    @discardableResult
    public static func migrate(path: String) throws(StoreError) -> [String] {
        let before = try migrationStatus(path: path)
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue)
        } catch {
            throw StoreError(.io, "cannot migrate database \(path): \(describe(error))", underlying: error)
        }
        return before.pending
    }

    private static func status(_ queue: DatabaseQueue, path: String) throws(StoreError) -> MigrationStatus {
        do {
            let applied = try queue.read { db in try Schema.migrator.appliedMigrations(db) }
            let done = Set(applied)
            return MigrationStatus(applied: applied, pending: Schema.identifiers.filter { !done.contains($0) })
        } catch {
            throw StoreError(.io, "cannot read migrations of \(path): \(describe(error))", underlying: error)
        }
    }

    /// The configuration as last committed.
    public var snapshot: StoreSnapshot { current.withLock { $0 } }

    public var location: String { path }

    /// A file the node opened: reachable, never from a cache.
    public var health: StoreHealth { StoreHealth(reachable: isReachable, fromCache: false) }

    /// Whether the database answers a trivial query now.
    public var isReachable: Bool {
        (try? database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// `replace(with:)` for callers that must not suspend (the SIGHUP reload of a declarative file, which reads
    /// and applies in one turn of the node's applier).
    @discardableResult
    public func replaceSynchronously(with config: DeclarativeConfig) throws(StoreError) -> StoreSnapshot {
        do {
            return try update { _ in config }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot write configuration to \(path): \(error)", underlying: error)
        }
    }

    /// Computes a new configuration from the latest committed one and stores it in one transaction. Errors
    /// thrown by `change` (a `ConfigError` for an invalid entity) pass through unchanged and nothing is written.
    @discardableResult
    public func update<E: Error>(_ change: (DeclarativeConfig) throws(E) -> DeclarativeConfig) throws -> StoreSnapshot {
        writer.lock()
        defer { writer.unlock() }
        let memory = current.withLock { $0 }
        var base = memory
        let snapshot: StoreSnapshot
        do {
            snapshot = try database.write { db in
                // Another process (a `config import`, a second node on this file) may have written since: the
                // change is computed from what is committed, never from a stale copy.
                let stored = try Self.storedGeneration(db)
                if stored != memory.generation { base = try Self.readSnapshot(db, path: path) }
                let next = try change(base.config)
                let generation = max(base.generation, stored) + 1
                try Self.write(EntityRow.rows(of: next), generation: generation, db: db)
                return StoreSnapshot(config: next, generation: generation)
            }
        } catch let error as DatabaseError {
            throw StoreError(.io, "cannot write configuration to \(path): \(Self.describe(error))", underlying: error)
        }
        current.withLock { $0 = snapshot }
        return snapshot
    }

    /// Re-reads the database (after another process changed it) and publishes what it holds.
    @discardableResult
    public func reload() throws(StoreError) -> StoreSnapshot {
        writer.lock()
        defer { writer.unlock() }
        let snapshot = try readSnapshot()
        current.withLock { $0 = snapshot }
        return snapshot
    }

    private static func write(_ rows: [EntityRow], generation: Int, db: Database) throws {
        let now = Date().timeIntervalSince1970
        var existing: [String: EntityRow] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, kind, position, name, json FROM entity") {
            guard let kind = EntityKind(rawValue: row["kind"]) else { continue }
            let entity = EntityRow(id: row["id"], kind: kind, position: row["position"], name: row["name"],
                                   json: row["json"])
            existing[entity.id] = entity
        }
        var keep = Set<String>()
        for row in rows {
            keep.insert(row.id)
            if existing[row.id] == row { continue }
            try db.execute(sql: """
                INSERT INTO entity (id, kind, position, name, json, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, position = excluded.position,
                name = excluded.name, json = excluded.json, updated_at = excluded.updated_at
                """, arguments: [row.id, row.kind.rawValue, row.position, row.name, row.json, now])
        }
        for id in existing.keys where !keep.contains(id) {
            try db.execute(sql: "DELETE FROM entity WHERE id = ?", arguments: [id])
        }
        try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('generation', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [String(generation)])
    }

    private func readSnapshot() throws(StoreError) -> StoreSnapshot {
        do {
            return try database.read { db in try Self.readSnapshot(db, path: path) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot read configuration from \(path): \(Self.describe(error))", underlying: error)
        }
    }

    private static func storedGeneration(_ db: Database) throws -> Int {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'generation'").flatMap { Int($0) } ?? 0
    }

    private static func readSnapshot(_ db: Database, path: String) throws -> StoreSnapshot {
        let rows = try Row.fetchAll(db, sql: "SELECT id, kind, position, name, json FROM entity").compactMap { row -> EntityRow? in
            guard let kind = EntityKind(rawValue: row["kind"]) else { return nil }
            return EntityRow(id: row["id"], kind: kind, position: row["position"], name: row["name"], json: row["json"])
        }
        let generation = try storedGeneration(db)
        do {
            return StoreSnapshot(config: try EntityRow.config(from: rows), generation: generation)
        } catch {
            throw StoreError(.corrupt, "stored configuration in \(path) is invalid:\n" + error.issues.map { "  \($0)" }.joined(separator: "\n"),
                             underlying: error)
        }
    }

    // MARK: Admin tokens

    /// Creates a token for `name` with `role` and returns it; only its SHA-256 is stored, so this is the one
    /// time it can be seen. An existing token of the same name is replaced.
    public func createToken(name: String, role: AdminRole) throws(StoreError) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = TokenHash.newToken(using: &generator)
        do {
            try database.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO admin_token (name, role, sha256, created_at) VALUES (?, ?, ?, ?)",
                               arguments: [name, role.rawValue, TokenHash.hex(token), Date().timeIntervalSince1970])
            }
        } catch {
            throw StoreError(.io, "cannot store token \(name): \(Self.describe(error))", underlying: error)
        }
        return token
    }

    /// Whether any Admin API token exists (then every Admin API request needs one). True when the database
    /// cannot answer, so a failing store never opens the Admin API.
    public var hasTokens: Bool {
        do {
            let count = try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM admin_token") }
            return (count ?? 0) > 0
        } catch {
            return true
        }
    }

    /// The role of a presented token, or nil when no stored token matches.
    public func role(ofToken token: String) -> AdminRole? {
        let hash = TokenHash.hex(token)
        let role = try? database.read { db in
            try String.fetchOne(db, sql: "SELECT role FROM admin_token WHERE sha256 = ?", arguments: [hash])
        }
        return role.flatMap { AdminRole(rawValue: $0) }
    }

    public func tokens() throws(StoreError) -> [AdminTokenInfo] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT name, role FROM admin_token ORDER BY name").compactMap { row in
                    AdminRole(rawValue: row["role"]).map { AdminTokenInfo(name: row["name"], role: $0) }
                }
            }
        } catch {
            throw StoreError(.io, "cannot read tokens: \(Self.describe(error))", underlying: error)
        }
    }

    /// Removes a token; returns whether one existed.
    @discardableResult
    public func removeToken(name: String) throws(StoreError) -> Bool {
        do {
            return try database.write { db in
                try db.execute(sql: "DELETE FROM admin_token WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        } catch {
            throw StoreError(.io, "cannot remove token \(name): \(Self.describe(error))", underlying: error)
        }
    }

    public func storedTokens() throws(StoreError) -> [StoredToken] {
        do {
            return try database.read { db in
                try Row.fetchAll(db, sql: "SELECT name, role, sha256 FROM admin_token ORDER BY name").compactMap { row in
                    AdminRole(rawValue: row["role"]).map { StoredToken(name: row["name"], role: $0, sha256: row["sha256"]) }
                }
            }
        } catch {
            throw StoreError(.io, "cannot read tokens: \(Self.describe(error))", underlying: error)
        }
    }

    @discardableResult
    public func restore(_ config: DeclarativeConfig, tokens: [StoredToken]) throws(StoreError) -> StoreSnapshot {
        writer.lock()
        defer { writer.unlock() }
        let snapshot: StoreSnapshot
        do {
            snapshot = try database.write { db in
                let generation = try Self.storedGeneration(db) + 1
                try Self.write(EntityRow.rows(of: config), generation: generation, db: db)
                try db.execute(sql: "DELETE FROM admin_token")
                let now = Date().timeIntervalSince1970
                for token in tokens {
                    try db.execute(sql: "INSERT INTO admin_token (name, role, sha256, created_at) VALUES (?, ?, ?, ?)",
                                   arguments: [token.name, token.role.rawValue, token.sha256, now])
                }
                return StoreSnapshot(config: config, generation: generation)
            }
        } catch {
            throw StoreError(.io, "cannot restore into \(path): \(Self.describe(error))", underlying: error)
        }
        current.withLock { $0 = snapshot }
        return snapshot
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }
}
