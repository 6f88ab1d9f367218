import Admin
import Config
import DNSWire
import Foundation
import Hummingbird
import Logging
import TestSupport
import HummingbirdTesting
import NIOCore
import Store
import Testing
import Synchronization

/// An Admin API over a store of its own, with a record of every configuration handed to the node. The store
/// is a SQLite file, or with `SWITCHYARD_TEST_STORE=postgres` a database of its own in a PostgreSQL server that
/// the test process starts: the whole Admin suite runs on either (`scripts/test` runs it on both).
final class AdminHarness: Sendable {
    let directory: URL
    let store: any ConfigStore
    let applied = AppliedConfigs()
    private let database: (server: PostgresServer, name: String)?

    private init(directory: URL, store: any ConfigStore, database: (server: PostgresServer, name: String)?) {
        self.directory = directory
        self.store = store
        self.database = database
    }

    static func make() async throws -> AdminHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard ProcessInfo.processInfo.environment["SWITCHYARD_TEST_STORE"] == "postgres" else {
            let store = try SQLiteStore(path: directory.appendingPathComponent("admin.db").path)
            return AdminHarness(directory: directory, store: store, database: nil)
        }
        let server = try PostgresServer.shared()
        let name = "admin_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try server.createDatabase(name)
        let location = PostgresLocation(host: server.host, port: server.port, user: server.user, database: name)
        _ = try await PostgresStore.migrate(location)
        var logger = Logger(label: "switchyard.store.test")
        logger.logLevel = .critical
        let store = try await PostgresStore.open(location, cache: ConfigCache(path: directory.appendingPathComponent("cache.json").path),
                                                 logger: logger)
        return AdminHarness(directory: directory, store: store, database: (server, name))
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
        if let store = store as? PostgresStore, let database {
            Task {
                await store.close()
                try? database.server.dropDatabase(database.name)
            }
        }
    }

    func api(runtime: AdminRuntime = AdminRuntime(), requireToken: Bool = false, allow: [IPNetwork] = []) -> AdminAPI {
        let applied = self.applied
        return AdminAPI(store: store, runtime: runtime, requireToken: requireToken, allow: allow) { applied.append($0.config) }
    }

    /// Runs `body` against the router in process.
    func test(runtime: AdminRuntime = AdminRuntime(), requireToken: Bool = false, allow: [IPNetwork] = [],
              live: Bool = false, _ body: @Sendable (Client) async throws -> Void) async throws {
        let app = Application(router: api(runtime: runtime, requireToken: requireToken, allow: allow).router(),
                              configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(live ? .live : .router) { client in try await body(Client(client: client)) }
    }

    struct Client: Sendable {
        let client: any TestClientProtocol

        struct Answer {
            let status: HTTPResponse.Status
            let text: String
            var headers: HTTPFields = [:]
            var json: [String: Any] {
                (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            }
            var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
            var fields: [String: Any] { json["fields"] as? [String: Any] ?? [:] }
        }

        @discardableResult
        func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                  token: String? = nil, authorization: String? = nil) async throws -> Answer {
            var headers: HTTPFields = [:]
            if body != nil { headers[.contentType] = "application/json" }
            if let token { headers[.authorization] = "Bearer \(token)" }
            if let authorization { headers[.authorization] = authorization }
            let response = try await client.execute(uri: uri, method: method, headers: headers,
                                                    body: body.map { ByteBuffer(string: $0) })
            return Answer(status: response.status, text: String(buffer: response.body), headers: response.headers)
        }
    }
}

/// Configurations the Admin API handed to the node, in order.
final class AppliedConfigs: Sendable {
    private let items = Mutex<[DeclarativeConfig]>([])
    func append(_ config: DeclarativeConfig) { items.withLock { $0.append(config) } }
    var all: [DeclarativeConfig] { items.withLock { $0 } }
}
