import Config
import Logging
import Store

/// Opens the store the settings name: the SQLite file, or the cluster's PostgreSQL.
enum StoreOpener {
    /// For a command (import, export, tokens): the database must answer, and no cache is used.
    static func forCommand(_ settings: NodeSettings, migrate: Bool = true) async throws(StoreError) -> any ConfigStore {
        if let location = settings.postgresLocation {
            return try await PostgresStore.open(location, cache: nil, logger: quietLogger)
        }
        return try SQLiteStore(path: settings.database, migrate: migrate)
    }

    /// Closes what `forCommand` opened (a PostgreSQL connection; nothing for SQLite).
    static func close(_ store: any ConfigStore) async {
        if let store = store as? PostgresStore { await store.close() }
    }

    /// Commands print their own messages; the store's log stays quiet unless something is wrong.
    static var quietLogger: Logger {
        var logger = Logger(label: "switchyard.store")
        logger.logLevel = .error
        return logger
    }
}
