import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The Admin API's TLS context, replaceable while it serves: each accepted connection takes the context
/// current at that moment, so a rotated certificate applies to new connections and open ones keep theirs.
public final class AdminTLSContext: Sendable {
    private let context: Mutex<NIOSSLContext>

    /// Builds the context of `tls` (its certificate and key were checked by `AdminTLS.load`).
    public init(_ tls: AdminTLS) throws(AdminServerError) {
        context = Mutex(try Self.makeContext(tls))
    }

    var current: NIOSSLContext { context.withLock { $0 } }

    /// Serves `tls` to connections accepted from now on.
    public func replace(with tls: AdminTLS) throws(AdminServerError) {
        let fresh = try Self.makeContext(tls)
        context.withLock { $0 = fresh }
    }

    private static func makeContext(_ tls: AdminTLS) throws(AdminServerError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: tls.configuration)
        } catch {
            throw AdminServerError(message: "admin API cannot set up TLS: \(error)")
        }
    }
}

/// Hummingbird's HTTP/1 child channel behind a TLS handler whose context is read from `AdminTLSContext` per
/// connection (HummingbirdTLS's own channel fixes its context when the server is built).
struct RotatingTLSChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let tls: AdminTLSContext

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 over TLS with a context that can be replaced while serving.
    static func http1(tls: AdminTLSContext) -> HTTPServerBuilder {
        .init { responder in
            RotatingTLSChannel(base: HTTP1Channel(responder: responder), tls: tls)
        }
    }
}
