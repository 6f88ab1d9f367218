import Config
import Foundation
import Gateway
import NIOSSL
import Proxy
import Testing
import TestSupport

/// `proxy_listen … ssl`: the proxy terminates TLS from clients with `ssl_cert`/`ssl_cert_key`, routes those
/// requests as `https` (so https-only routes match) and tells the upstream with `X-Forwarded-Proto: https`.
/// Uses the test-only certificate in Tests/AdminTests/Fixtures.
@Suite("Proxy TLS listener", .timeLimit(.minutes(1)))
struct ProxyTLSListenerTests {
    static let certificate = UpstreamTLSTests.certificate
    static let key = UpstreamTLSTests.key

    static func settings(_ extra: [String: String]) throws -> NodeSettings {
        var values = ["proxy_listen": "127.0.0.1:0, 127.0.0.1:0 ssl", "dns_servers": "127.0.0.1:9", "workers": "1"]
        values.merge(extra) { _, new in new }
        return try NodeSettings.load(fileText: nil, environment: [:],
                                     commandLine: SettingsLayer(source: "test", values: values))
    }

    @Test("https requests are terminated, routed as https and forwarded with X-Forwarded-Proto: https")
    func terminatesTLS() async throws {
        let backend = try await TestBackend.start(name: "app")
        defer { Task { await backend.stop() } }
        let node = try GatewayNode(settings: try Self.settings(["ssl_cert": Self.certificate, "ssl_cert_key": Self.key]))
        node.apply(try DeclarativeConfig.parse("""
            _format_version: "3.0"
            services:
              - name: app
                url: http://127.0.0.1:\(backend.port)
                routes: [{name: secure, paths: ["/"], protocols: ["https"]}]
            """).config)
        _ = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        let ports = node.proxy.ports
        try #require(ports.count == 2)

        let trusted = try NIOSSLCertificate.fromPEMFile(Self.certificate)
        let answer = try await TLSProbe.get("/echo", port: ports[1], serverName: "localhost", trust: trusted)
        #expect(answer.status == 200)
        #expect(answer.body.lowercased().contains("x-forwarded-proto: https"), "\(answer.body)")
        #expect(answer.body.lowercased().contains("x-forwarded-port: \(ports[1])"))

        // The same https-only route over the plain listener asks for https.
        let client = try TestClient(port: ports[0])
        try client.send("GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(try client.readResponse().status == 426)

        // Plain HTTP to the TLS listener gets no HTTP answer, and nothing reaches the backend.
        let before = backend.requestCount
        let reply = try await TLSProbe.plain("GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                                             port: ports[1])
        #expect(!reply.hasPrefix("HTTP/"))
        #expect(backend.requestCount == before)
    }

    @Test("reloadCertificates rotates the certificate for new connections; a bad file changes nothing")
    func rotatesCertificates() async throws {
        let files = try CertificateFiles()
        defer { files.remove() }
        let (certificate, key) = (files.certificate, files.key)
        let other = CertificateFiles.second
        try files.install(Self.certificate, Self.key)

        let backend = try await TestBackend.start(name: "app")
        defer { Task { await backend.stop() } }
        let node = try GatewayNode(settings: try Self.settings(["ssl_cert": certificate, "ssl_cert_key": key]))
        node.apply(try DeclarativeConfig.parse("""
            _format_version: "3.0"
            services: [{name: app, url: "http://127.0.0.1:\(backend.port)", routes: [{name: all, paths: ["/"]}]}]
            """).config)
        _ = try await node.start()
        defer { Task { await node.shutdown(grace: .milliseconds(100)) } }
        let port = node.proxy.ports[1]
        let first = try NIOSSLCertificate.fromPEMFile(Self.certificate)
        let second = try NIOSSLCertificate.fromPEMFile(other.certificate)
        #expect(try await TLSProbe.get("/hello", port: port, serverName: "localhost", trust: first).status == 200)

        // Rotation: the new certificate serves new connections; the old one is no longer presented.
        try files.install(other.certificate, other.key)
        try node.reloadCertificates()
        #expect(try await TLSProbe.get("/hello", port: port, serverName: "localhost", trust: second).status == 200)
        await #expect(throws: (any Error).self) {
            _ = try await TLSProbe.get("/hello", port: port, serverName: "localhost", trust: first)
        }

        // A key that does not belong to the certificate is refused, and the running certificate stays.
        try files.install(Self.certificate, other.key)
        #expect(throws: GatewayError.self) { try node.reloadCertificates() }
        #expect(try await TLSProbe.get("/hello", port: port, serverName: "localhost", trust: second).status == 200)
    }

    @Test("a missing certificate or key stops the node, naming ssl_cert or ssl_cert_key")
    func badFiles() throws {
        let missing = "/nonexistent/proxy.crt"
        #expect {
            _ = try GatewayNode(settings: try Self.settings(["ssl_cert": missing, "ssl_cert_key": Self.key]))
        } throws: { error in
            "\(error)".contains("ssl_cert: \(missing)")
        }
        let wrongKey = UpstreamTLSTests.fixtures.appendingPathComponent("other-test.key").path
        #expect {
            _ = try GatewayNode(settings: try Self.settings(["ssl_cert": Self.certificate, "ssl_cert_key": wrongKey]))
        } throws: { error in
            "\(error)".contains("ssl_cert_key: the key in \(wrongKey) does not match")
        }
    }

    @Test("a client that opens a TLS connection and never finishes the handshake is closed by the header read timeout")
    func stalledHandshakeIsClosed() async throws {
        let certificate = try NIOSSLCertificate.fromPEMFile(Self.certificate)
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: certificate.map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: Self.key, format: .pem))))
        var limits = ProxyLimits()
        limits.headerReadTimeout = .milliseconds(300)
        let service = ProxyService(name: "none", selector: RoundRobinSelector(addresses: []))
        let server = ProxyServer(
            settings: .init(listeners: [.init(host: "127.0.0.1", port: 0, tls: ListenerTLS(context))], workers: 1),
            configuration: ProxyConfiguration(router: StaticRouter(service: service), limits: limits))
        let port = try await server.start()
        defer { Task { try? await server.stop(grace: .milliseconds(100)) } }

        // Silent after connecting, and after half a ClientHello: both are closed, well before the 60 s idle timeout.
        for opening in ["", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}"] {
            let client = try TestClient(port: port, timeoutSeconds: 5)
            let started = ContinuousClock.now
            if !opening.isEmpty { try client.send(opening) }
            #expect(client.waitForClose())
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(3), "closed after \(elapsed)")
        }
    }
}
