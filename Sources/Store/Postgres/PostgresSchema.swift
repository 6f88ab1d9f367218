import Logging
import PostgresNIO

/// The PostgreSQL schema as an ordered list of migrations, applied by `switchyard migrations up` under an
/// advisory lock: two nodes migrating at once never both apply one; the second waits and finds nothing to do.
/// A migration, once released, never changes.
enum PostgresSchema {
    /// Key of the advisory lock that serializes migrations across a cluster.
    static let migrationLock: Int64 = 0x5377_6974_6368_0001

    static let migrations: [(id: String, sql: [String])] = [
        ("001_cluster", [
            // One row per entity in the Admin API's JSON shape; `position` orders entities of one kind.
            """
            CREATE TABLE switchyard_entity (
                id text PRIMARY KEY, kind text NOT NULL, position bigint NOT NULL, name text NOT NULL DEFAULT '',
                json text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())
            """,
            // The configuration's version (bumped by every write, under this row's lock) and how far the change
            // log has been trimmed: a node behind `trimmed_to` reads everything again.
            "CREATE TABLE switchyard_state (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL, trimmed_to bigint NOT NULL)",
            "INSERT INTO switchyard_state (id, version, trimmed_to) VALUES (1, 0, 0)",
            // What each version changed, so a node reads only those rows.
            """
            CREATE TABLE switchyard_change (
                version bigint NOT NULL, entity_id text NOT NULL, kind text NOT NULL, operation text NOT NULL,
                at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (version, entity_id))
            """,
            """
            CREATE TABLE switchyard_admin_token (
                name text PRIMARY KEY, role text NOT NULL, sha256 text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            // The cluster's members, each heartbeating its applied version and its view of target health.
            """
            CREATE TABLE switchyard_node (
                id text PRIMARY KEY, hostname text NOT NULL, binary_version text NOT NULL,
                applied_version bigint NOT NULL, started_at timestamptz NOT NULL, last_seen timestamptz NOT NULL,
                health text NOT NULL DEFAULT '{}')
            """,
        ]),
        ("002_node_heartbeat", [
            // Each node's own heartbeat interval, so a node is judged stale by its interval, not the reader's.
            "ALTER TABLE switchyard_node ADD COLUMN heartbeat_seconds double precision NOT NULL DEFAULT 5",
        ]),
    ]

    static var identifiers: [String] { migrations.map(\.id) }

    /// Applied and pending migrations; `unknown` lists applied ones this build does not know (a newer binary
    /// migrated the database).
    static func status(_ connection: PostgresConnection, logger: Logger) async throws -> PostgresMigrationStatus {
        var exists = false
        for try await found in try await connection.query("SELECT to_regclass('switchyard_migration') IS NOT NULL",
                                                          logger: logger).decode(Bool.self) {
            exists = found
        }
        var applied: [String] = []
        if exists {
            for try await id in try await connection.query("SELECT id FROM switchyard_migration ORDER BY id", logger: logger)
                .decode(String.self) {
                applied.append(id)
            }
        }
        let known = Set(identifiers)
        let done = Set(applied)
        return PostgresMigrationStatus(status: MigrationStatus(applied: applied.filter(known.contains),
                                                               pending: identifiers.filter { !done.contains($0) }),
                                       unknown: applied.filter { !known.contains($0) })
    }

    /// Applies pending migrations, each in its own transaction, holding the advisory lock throughout; returns
    /// those applied now (empty when another node already did).
    static func up(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query("SELECT pg_advisory_lock(\(migrationLock))", logger: logger)
        do {
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS switchyard_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            let status = try await status(connection, logger: logger)
            var applied: [String] = []
            for migration in migrations where status.status.pending.contains(migration.id) {
                try await connection.query("BEGIN", logger: logger)
                do {
                    for statement in migration.sql {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO switchyard_migration (id) VALUES (\(migration.id))", logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
                applied.append(migration.id)
            }
            try await connection.query("SELECT pg_advisory_unlock(\(migrationLock))", logger: logger)
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(migrationLock))", logger: logger)
            throw error
        }
    }
}

/// A PostgreSQL schema's migrations, including any this build does not know.
public struct PostgresMigrationStatus: Sendable, Hashable {
    public var status: MigrationStatus
    public var unknown: [String]

    /// Why a node must not start on this schema, with what to run; nil when it matches this build.
    public func refusal(location: String) -> String? {
        if !unknown.isEmpty {
            return "the database \(location) has migrations this switchyard does not know (\(unknown.joined(separator: ", "))): it was migrated by a newer version; run that version, or restore a backup taken before"
        }
        if !status.pending.isEmpty {
            return "the database \(location) needs migrations \(status.pending.joined(separator: ", ")): run `switchyard migrations up --database \(location)` (with the password), then start again"
        }
        return nil
    }
}
