import Config
import Foundation
import Logging
import Store
import TestSupport

/// One empty database of either kind, with its schema, that several stores can open (as several nodes or a
/// reopened node would): a file in a temporary directory, or a database of its own in the test process's
/// PostgreSQL server.
final class StoreDatabase: Sendable {
    let kind: StoreKind
    let directory: URL
    /// The PostgreSQL database name (postgres only).
    let name: String
    let server: PostgresServer?

    /// `server`: a PostgreSQL server of the test's own (one it stops and starts), else the shared one.
    init(_ kind: StoreKind, migrate: Bool = true, server own: PostgresServer? = nil) async throws {
        self.kind = kind
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        if kind == .postgres {
            let server = try own ?? PostgresServer.shared()
            try server.createDatabase(name)
            self.server = server
            if migrate { _ = try await PostgresStore.migrate(location) }
        } else {
            server = nil
        }
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
        if let server { try? server.dropDatabase(name) }
    }

    var path: String { directory.appendingPathComponent("switchyard.db").path }
    var cachePath: String { directory.appendingPathComponent("cache.json").path }

    var location: PostgresLocation {
        PostgresLocation(host: "127.0.0.1", port: server?.port ?? 5432, user: "switchyard", database: name)
    }

    /// A store on this database; for PostgreSQL with a cache file in the directory.
    func open(cache: Bool = true) async throws -> any ConfigStore {
        switch kind {
        case .sqlite: return try SQLiteStore(path: path)
        case .postgres:
            return try await PostgresStore.open(location, cache: cache ? ConfigCache(path: cachePath) : nil,
                                                logger: Self.logger)
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "switchyard.store.test")
        logger.logLevel = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }
}

/// Closes a store that holds connections.
func closeStore(_ store: any ConfigStore) async {
    if let store = store as? PostgresStore { await store.close() }
}
