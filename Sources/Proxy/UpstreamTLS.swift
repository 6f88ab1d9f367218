import Balancer
import NIOCore
import NIOSSL

/// How the proxy speaks TLS to a service's upstream addresses (`protocol: https`): a client context (trust
/// roots, whether certificates are verified) and the server name sent as SNI and checked against the
/// certificate. Connections are pooled per address *and* per `UpstreamTLS` identity, so a connection made
/// for one server name is never reused for another.
public final class UpstreamTLS: Sendable {
    public let context: NIOSSLContext
    /// SNI and the name verified against the certificate; nil when the upstream host is an IP address.
    public let serverName: String?
    /// Whether the certificate chain and name are verified (for logs and errors).
    public let verifies: Bool
    let identity: Identity

    /// What makes two TLS settings interchangeable for a pooled connection.
    struct Identity: Hashable {
        let context: ObjectIdentifier
        let serverName: String?
    }

    public init(context: NIOSSLContext, serverName: String?, verifies: Bool) {
        self.context = context
        self.serverName = serverName
        self.verifies = verifies
        self.identity = Identity(context: ObjectIdentifier(context), serverName: serverName)
    }

    /// The client handler for one new connection.
    func makeHandler() throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: serverName)
    }
}

/// An upstream pool's key: the address, and the TLS identity for https services (nil for plain HTTP).
struct PoolKey: Hashable {
    let address: Address
    let tls: UpstreamTLS.Identity?
}
