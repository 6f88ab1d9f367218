import Config
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// One connection to the cluster's PostgreSQL, opened when first needed and again after it broke. Every use
/// has a deadline: a server that hangs closes the connection and fails the use, so an Admin API write answers
/// 503 instead of waiting for ever. Uses are serialized by the caller (`PostgresStore`'s lock).
final class PostgresLink: Sendable {
    let location: PostgresLocation
    let timeout: Duration
    private let logger: Logger
    private let connection = Mutex<PostgresConnection?>(nil)
    private let nextID = Atomic<Int>(1)

    init(location: PostgresLocation, timeout: Duration = .seconds(5), logger: Logger) {
        self.location = location
        self.timeout = timeout
        self.logger = logger
    }

    /// Runs `body` on the open connection (connecting first if needed). A failure of the connection itself
    /// throws `StoreError(.unavailable)` and drops it; an error the server answered (SQL) throws `.io`; errors of
    /// `body`'s own pass through.
    ///
    /// `retryOnFreshConnection` runs `body` once more on a new connection when a connection kept from before
    /// turns out to be dead (as after a server restart) and `retryable()` still holds: always for reads; for a
    /// write, only while its COMMIT was not sent (a write whose COMMIT failed may have committed).
    func use<T>(retryOnFreshConnection: Bool = false, retryable: () -> Bool = { true },
                _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let (open, reused) = try await connected()
        do {
            return try await use(open, body)
        } catch let error as StoreError where error.code == .unavailable && reused && retryOnFreshConnection && retryable() {
            return try await use(try await connected().connection, body)
        }
    }

    private func use<T>(_ open: PostgresConnection, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let deadline = Task { [timeout] in
            try await Task.sleep(for: timeout)
            open.close().whenComplete { _ in }
        }
        defer { deadline.cancel() }
        do {
            return try await body(open)
        } catch let error as PSQLError {
            if error.code == .server, !open.isClosed {
                throw StoreError(.io, "PostgreSQL at \(location) refused: \(Self.describe(error))", underlying: error)
            }
            drop(open)
            throw StoreError(.unavailable, "PostgreSQL at \(location) is unreachable: \(Self.describe(error))", underlying: error)
        } catch {
            if open.isClosed { drop(open) }
            throw error
        }
    }

    /// Opens a connection of its own (for LISTEN, which holds one for as long as it listens).
    func openDedicated() async throws(StoreError) -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: try Self.configuration(location),
                                                        id: nextID.add(1, ordering: .relaxed).newValue,
                                                        logger: logger)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.unavailable, "cannot reach PostgreSQL at \(location): \(Self.describe(error))", underlying: error)
        }
    }

    /// Closes the connection without waiting for the close to complete (a terminated connection may never say).
    func close() async {
        let open = connection.withLock { current in
            defer { current = nil }
            return current
        }
        open?.close().whenComplete { _ in }
    }

    private func connected() async throws(StoreError) -> (connection: PostgresConnection, reused: Bool) {
        if let open = connection.withLock({ $0 }), !open.isClosed { return (open, true) }
        let open = try await openDedicated()
        connection.withLock { $0 = open }
        return (open, false)
    }

    private func drop(_ broken: PostgresConnection) {
        connection.withLock { if $0 === broken { $0 = nil } }
        broken.close().whenComplete { _ in }
    }

    static func configuration(_ location: PostgresLocation) throws(StoreError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        if location.ssl {
            var settings = TLSConfiguration.makeClientConfiguration()
            if !location.sslVerify { settings.certificateVerification = .none }
            do {
                tls = .require(try NIOSSLContext(configuration: settings))
            } catch {
                throw StoreError(.unavailable, "cannot set up TLS to PostgreSQL at \(location): \(error)", underlying: error)
            }
        } else {
            tls = .disable
        }
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port,
                                                             username: location.user, password: location.password,
                                                             database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    /// A PostgreSQL error in an operator's words: the server's message, or what broke the connection.
    static func describe(_ error: any Error) -> String {
        if let error = error as? StoreError { return error.message }
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return describe(underlying) }
        return "\(error.code)"
    }
}
