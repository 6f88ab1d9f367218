import Config
import DNSWire
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Store

/// The Admin API: Kong's entity paths over the configuration store, the balancer's live state, and the node's
/// status. Every write commits to the store first and then hands the committed snapshot to `onChange`, which the
/// node's one applier puts in force (it orders snapshots by generation, so two writes that commit close together
/// cannot reach the proxy out of order, whichever listener took them).
public struct AdminAPI: Sendable {
    public let store: any ConfigStore
    public let runtime: AdminRuntime
    /// Require a token on every request even when none is stored (set for non-loopback listeners).
    public let requireToken: Bool
    /// Client address blocks allowed in; empty allows every client.
    public let allow: [IPNetwork]
    let onChange: @Sendable (StoreSnapshot) -> Void
    let hashes = ConfigHashCache()
    let logger: Logger
    let started: ContinuousClock.Instant
    let startedAt: Date
    var editor = EntityEditor()

    public init(store: any ConfigStore, runtime: AdminRuntime = AdminRuntime(), requireToken: Bool = false,
                allow: [IPNetwork] = [], logger: Logger = Logger(label: "switchyard.admin"),
                onChange: @escaping @Sendable (StoreSnapshot) -> Void) {
        self.store = store
        self.allow = allow
        self.runtime = runtime
        self.requireToken = requireToken
        self.logger = logger
        self.onChange = onChange
        self.started = .now
        self.startedAt = Date()
    }

    /// Ids for entities created without one; tests inject a deterministic source.
    public func withNewIDs(_ newID: @escaping @Sendable () -> UUID) -> AdminAPI {
        var copy = self
        copy.editor.newID = newID
        return copy
    }

    /// The router with every Admin API route, for an `Application` or Hummingbird's test client.
    public func router() -> Router<AdminRequestContext> {
        let router = Router(context: AdminRequestContext.self)
        if !allow.isEmpty { router.add(middleware: AdminAllowMiddleware(allow: allow, logger: logger)) }
        router.add(middleware: AdminAuthMiddleware<AdminRequestContext>(store: store, alwaysRequired: requireToken,
                                                                         logger: logger))
        addNodeRoutes(router)
        addMetricsRoute(router)
        addDashboardRoutes(router)
        addConfigRoutes(router)
        addEntityRoutes(router)
        addHealthRoutes(router)
        addClusteringRoutes(router)
        return router
    }

    /// An application serving the API on `host:port`, over TLS when `tls` is given; `onRunning` receives the
    /// bound port.
    public func application(host: String, port: Int, tls: AdminTLSContext? = nil,
                            onRunning: @escaping @Sendable (Int) -> Void = { _ in }) -> some ApplicationProtocol {
        let server: HTTPServerBuilder = tls.map { .http1(tls: $0) } ?? .http1()
        return Application(router: router(), server: server,
                           configuration: ApplicationConfiguration(address: .hostname(host, port: port),
                                                                   serverName: "switchyard-admin"),
                           onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    // MARK: Writes

    /// Runs a change through the store; on success applies it to the node and answers with `respond`.
    func write(_ change: (DeclarativeConfig) throws(ConfigError) -> DeclarativeConfig,
               respond: (StoreSnapshot) -> Response) async -> Response {
        do {
            let snapshot = try await store.update(change)
            onChange(snapshot)
            return respond(snapshot)
        } catch let error as ConfigError {
            return AdminResponse.invalid(error)
        } catch let error as StoreError where error.code == .unavailable {
            // Reads go on from memory and the proxy goes on serving; only writes need the database.
            logger.warning("admin write refused: database unreachable", metadata: ["error": "\(error.message)"])
            return AdminResponse.json(.object([
                "name": .string("database unavailable"),
                "message": .string("the database is unreachable, so nothing was written; reads and proxying go on from the last configuration: \(error.message)"),
            ]), status: .serviceUnavailable)
        } catch {
            logger.error("admin write failed", metadata: ["error": "\(error)"])
            return AdminResponse.message("datastore error: \(error)", status: .internalServerError)
        }
    }

    /// The request body as a JSON object (an empty body is an empty object).
    static func body(_ request: Request) async -> BodyResult {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 1 << 20) else {
            return .failure(AdminResponse.message("request body too large (1 MiB at most)", status: .contentTooLarge))
        }
        let text = String(buffer: buffer)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .success([:]) }
        guard let value = RawValue.parse(json: text) else {
            return .failure(AdminResponse.json(.object([
                "name": .string("invalid body"), "message": .string("body is not valid JSON"),
                "fields": .object(["@body": .string("expected a JSON object")]),
            ]), status: .badRequest))
        }
        guard let object = value.object else {
            return .failure(AdminResponse.json(.object([
                "name": .string("invalid body"), "message": .string("body must be a JSON object"),
                "fields": .object(["@body": .string("expected a JSON object")]),
            ]), status: .badRequest))
        }
        return .success(object)
    }
}

/// A request body read as a JSON object, or the answer that refuses it.
enum BodyResult {
    case success([String: RawValue])
    case failure(Response)
}
