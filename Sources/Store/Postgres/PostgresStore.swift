import Config
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The cluster's store: entities in one PostgreSQL shared by every node, each node holding the whole
/// configuration in memory and following the others' writes.
///
/// A write locks the one `switchyard_state` row, so writers across the cluster take turns and each change is
/// computed from the newest committed configuration. In the same transaction it writes the changed rows, one
/// change-log row per changed entity under the new version, and `NOTIFY`s the version. Other nodes hear it on
/// their LISTEN connection (or at the next poll, if they missed it) and read only the entities that changed.
///
/// When PostgreSQL cannot be reached, reads still come from memory and writes throw `StoreError(.unavailable)`;
/// the node catches up by itself when the server is back. Every configuration it publishes is also written to
/// the node's cache file, from which it can start while the database is down.
public final class PostgresStore: ConfigStore {
    public let location: String
    let link: PostgresLink
    /// Heartbeats and the cluster's view go over a connection of their own, so they never wait behind a write.
    let memberLink: PostgresLink
    let memberLock = SerialLock()
    private let lock = SerialLock()
    private let cache: ConfigCache?
    let logger: Logger
    private let state: Mutex<State>

    /// The channel every node LISTENs on; the payload is the new version (NOTIFY payloads are capped at 8 kB).
    static let channel = "switchyard_config"
    /// Change-log rows kept: a node further behind than this reads the whole configuration again.
    static let changeLogVersions = 10_000

    /// What the node holds of the database, as of one version.
    struct Loaded: Sendable {
        var snapshot: StoreSnapshot
        /// By id; nil when the configuration came from the cache file, so the next catch-up reads everything.
        var rows: [String: EntityRow]?
        var tokens: [String: ConfigCache.CachedToken]
    }

    private struct State {
        var loaded: Loaded
        var health: StoreHealth
        var onChange: (@Sendable (StoreSnapshot) -> Void)?
        var followers: [Task<Void, Never>] = []
    }

    private init(location: PostgresLocation, link: PostgresLink, cache: ConfigCache?, logger: Logger, loaded: Loaded,
                 health: StoreHealth) {
        self.location = location.description
        self.link = link
        memberLink = PostgresLink(location: location, logger: logger)
        self.cache = cache
        self.logger = logger
        state = Mutex(State(loaded: loaded, health: health))
    }

    /// Connects, checks that the schema matches this build and reads the configuration. When the server cannot be
    /// reached the store starts from `cache` (and says so in `health`); without a usable cache it throws.
    public static func open(_ location: PostgresLocation, cache: ConfigCache?,
                            logger: Logger = Logger(label: "switchyard.store")) async throws(StoreError) -> PostgresStore {
        let link = PostgresLink(location: location, logger: logger)
        let empty = Loaded(snapshot: StoreSnapshot(config: DeclarativeConfig(), generation: 0), rows: nil, tokens: [:])
        let store = PostgresStore(location: location, link: link, cache: cache, logger: logger, loaded: empty,
                                  health: StoreHealth(reachable: true, fromCache: false))
        do {
            let status = try await link.use { connection in
                try await PostgresSchema.status(connection, logger: logger)
            }
            if let refusal = status.refusal(location: location.description) {
                await link.close()
                throw StoreError(.schemaOutdated, refusal)
            }
            _ = try await store.reload()
            return store
        } catch let unreachable as StoreError where unreachable.code == .unavailable {
            let error = unreachable
            guard let cache else { throw error }
            let content: ConfigCache.Content
            do {
                content = try cache.read()
            } catch {
                throw StoreError(.unavailable, "\(unreachable.message), and the node cannot start from its cache: \(error.message) (db_cache_file)")
            }
            store.state.withLock { state in
                state.loaded = Loaded(snapshot: content.snapshot, rows: nil,
                                      tokens: Dictionary(content.tokens.map { ($0.name, $0) }, uniquingKeysWith: { $1 }))
                state.health = StoreHealth(reachable: false, fromCache: true, lastError: error.message)
            }
            logger.warning("PostgreSQL unreachable at start; serving the cached configuration", metadata: [
                "database": "\(location)", "cache": "\(cache.path)", "version": "\(content.snapshot.generation)",
                "written_at": "\(content.writtenAt)", "error": "\(error.message)",
            ])
            return store
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot open \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }

    public var snapshot: StoreSnapshot { state.withLock { $0.loaded.snapshot } }
    public var health: StoreHealth { state.withLock { $0.health } }

    // MARK: Following the cluster

    /// Starts following other nodes' writes: LISTEN on a connection of its own (again after it breaks, reading
    /// from this node's version since notifications sent meanwhile are lost) and a poll every `interval` in case
    /// one was missed. `onChange` receives each configuration caught up with, in version order.
    public func follow(every interval: Duration, onChange: @escaping @Sendable (StoreSnapshot) -> Void) {
        let listen = Task { [weak self] in
            guard let self else { return }
            await self.listenLoop()
        }
        let poll = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.catchUpAndReport(reason: "poll")
            }
        }
        state.withLock { state in
            state.onChange = onChange
            state.followers += [listen, poll]
        }
    }

    /// Stops following and closes the connections.
    public func close() async {
        let followers = state.withLock { state in
            defer { state.followers = [] }
            return state.followers
        }
        // Not awaited: a catch-up may be waiting on a query that a closing connection never answers.
        for task in followers { task.cancel() }
        await link.close()
        await memberLink.close()
    }

    private func listenLoop() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await link.openDedicated()
                do {
                    // The connection's end does not always end its notification sequence, nor answer a query sent
                    // as it closes (and a half-open TCP connection ends nothing), so a watchdog pings it, and
                    // whichever of the two returns first ends the listening; the other is left to finish.
                    let listened = try await FirstOf.race(
                        { [self] in try await listen(on: connection) },
                        { [self] in try await watch(connection) })
                    if listened { delay = .milliseconds(100) }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("LISTEN connection to PostgreSQL lost; reconnecting", metadata: [
                            "database": "\(location)", "error": "\(PostgresLink.describe(error))",
                        ])
                    }
                }
                // Not awaited: the close of a connection the server terminated may never report completion.
                connection.close().whenComplete { _ in }
            } catch {
                markUnreachable(error)
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// LISTENs on `connection` and catches up on every notification until the connection ends.
    private func listen(on connection: PostgresConnection) async throws -> Bool {
        try await connection.listen(on: Self.channel) { notifications in
            // A query behind the LISTEN returns once it is in force: whatever commits after that is notified.
            try await connection.query("SELECT 1", logger: logger)
            logger.debug("listening for changes", metadata: ["database": "\(location)"])
            // What committed before the LISTEN must be read now: no notification will tell of it.
            var retry = Duration.milliseconds(50)
            while !(await catchUpAndReport(reason: "listen")), !Task.isCancelled {
                try await Task.sleep(for: retry)
                retry = min(retry * 2, .seconds(2))
            }
            for try await _ in notifications {
                await catchUpAndReport(reason: "notify")
            }
            return true
        }
    }

    /// Returns (ending the listening) when `connection` is closed or a ping gets no answer within 2 s.
    private func watch(_ connection: PostgresConnection) async throws -> Bool {
        while !Task.isCancelled {
            try await Task.sleep(for: Self.listenPing)
            if connection.isClosed { return false }
            let logger = self.logger
            let answered = try await FirstOf.race(
                { try await connection.query("SELECT 1", logger: logger); return true },
                { try await Task.sleep(for: .seconds(2)); return false })
            if !answered { return false }
        }
        return false
    }

    /// How often the LISTEN connection is checked.
    static let listenPing = Duration.seconds(1)

    /// Whether the catch-up reached the database.
    @discardableResult
    private func catchUpAndReport(reason: String) async -> Bool {
        do {
            if let snapshot = try await catchUp() {
                logger.debug("caught up", metadata: ["version": "\(snapshot.generation)", "via": "\(reason)"])
                let onChange = state.withLock { $0.onChange }
                onChange?(snapshot)
            }
            return true
        } catch {
            markUnreachable(error)
            return false
        }
    }

    private func markUnreachable(_ error: any Error) {
        let message = PostgresLink.describe(error)
        let wasReachable = state.withLock { state in
            defer { state.health.reachable = false; state.health.lastError = message }
            return state.health.reachable
        }
        if wasReachable {
            logger.error("PostgreSQL unreachable; serving the last configuration, Admin API writes answer 503",
                         metadata: ["database": "\(location)", "error": "\(message)"])
        }
    }

    /// Reads what changed since this node's version and publishes it; nil when nothing did.
    @discardableResult
    func catchUp() async throws -> StoreSnapshot? {
        try await lock.run {
            let before = state.withLock { $0.loaded }
            let loaded = try await link.use(retryOnFreshConnection: true) { connection in
                try await Self.transaction(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                    let head = try await Self.head(connection, logger: logger, forUpdate: false)
                    return try await Self.read(connection, from: before, head: head, logger: logger)
                }
            }
            return publish(loaded, previous: before)
        }
    }

    // MARK: ConfigStore

    public func update<E: Error>(_ change: (DeclarativeConfig) throws(E) -> DeclarativeConfig) async throws -> StoreSnapshot {
        try await commit { connection, loaded in
            let (after, changes) = try await write(try change(loaded.snapshot.config), over: loaded, connection: connection)
            return (after, changes, ())
        }.snapshot
    }

    /// Writes the rows of `next` that differ from `loaded`'s and deletes those it no longer has; returns the
    /// configuration after and the change-log rows.
    private func write(_ next: DeclarativeConfig, over loaded: Loaded,
                       connection: PostgresConnection) async throws -> (Loaded, [Change]) {
        let stored = loaded.rows ?? [:]
        let rows = StablePositions.assign(EntityRow.rows(of: next), stored: stored)
        var upserts: [EntityRow] = []
        var kept = Set<String>()
        for row in rows {
            kept.insert(row.id)
            if stored[row.id] != row { upserts.append(row) }
        }
        let deleted = stored.values.filter { !kept.contains($0.id) }
        if !upserts.isEmpty {
            try await connection.query("""
                INSERT INTO switchyard_entity (id, kind, position, name, json, updated_at)
                SELECT u.id, u.kind, u.position, u.name, u.json, now()
                FROM unnest(\(upserts.map(\.id))::text[], \(upserts.map(\.kind.rawValue))::text[],
                            \(upserts.map(\.position))::bigint[], \(upserts.map { $0.name ?? "" })::text[],
                            \(upserts.map(\.json))::text[]) AS u(id, kind, position, name, json)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, position = excluded.position,
                name = excluded.name, json = excluded.json, updated_at = excluded.updated_at
                """, logger: logger)
        }
        if !deleted.isEmpty {
            try await connection.query("DELETE FROM switchyard_entity WHERE id = ANY(\(deleted.map(\.id)))", logger: logger)
        }
        var after = loaded
        after.snapshot.config = next
        after.rows = Dictionary(rows.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        let changes = upserts.map { Change(id: $0.id, kind: $0.kind.rawValue, operation: "upsert") }
            + deleted.map { Change(id: $0.id, kind: $0.kind.rawValue, operation: "delete") }
        return (after, changes)
    }

    public func storedTokens() throws(StoreError) -> [StoredToken] {
        state.withLock { state in
            state.loaded.tokens.values.sorted { $0.name < $1.name }.compactMap { token in
                AdminRole(rawValue: token.role).map { StoredToken(name: token.name, role: $0, sha256: token.sha256) }
            }
        }
    }

    public func restore(_ config: DeclarativeConfig, tokens: [StoredToken]) async throws(StoreError) -> StoreSnapshot {
        do {
            return try await commit { connection, loaded in
                var (after, changes) = try await write(config, over: loaded, connection: connection)
                try await connection.query("DELETE FROM switchyard_admin_token", logger: logger)
                if !tokens.isEmpty {
                    try await connection.query("""
                        INSERT INTO switchyard_admin_token (name, role, sha256)
                        SELECT * FROM unnest(\(tokens.map(\.name))::text[], \(tokens.map(\.role.rawValue))::text[],
                                             \(tokens.map(\.sha256))::text[])
                        """, logger: logger)
                }
                after.tokens = Dictionary(tokens.map {
                    ($0.name, ConfigCache.CachedToken(name: $0.name, role: $0.role.rawValue, sha256: $0.sha256))
                }, uniquingKeysWith: { $1 })
                // Any token change makes followers re-read every token.
                changes.append(Change(id: "*", kind: "admin_token", operation: "restore"))
                return (after, changes, ())
            }.snapshot
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot restore into \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }

    public func reload() async throws(StoreError) -> StoreSnapshot {
        do {
            return try await lock.run {
                let before = state.withLock { $0.loaded }
                var empty = before
                empty.rows = nil
                let loaded = try await link.use(retryOnFreshConnection: true) { connection in
                    try await Self.transaction(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                        let head = try await Self.head(connection, logger: logger, forUpdate: false)
                        return try await Self.read(connection, from: empty, head: head, logger: logger)
                    }
                }
                _ = publish(loaded, previous: before)
                return loaded.snapshot
            }
        } catch let error as StoreError {
            if error.code == .unavailable { markUnreachable(error) }
            throw error
        } catch {
            throw StoreError(.io, "cannot read \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }

    public func createToken(name: String, role: AdminRole) async throws(StoreError) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = TokenHash.newToken(using: &generator)
        let hash = TokenHash.hex(token)
        try await tokenWrite(name) { connection, loaded in
            try await connection.query("""
                INSERT INTO switchyard_admin_token (name, role, sha256) VALUES (\(name), \(role.rawValue), \(hash))
                ON CONFLICT (name) DO UPDATE SET role = excluded.role, sha256 = excluded.sha256, created_at = now()
                """, logger: logger)
            var after = loaded
            after.tokens[name] = ConfigCache.CachedToken(name: name, role: role.rawValue, sha256: hash)
            return (after, [Change(id: name, kind: "admin_token", operation: "upsert")], true)
        }
        return token
    }

    public var hasTokens: Bool { state.withLock { !$0.loaded.tokens.isEmpty } }

    public func role(ofToken token: String) -> AdminRole? {
        let hash = TokenHash.hex(token)
        let found = state.withLock { state in state.loaded.tokens.values.first { $0.sha256 == hash } }
        return found.flatMap { AdminRole(rawValue: $0.role) }
    }

    public func tokens() throws(StoreError) -> [AdminTokenInfo] {
        state.withLock { state in
            state.loaded.tokens.values.sorted { $0.name < $1.name }.compactMap { token in
                AdminRole(rawValue: token.role).map { AdminTokenInfo(name: token.name, role: $0) }
            }
        }
    }

    public func removeToken(name: String) async throws(StoreError) -> Bool {
        try await tokenWrite(name) { connection, loaded in
            var existed = false
            for try await _ in try await connection.query("DELETE FROM switchyard_admin_token WHERE name = \(name) RETURNING name",
                                                          logger: logger) {
                existed = true
            }
            guard existed else { return (loaded, [], false) }
            var after = loaded
            after.tokens[name] = nil
            return (after, [Change(id: name, kind: "admin_token", operation: "delete")], true)
        }
    }

    private func tokenWrite(_ name: String,
                            _ body: (PostgresConnection, Loaded) async throws -> (Loaded, [Change], Bool)) async throws(StoreError) -> Bool {
        do {
            return try await commit(body).result
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot write token \(name): \(PostgresLink.describe(error))", underlying: error)
        }
    }

    // MARK: Writing

    /// One entity row a version changed, for the change log.
    struct Change {
        var id: String
        var kind: String
        var operation: String
    }

    /// Runs `body` in a transaction that holds the cluster's write lock (the state row), after catching up with
    /// every committed version, then records its changes under the next version, notifies, commits and
    /// publishes. Errors of `body` roll back and pass through unchanged.
    private func commit<T>(_ body: (PostgresConnection, Loaded) async throws -> (Loaded, [Change], T)) async throws
        -> (snapshot: StoreSnapshot, result: T) {
        do {
            return try await lock.run {
                let before = state.withLock { $0.loaded }
                var caughtUp = before
                let committing = CommitSent()
                let outcome: Result<(Loaded, T), any Error> = try await link.use(
                    retryOnFreshConnection: true, retryable: { !committing.isSet }
                ) { connection in
                    do {
                        return .success(try await Self.transaction(connection, "BEGIN", logger: logger, committing: committing) {
                            let head = try await Self.head(connection, logger: logger, forUpdate: true)
                            caughtUp = try await Self.read(connection, from: before, head: head, logger: logger)
                            let (changed, changes, result): (Loaded, [Change], T)
                            do {
                                (changed, changes, result) = try await body(connection, caughtUp)
                            } catch let error as PSQLError {
                                throw error
                            } catch {
                                throw Refused(error: error)
                            }
                            var after = changed
                            after.snapshot.generation = head.version + 1
                            try await Self.record(changes, version: after.snapshot.generation, connection: connection,
                                                  logger: logger)
                            return (after, result)
                        })
                    } catch let refused as Refused {
                        return .failure(refused.error)
                    }
                }
                switch outcome {
                case let .success((after, result)):
                    _ = publish(after, previous: before)
                    return (after.snapshot, result)
                case let .failure(error):
                    _ = publish(caughtUp, previous: before)
                    throw error
                }
            }
        } catch let error as StoreError where error.code == .unavailable {
            markUnreachable(error)
            throw error
        }
    }

    /// Whether a transaction's COMMIT was sent: a retry is safe only before.
    final class CommitSent: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set() { value.store(true, ordering: .relaxed) }
    }

    /// An error of the change itself (an invalid entity), carried out of the transaction it rolled back.
    private struct Refused: Error {
        var error: any Error
    }

    /// Runs `body` between `begin` and COMMIT; any error rolls back (so the connection is usable again) and
    /// passes through.
    /// `committing` is set just before COMMIT is sent: from then on a failure leaves the outcome unknown.
    private static func transaction<T>(_ connection: PostgresConnection, _ begin: PostgresQuery, logger: Logger,
                                       committing: CommitSent? = nil,
                                       _ body: () async throws -> T) async throws -> T {
        try await connection.query(begin, logger: logger)
        let value: T
        do {
            value = try await body()
        } catch {
            if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
            throw error
        }
        committing?.set()
        try await connection.query("COMMIT", logger: logger)
        return value
    }

    private static func record(_ changes: [Change], version: Int, connection: PostgresConnection, logger: Logger) async throws {
        if !changes.isEmpty {
            try await connection.query("""
                INSERT INTO switchyard_change (version, entity_id, kind, operation)
                SELECT \(version), u.id, u.kind, u.operation
                FROM unnest(\(changes.map(\.id))::text[], \(changes.map(\.kind))::text[], \(changes.map(\.operation))::text[])
                AS u(id, kind, operation)
                """, logger: logger)
        }
        try await connection.query("UPDATE switchyard_state SET version = \(version) WHERE id = 1", logger: logger)
        if version % 100 == 0 {
            try await connection.query("""
                WITH gone AS (DELETE FROM switchyard_change
                              WHERE version <= \(version - changeLogVersions) OR at < now() - interval '1 day'
                              RETURNING version)
                UPDATE switchyard_state SET trimmed_to = GREATEST(trimmed_to, COALESCE((SELECT max(version) FROM gone), 0))
                WHERE id = 1
                """, logger: logger)
        }
        try await connection.query("SELECT pg_notify(\(channel), \(String(version)))", logger: logger)
    }

    // MARK: Reading

    struct Head {
        var version: Int
        var trimmedTo: Int
    }

    private static func head(_ connection: PostgresConnection, logger: Logger, forUpdate: Bool) async throws -> Head {
        let sql: PostgresQuery = forUpdate
            ? "SELECT version, trimmed_to FROM switchyard_state WHERE id = 1 FOR UPDATE"
            : "SELECT version, trimmed_to FROM switchyard_state WHERE id = 1"
        for try await (version, trimmed) in try await connection.query(sql, logger: logger).decode((Int, Int).self) {
            return Head(version: version, trimmedTo: trimmed)
        }
        throw StoreError(.corrupt, "switchyard_state has no row: the schema was not created by `switchyard migrations up`")
    }

    /// `base` brought up to `head`: only the entities changed since its version, or everything when it has no
    /// rows, is behind the trimmed change log, or is ahead of the database (restored from a backup).
    private static func read(_ connection: PostgresConnection, from base: Loaded, head: Head,
                             logger: Logger) async throws -> Loaded {
        let version = base.snapshot.generation
        if base.rows != nil, head.version == version { return base }
        var rows: [String: EntityRow]
        var tokensChanged: Bool
        if let stored = base.rows, version >= head.trimmedTo, version < head.version {
            rows = stored
            var ids: [String] = []
            tokensChanged = false
            for try await (id, kind) in try await connection.query("""
                SELECT DISTINCT entity_id, kind FROM switchyard_change WHERE version > \(version) AND version <= \(head.version)
                """, logger: logger).decode((String, String).self) {
                if kind == "admin_token" { tokensChanged = true } else { ids.append(id) }
            }
            for id in ids { rows[id] = nil }
            if !ids.isEmpty {
                for row in try await entities(connection, "SELECT id, kind, position, name, json FROM switchyard_entity WHERE id = ANY(\(ids))",
                                              logger: logger) {
                    rows[row.id] = row
                }
            }
        } else {
            rows = [:]
            for row in try await entities(connection, "SELECT id, kind, position, name, json FROM switchyard_entity", logger: logger) {
                rows[row.id] = row
            }
            tokensChanged = true
        }
        var tokens = base.tokens
        if tokensChanged {
            tokens = [:]
            for try await (name, role, sha256) in try await connection.query(
                "SELECT name, role, sha256 FROM switchyard_admin_token", logger: logger).decode((String, String, String).self) {
                tokens[name] = ConfigCache.CachedToken(name: name, role: role, sha256: sha256)
            }
        }
        let config: DeclarativeConfig
        do {
            config = try EntityRow.config(from: Array(rows.values))
        } catch {
            throw StoreError(.corrupt, "stored configuration at version \(head.version) is invalid:\n"
                + error.issues.map { "  \($0)" }.joined(separator: "\n"), underlying: error)
        }
        return Loaded(snapshot: StoreSnapshot(config: config, generation: head.version), rows: rows, tokens: tokens)
    }

    private static func entities(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> [EntityRow] {
        var rows: [EntityRow] = []
        for try await (id, kind, position, name, json) in try await connection.query(query, logger: logger)
            .decode((String, String, Int, String, String).self) {
            guard let kind = EntityKind(rawValue: kind) else { continue }
            rows.append(EntityRow(id: id, kind: kind, position: position, name: name.isEmpty ? nil : name, json: json))
        }
        return rows
    }

    /// Makes `loaded` the node's configuration and writes the cache file; the snapshot when it is newer.
    private func publish(_ loaded: Loaded, previous: Loaded) -> StoreSnapshot? {
        let changed = loaded.snapshot.generation != previous.snapshot.generation || previous.rows == nil
            || loaded.tokens != previous.tokens
        let current = state.withLock { state -> Bool in
            // A holder passed over by the lock may publish late: never over a newer version.
            guard loaded.snapshot.generation >= state.loaded.snapshot.generation else { return false }
            state.loaded = loaded
            if !state.health.reachable || state.health.fromCache {
                logger.notice("PostgreSQL reachable; configuration caught up", metadata: [
                    "database": "\(location)", "version": "\(loaded.snapshot.generation)",
                ])
            }
            state.health = StoreHealth(reachable: true, fromCache: false)
            return true
        }
        guard changed, current else { return nil }
        if let cache {
            do {
                try cache.write(loaded.snapshot, tokens: loaded.tokens.values.sorted { $0.name < $1.name },
                                database: location)
            } catch {
                logger.warning("cannot write the configuration cache", metadata: ["cache": "\(cache.path)", "error": "\(error)"])
            }
        }
        return loaded.snapshot.generation != previous.snapshot.generation || previous.rows == nil ? loaded.snapshot : nil
    }
}
