import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The Admin API listening on a socket, stopped gracefully: `stop` lets requests in progress finish.
public final class AdminServer: Sendable {
    /// The bound port (the one asked for, or the one the system chose for port 0).
    public let port: Int
    /// The listener's TLS context when it serves HTTPS (`reloadCertificate` replaces it).
    private let tls: AdminTLSContext?
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    private init(port: Int, tls: AdminTLSContext?, group: ServiceGroup, task: Task<Void, Never>) {
        self.port = port
        self.tls = tls
        self.group = group
        self.task = task
    }

    /// Serves `tls` to new connections (certificate rotation, on SIGHUP); connections already open keep the
    /// certificate they were accepted with. Does nothing for a plain-HTTP listener.
    public func reloadCertificate(_ tls: AdminTLS) throws(AdminServerError) {
        try self.tls?.replace(with: tls)
    }

    /// Starts serving `api` on `host:port`, over HTTPS when `tls` is given, and returns once the socket is bound.
    public static func start(_ api: AdminAPI, host: String, port: Int, tls: AdminTLS? = nil,
                             logger: Logger = Logger(label: "switchyard.admin")) async throws(AdminServerError) -> AdminServer {
        let (bound, continuation) = AsyncStream<Int>.makeStream()
        let context = try tls.map { tls throws(AdminServerError) in try AdminTLSContext(tls) }
        let app = api.application(host: host, port: port, tls: context) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        let failure = FailureBox()
        let task = Task {
            do {
                try await group.run()
            } catch {
                failure.set("\(error)")
                logger.error("admin API stopped", metadata: ["error": "\(error)"])
            }
            continuation.finish()
        }
        var boundPort: Int?
        for await value in bound {
            boundPort = value
            break
        }
        guard let boundPort else {
            task.cancel()
            await task.value
            throw AdminServerError(message: "admin API cannot listen on \(host):\(port): \(failure.get() ?? "server stopped")")
        }
        return AdminServer(port: boundPort, tls: context, group: group, task: task)
    }

    /// Stops accepting connections, lets requests in progress finish, and returns when the server is down.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }
}

/// The Admin API could not start.
public struct AdminServerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Carries a startup failure out of the server task.
private final class FailureBox: Sendable {
    private let value = Mutex<String?>(nil)
    func set(_ text: String) { value.withLock { $0 = text } }
    func get() -> String? { value.withLock { $0 } }
}
