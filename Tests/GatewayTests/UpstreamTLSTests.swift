import Config
import Foundation
import Gateway
import NIOSSL
import Testing
import TestSupport

/// `protocol: https` services: the proxy speaks TLS to the upstream, verifies its certificate when the service
/// says `tls_verify: true`, and sends the upstream Host as SNI and as the name the certificate must carry.
/// The backend uses the test-only certificate in Tests/AdminTests/Fixtures (localhost, 127.0.0.1, ::1).
@Suite("Upstream TLS", .timeLimit(.minutes(1)))
struct UpstreamTLSTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("AdminTests/Fixtures")
    static let certificate = fixtures.appendingPathComponent("admin-test.crt").path
    static let key = fixtures.appendingPathComponent("admin-test.key").path

    static func tlsBackend(_ name: String, host: String = "127.0.0.1") async throws -> TestBackend {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        return try await TestBackend.start(name: name, tls: try NIOSSLContext(configuration: configuration), host: host)
    }

    /// `otherPort`: the same certificate served on 127.0.0.2, an address the certificate does not name (a
    /// certificate naming the connected IP passes verification whatever the server name, so the name check
    /// needs another address).
    static func yaml(port: Int, otherPort: Int) -> String {
        """
        _format_version: "3.0"
        upstreams:
          - name: named.upstream
            host_header: localhost
            targets: [{target: "127.0.0.1:\(port)"}]
          - name: wrong.upstream
            host_header: wrong-name.test
            targets: [{target: "127.0.0.2:\(otherPort)"}]
        services:
          - name: unverified
            url: https://127.0.0.1:\(port)
            routes: [{name: unverified, paths: ["/unverified"]}]
          - name: verified
            protocol: https
            host: named.upstream
            tls_verify: true
            retries: 0
            routes: [{name: verified, paths: ["/verified"]}]
          - name: mismatch
            protocol: https
            host: wrong.upstream
            tls_verify: true
            retries: 0
            routes: [{name: mismatch, paths: ["/mismatch"]}]
          - name: plain
            url: http://127.0.0.1:\(port)
            retries: 0
            routes: [{name: plain, paths: ["/plain"]}]
        """
    }

    static func start(_ config: String, trusted: String?) async throws -> (GatewayNode, Int) {
        var values = ["proxy_listen": "127.0.0.1:0", "dns_servers": "127.0.0.1:9", "workers": "1"]
        if let trusted { values["upstream_tls_trusted_certificate"] = trusted }
        let settings = try NodeSettings.load(fileText: nil, environment: [:],
                                             commandLine: SettingsLayer(source: "test", values: values))
        let node = try GatewayNode(settings: settings)
        node.apply(try DeclarativeConfig.parse(config).config)
        return (node, try await node.start())
    }

    static func get(_ port: Int, _ path: String) throws -> TestResponse {
        let client = try TestClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n\r\n")
        return try client.readResponse()
    }

    @Test("https services relay over TLS; tls_verify checks the chain and the name")
    func relaysOverTLS() async throws {
        let backend = try await Self.tlsBackend("secure")
        let other = try await Self.tlsBackend("other", host: "127.0.0.2")
        defer { Task { await backend.stop(); await other.stop() } }
        let (node, port) = try await Self.start(Self.yaml(port: backend.port, otherPort: other.port),
                                                trusted: Self.certificate)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }

        // Unverified (Kong's default): the self-signed certificate is accepted.
        let unverified = try Self.get(port, "/unverified/hello")
        #expect(unverified.status == 200)
        #expect(unverified.text == "hello from secure")
        // Verified against the configured trust file, by the name the upstream's host_header gives.
        let verified = try Self.get(port, "/verified/hello")
        #expect(verified.status == 200)
        #expect(verified.text == "hello from secure")
        // A name the certificate does not carry fails the handshake: 502, nothing relayed.
        let mismatch = try Self.get(port, "/mismatch/hello")
        #expect(mismatch.status == 502)
        #expect(mismatch.text.contains("upstream TLS handshake failed"))
        #expect(other.requestCount == 0)
        // Plain HTTP to a TLS-only backend is an invalid response, not a hang.
        #expect(try Self.get(port, "/plain/hello").status == 502)

        // Keep-alive works over TLS: sequential requests on one client reuse one upstream connection.
        let before = backend.connectionCount
        let client = try TestClient(port: port)
        for _ in 0..<5 {
            try client.send("GET /verified/hello HTTP/1.1\r\nHost: gateway.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
        }
        #expect(backend.connectionCount - before <= 1)
    }

    @Test("without the trust file, tls_verify rejects a self-signed upstream")
    func systemRootsRejectSelfSigned() async throws {
        let backend = try await Self.tlsBackend("secure")
        defer { Task { await backend.stop() } }
        let (node, port) = try await Self.start(Self.yaml(port: backend.port, otherPort: 9), trusted: nil)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }

        #expect(try Self.get(port, "/verified/hello").status == 502)
        #expect(try Self.get(port, "/unverified/hello").status == 200)
    }

    @Test("an unreadable trust file stops the node with a message naming the setting")
    func badTrustFile() throws {
        let settings = try NodeSettings.load(fileText: nil, environment: [:], commandLine: SettingsLayer(
            source: "test", values: ["upstream_tls_trusted_certificate": "/nonexistent/ca.pem"]))
        #expect {
            _ = try GatewayNode(settings: settings)
        } throws: { error in
            "\(error)".contains("upstream_tls_trusted_certificate") && "\(error)".contains("/nonexistent/ca.pem")
        }
    }
}

/// Active `https` probes: TLS to each address, verified unless `https_verify_certificate: false`.
@Suite("Upstream TLS probes", .timeLimit(.minutes(1)))
struct UpstreamTLSProbeTests {
    static func yaml(port: Int, verify: Bool) -> String {
        """
        _format_version: "3.0"
        upstreams:
          - name: probed.upstream
            host_header: localhost
            healthchecks:
              active:
                type: https
                http_path: /hello
                https_verify_certificate: \(verify)
                timeout: 1
                healthy: {interval: 0.2, successes: 1}
                unhealthy: {interval: 0.2, tcp_failures: 1, timeouts: 1, http_failures: 1}
            targets: [{target: "127.0.0.1:\(port)"}]
        services:
          - name: probed
            protocol: https
            host: probed.upstream
            routes: [{name: probed, paths: ["/"]}]
        """
    }


    @Test("https probes reach the backend over TLS, verified against the trust file by name")
    func verifiedProbes() async throws {
        let backend = try await UpstreamTLSTests.tlsBackend("probed")
        defer { Task { await backend.stop() } }
        let (node, _) = try await UpstreamTLSTests.start(Self.yaml(port: backend.port, verify: true),
                                                         trusted: UpstreamTLSTests.certificate)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        // No client traffic at all: every request the backend sees is a probe.
        #expect(await waitFor(.seconds(3), every: .milliseconds(50)) { backend.requestCount >= 2 } != nil)
    }

    @Test("a probe that cannot verify the certificate sends no request")
    func unverifiableProbes() async throws {
        let backend = try await UpstreamTLSTests.tlsBackend("probed")
        defer { Task { await backend.stop() } }
        let (node, _) = try await UpstreamTLSTests.start(Self.yaml(port: backend.port, verify: true), trusted: nil)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        #expect(await waitFor(.seconds(3), every: .milliseconds(50)) { backend.connectionCount >= 2 } != nil)
        #expect(backend.requestCount == 0, "the handshake fails before any request")
    }

    @Test("https_verify_certificate: false probes a self-signed backend")
    func unverifiedProbes() async throws {
        let backend = try await UpstreamTLSTests.tlsBackend("probed")
        defer { Task { await backend.stop() } }
        let (node, _) = try await UpstreamTLSTests.start(Self.yaml(port: backend.port, verify: false), trusted: nil)
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        #expect(await waitFor(.seconds(3), every: .milliseconds(50)) { backend.requestCount >= 2 } != nil)
    }
}
