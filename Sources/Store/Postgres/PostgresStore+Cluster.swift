import Foundation
import Logging
import PostgresNIO

extension PostgresStore: ClusterDirectory {
    public func heartbeat(_ beat: ClusterHeartbeat) async throws(StoreError) {
        try await onMembers("heartbeat") { connection, logger in
            try await connection.query("""
                INSERT INTO switchyard_node (id, hostname, binary_version, applied_version, started_at, last_seen,
                                             heartbeat_seconds, health)
                VALUES (\(beat.id), \(beat.hostname), \(beat.binaryVersion), \(beat.appliedVersion), \(beat.startedAt),
                        now(), \(beat.interval), COALESCE(\(beat.health), '{}'))
                ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, binary_version = excluded.binary_version,
                    applied_version = excluded.applied_version, started_at = excluded.started_at,
                    last_seen = excluded.last_seen, heartbeat_seconds = excluded.heartbeat_seconds,
                    health = COALESCE(\(beat.health), switchyard_node.health)
                """, logger: logger)
            // Nodes gone for a day (renamed, moved, decommissioned without leaving) drop out of the view.
            try await connection.query("DELETE FROM switchyard_node WHERE last_seen < now() - interval '1 day'",
                                       logger: logger)
        }
    }

    public func leave(id: String) async {
        try? await onMembers("leave") { connection, logger in
            try await connection.query("DELETE FROM switchyard_node WHERE id = \(id)", logger: logger)
        }
    }

    public func clusterView() async throws(StoreError) -> ClusterView {
        try await onMembers("read the cluster's nodes") { connection, logger in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var version = 0
                for try await head in try await connection.query("SELECT version FROM switchyard_state WHERE id = 1",
                                                                 logger: logger).decode(Int.self) {
                    version = head
                }
                var members: [ClusterMember] = []
                let rows = try await connection.query("""
                    SELECT id, hostname, binary_version, applied_version, started_at, last_seen,
                           EXTRACT(EPOCH FROM now() - last_seen)::float8, heartbeat_seconds, health
                    FROM switchyard_node ORDER BY id
                    """, logger: logger)
                for try await (id, hostname, binary, applied, started, seen, since, interval, health) in rows
                    .decode((String, String, String, Int, Date, Date, Double, Double, String).self) {
                    members.append(ClusterMember(id: id, hostname: hostname, binaryVersion: binary,
                                                 appliedVersion: applied, startedAt: started, lastSeen: seen,
                                                 secondsSinceSeen: max(0, since), interval: interval, health: health))
                }
                try await connection.query("COMMIT", logger: logger)
                return ClusterView(version: version, members: members)
            } catch {
                if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
                throw error
            }
        }
    }

    /// Runs `body` on the members' connection, one use at a time, with the link's deadline.
    private func onMembers<T>(_ what: String,
                              _ body: (PostgresConnection, Logger) async throws -> T) async throws(StoreError) -> T {
        let logger = self.logger
        do {
            return try await memberLock.run {
                try await memberLink.use(retryOnFreshConnection: true) { connection in
                    try await body(connection, logger)
                }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot \(what) at \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }
}
