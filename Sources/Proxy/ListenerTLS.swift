import NIOConcurrencyHelpers
import NIOSSL

/// The server TLS context of `ssl` proxy listeners, replaceable while the node runs: each accepted connection
/// takes the context current at that moment, so a rotated certificate applies to new connections and
/// connections already open keep theirs.
public final class ListenerTLS: Sendable {
    private let box: NIOLockedValueBox<NIOSSLContext>

    public init(_ context: NIOSSLContext) {
        box = NIOLockedValueBox(context)
    }

    /// Read once per accepted connection (not per request).
    public var current: NIOSSLContext { box.withLockedValue { $0 } }

    public func replace(with context: NIOSSLContext) {
        box.withLockedValue { $0 = context }
    }
}
