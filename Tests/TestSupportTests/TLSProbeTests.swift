import Foundation
import NIOSSL
import Testing
import TestSupport

/// The verifying TLS client the TLS suites assert through: it must reach an HTTPS server it trusts, and fail
/// (with the TLS error, not a bare close) against one it does not trust or that names another host.
@Suite("TLSProbe verifies what it connects to", .timeLimit(.minutes(1)))
struct TLSProbeTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AdminTests/Fixtures")

    static func server() async throws -> (TestBackend, [NIOSSLCertificate]) {
        let chain = try NIOSSLCertificate.fromPEMFile(fixtures.appendingPathComponent("admin-test.crt").path)
        let key = try NIOSSLPrivateKey(file: fixtures.appendingPathComponent("admin-test.key").path, format: .pem)
        let context = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        return (try await TestBackend.start(name: "tls", tls: context), chain)
    }

    @Test func getsAnAnswerFromATrustedServerAndRefusesAnUntrustedOne() async throws {
        let (backend, trusted) = try await Self.server()
        defer { Task { await backend.stop() } }
        let answer = try await TLSProbe.get("/hello", port: backend.port, serverName: "localhost", trust: trusted)
        #expect(answer.status == 200)
        #expect(answer.body == "hello from tls")
        let untrusted = await #expect(throws: NIOSSLError.self) {
            _ = try await TLSProbe.get("/hello", port: backend.port, serverName: "localhost", trust: [])
        }
        #expect("\(String(describing: untrusted))".contains("CERTIFICATE_VERIFY_FAILED"))
    }

    @Test func plainTextToATLSPortGetsNoHTTPAnswer() async throws {
        let (backend, _) = try await Self.server()
        defer { Task { await backend.stop() } }
        let reply = try await TLSProbe.plain("GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                                             port: backend.port)
        #expect(!reply.hasPrefix("HTTP/"))
        #expect(backend.requestCount == 0)
    }
}
