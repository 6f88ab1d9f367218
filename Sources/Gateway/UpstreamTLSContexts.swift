import Config
import DNSWire
import Foundation
import NIOSSL
import Proxy

/// The node's two TLS client contexts for https services, made once: one that verifies upstream certificates
/// (against `upstream_tls_trusted_certificate`, else the system's roots) and one that does not (Kong's
/// default when a service leaves `tls_verify` unset). Reusing them across reloads keeps pooled connections.
struct UpstreamTLSContexts: Sendable {
    let verifying: NIOSSLContext
    let trusting: NIOSSLContext

    init(trustedCertificate: String?) throws(GatewayError) {
        var verify = TLSConfiguration.makeClientConfiguration()
        verify.certificateVerification = .fullVerification
        if let path = trustedCertificate {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            } catch {
                throw GatewayError("upstream_tls_trusted_certificate: cannot read PEM certificates from \(path): \(error)")
            }
            guard !certificates.isEmpty else {
                throw GatewayError("upstream_tls_trusted_certificate: \(path) holds no PEM certificate")
            }
            verify.trustRoots = .certificates(certificates)
        }
        var trust = TLSConfiguration.makeClientConfiguration()
        trust.certificateVerification = .none
        do {
            verifying = try NIOSSLContext(configuration: verify)
            trusting = try NIOSSLContext(configuration: trust)
        } catch {
            throw GatewayError("cannot set up TLS to upstreams: \(error)")
        }
    }

    /// TLS for one https service: SNI and the verified name are the upstream Host header's host part,
    /// left out when it is an IP address.
    func tls(verify: Bool, hostHeader: String) -> UpstreamTLS {
        let name = UpstreamTLSContexts.hostPart(hostHeader)
        let serverName = name.isEmpty || IPAddress(name) != nil ? nil : name
        return UpstreamTLS(context: verify ? verifying : trusting, serverName: serverName, verifies: verify)
    }

    /// `example.com:8443` → `example.com`; `[::1]:443` → `::1` (Kong's host:port syntax, as targets use it).
    static func hostPart(_ hostHeader: String) -> String {
        guard case .success(let parsed) = Target.parse(hostHeader) else { return hostHeader }
        return parsed.host
    }
}
