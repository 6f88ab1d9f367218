import Admin
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
import TestSupport

/// The Admin API over TLS, with the test-only certificate in Fixtures/ (see Fixtures/README.md).
@Suite struct AdminTLSTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let certificate = fixtures.appendingPathComponent("admin-test.crt").path
    static let key = fixtures.appendingPathComponent("admin-test.key").path
    static let otherKey = fixtures.appendingPathComponent("other-test.key").path
    static let otherCertificate = fixtures.appendingPathComponent("other-test.crt").path

    @Test func statusOverVerifiedTLS() async throws {
        let harness = try await AdminHarness.make()
        let tls = try AdminTLS.load(certificatePath: Self.certificate, keyPath: Self.key)
        let server = try await AdminServer.start(harness.api(), host: "127.0.0.1", port: 0, tls: tls)
        let trusted = try NIOSSLCertificate.fromPEMFile(Self.certificate)
        for name in ["localhost", "127.0.0.1"] {
            let answer = try await TLSProbe.get("/status", port: server.port, serverName: name, trust: trusted)
            #expect(answer.status == 200, "\(name)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            #expect(json["node_id"] as? String == "local")
        }
        // NIOSSL accepts a certificate when any of its names matches, the peer's address included, so the name
        // check runs against a server on 127.0.0.2, an address the certificate does not list.
        let other = try await AdminServer.start(harness.api(), host: "127.0.0.2", port: 0, tls: tls)
        let named = try await TLSProbe.get("/status", host: "127.0.0.2", port: other.port, serverName: "localhost",
                                           trust: trusted)
        #expect(named.status == 200)
        let wrongName = await #expect(throws: NIOSSLExtraError.self) {
            _ = try await TLSProbe.get("/status", host: "127.0.0.2", port: other.port,
                                       serverName: "admin.example.com", trust: trusted)
        }
        #expect(wrongName == .failedToValidateHostname)
        await other.stop()
        // Nor does a client that does not trust the self-signed certificate accept it.
        let untrusted = await #expect(throws: NIOSSLError.self) {
            _ = try await TLSProbe.get("/status", port: server.port, serverName: "localhost", trust: [])
        }
        #expect("\(String(describing: untrusted))".contains("CERTIFICATE_VERIFY_FAILED"))
        await server.stop()
    }

    @Test func reloadCertificateRotatesItForNewConnections() async throws {
        let harness = try await AdminHarness.make()
        let first = try AdminTLS.load(certificatePath: Self.certificate, keyPath: Self.key)
        let server = try await AdminServer.start(harness.api(), host: "127.0.0.1", port: 0, tls: first)
        let firstTrust = try NIOSSLCertificate.fromPEMFile(Self.certificate)
        let secondTrust = try NIOSSLCertificate.fromPEMFile(Self.otherCertificate)
        #expect(try await TLSProbe.get("/status", port: server.port, serverName: "localhost", trust: firstTrust).status == 200)

        try server.reloadCertificate(try AdminTLS.load(certificatePath: Self.otherCertificate, keyPath: Self.otherKey))
        #expect(try await TLSProbe.get("/status", port: server.port, serverName: "localhost", trust: secondTrust).status == 200)
        await #expect(throws: NIOSSLError.self) {
            _ = try await TLSProbe.get("/status", port: server.port, serverName: "localhost", trust: firstTrust)
        }
        await server.stop()
    }

    @Test func plainHTTPToTheTLSPortGetsNoAnswer() async throws {
        let harness = try await AdminHarness.make()
        let tls = try AdminTLS.load(certificatePath: Self.certificate, keyPath: Self.key)
        let server = try await AdminServer.start(harness.api(), host: "127.0.0.1", port: 0, tls: tls)
        let reply = try await TLSProbe.plain("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                                              port: server.port)
        #expect(!reply.hasPrefix("HTTP/"), "\(reply.prefix(64))")
        #expect(!reply.contains("node_id"))
        await server.stop()
    }

    @Test func missingFilesNameTheSettingAndPath() {
        let missing = "/nonexistent/switchyard-admin.crt"
        expectRefusal(certificate: missing, key: Self.key, fragments: ["admin_ssl_cert:", missing, "does not exist"])
        let missingKey = "/nonexistent/switchyard-admin.key"
        expectRefusal(certificate: Self.certificate, key: missingKey,
                      fragments: ["admin_ssl_cert_key:", missingKey, "does not exist"])
        expectRefusal(certificate: Self.fixtures.path, key: Self.key,
                      fragments: ["admin_ssl_cert:", Self.fixtures.path, "directory"])
    }

    /// Skipped as root, who reads any file whatever its permissions.
    @Test(.enabled(if: getuid() != 0, "root reads any file"))
    func unreadableFileIsNamed() throws {
        let directory = try TemporaryFiles()
        let path = try directory.write("locked.crt", String(contentsOfFile: Self.certificate, encoding: .utf8))
        chmod(path, 0)
        expectRefusal(certificate: path, key: Self.key, fragments: ["admin_ssl_cert:", path, "cannot read"])
    }

    @Test func badPEMIsNamed() throws {
        let directory = try TemporaryFiles()
        let garbage = try directory.write("garbage.pem", "this is not a certificate\n")
        expectRefusal(certificate: garbage, key: Self.key, fragments: ["admin_ssl_cert:", garbage, "no PEM certificate"])
        // A key where the certificate belongs, and the certificate where the key belongs.
        expectRefusal(certificate: Self.key, key: Self.key, fragments: ["admin_ssl_cert:", Self.key, "no PEM certificate"])
        expectRefusal(certificate: Self.certificate, key: Self.certificate,
                      fragments: ["admin_ssl_cert_key:", Self.certificate, "not an unencrypted PEM private key"])
        let truncated = try directory.write("truncated.key",
                                            String(try String(contentsOfFile: Self.key, encoding: .utf8).prefix(80)))
        expectRefusal(certificate: Self.certificate, key: truncated,
                      fragments: ["admin_ssl_cert_key:", truncated, "not an unencrypted PEM private key"])
    }

    @Test func keyNotMatchingTheCertificateIsNamed() {
        expectRefusal(certificate: Self.certificate, key: Self.otherKey,
                      fragments: ["admin_ssl_cert_key:", Self.otherKey, "does not match", Self.certificate])
    }

    private func expectRefusal(certificate: String, key: String, fragments: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try AdminTLS.load(certificatePath: certificate, keyPath: key)
            Issue.record("loaded \(certificate) with \(key)", sourceLocation: sourceLocation)
        } catch {
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// Files in a temporary directory removed with it.
final class TemporaryFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }
}
