import Config
import Logging

extension PostgresStore {
    /// Applies pending migrations under the cluster's advisory lock; returns those applied now (empty when the
    /// schema was up to date, or another node applied them while this one waited for the lock).
    public static func migrate(_ location: PostgresLocation,
                               logger: Logger = Logger(label: "switchyard.store")) async throws(StoreError) -> [String] {
        let link = PostgresLink(location: location, timeout: .seconds(600), logger: logger)
        defer { Task { await link.close() } }
        do {
            let status = try await link.use { connection in try await PostgresSchema.status(connection, logger: logger) }
            if !status.unknown.isEmpty, let refusal = status.refusal(location: location.description) {
                throw StoreError(.schemaOutdated, refusal)
            }
            return try await link.use { connection in try await PostgresSchema.up(connection, logger: logger) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot migrate \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }

    /// Applied, pending and unknown migrations of the database, without changing it.
    public static func migrationStatus(_ location: PostgresLocation,
                                       logger: Logger = Logger(label: "switchyard.store")) async throws(StoreError) -> PostgresMigrationStatus {
        let link = PostgresLink(location: location, logger: logger)
        defer { Task { await link.close() } }
        do {
            return try await link.use { connection in try await PostgresSchema.status(connection, logger: logger) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "cannot read the migrations of \(location): \(PostgresLink.describe(error))", underlying: error)
        }
    }
}
