import Admin
import Config
import DNSWire
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Store
import Testing
import Synchronization

/// An Admin API over a store in a temporary file, with a record of every configuration handed to the node.
final class AdminHarness: Sendable {
    let directory: URL
    let store: ConfigStore
    let applied = AppliedConfigs()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("admin.db").path)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
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
