import Foundation
import NIOSSL
import Testing
import TestSupport

/// `switchyard start` run as a process: every `admin_listen` address is served, SIGHUP replaces the certificates
/// of the proxy's `ssl` listener and of the Admin API for new connections, and a bad certificate file changes
/// nothing.
@Suite("switchyard start: listeners and SIGHUP certificate reload", .timeLimit(.minutes(1)))
struct CertificateReloadTests {
    /// The switchyard executable built beside the test bundle (`swift build --build-tests` builds both).
    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchyard").path
    }

    static func port(in line: String, after marker: String) -> Int? {
        guard let range = line.range(of: marker) else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("plain and TLS admin listeners both serve; SIGHUP rotates the proxy's and the Admin API's certificates; a broken file keeps the old one")
    func sighupRotatesCertificates() async throws {
        let files = try CertificateFiles()
        defer { files.remove() }
        let (directory, certificate, key) = (files.directory, files.certificate, files.key)
        let (old, new) = (CertificateFiles.first, CertificateFiles.second)
        try files.install(old.certificate, old.key)
        let config = directory.appendingPathComponent("kong.yaml").path
        try "_format_version: \"3.0\"\n".write(toFile: config, atomically: true, encoding: .utf8)

        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHYARD_") }
        environment["SWITCHYARD_PROXY_LISTEN"] = "127.0.0.1:0 ssl"
        environment["SWITCHYARD_SSL_CERT"] = certificate
        environment["SWITCHYARD_SSL_CERT_KEY"] = key
        environment["SWITCHYARD_ADMIN_LISTEN"] = "127.0.0.1:0, 127.0.0.1:0 ssl"
        environment["SWITCHYARD_ADMIN_SSL_CERT"] = certificate
        environment["SWITCHYARD_ADMIN_SSL_CERT_KEY"] = key
        environment["SWITCHYARD_DNS_SERVERS"] = "127.0.0.1:9"
        environment["SWITCHYARD_WORKERS"] = "1"
        environment["SWITCHYARD_LOG_LEVEL"] = "debug"  // a failure below then shows the node's side
        environment["SWITCHYARD_DATABASE"] = directory.appendingPathComponent("switchyard.db").path
        let node = try BackgroundProcess(Self.binary, ["start", "--config", config], environment: environment)
        defer { node.stop() }

        let adminLine = try #require(node.waitForLine(containing: "admin API listening on https"), "\(node.stderr)")
        let plainLine = try #require(node.waitForLine(containing: "admin API listening on http:"), "\(node.stderr)")
        let proxyLine = try #require(node.waitForLine(containing: "proxy listening on"), "\(node.stderr)")
        let adminPort = try #require(Self.port(in: adminLine, after: "https://127.0.0.1:"))
        let plainPort = try #require(Self.port(in: plainLine, after: "http://127.0.0.1:"))
        let plain = try TestClient(port: plainPort)
        try plain.send("GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try plain.readResponse().status == 200)
        let proxyPort = try #require(Self.port(in: proxyLine, after: "https://127.0.0.1:"))
        let first = try NIOSSLCertificate.fromPEMFile(old.certificate)
        let second = try NIOSSLCertificate.fromPEMFile(new.certificate)
        /// A probe whose failure carries the node's log.
        func status(_ path: String, _ port: Int, trust: [NIOSSLCertificate]) async throws -> Int {
            do {
                return try await TLSProbe.get(path, port: port, serverName: "localhost", trust: trust).status
            } catch {
                Issue.record("\(path) on port \(port): \(error)\nnode log:\n\(node.stderr.suffix(4000))")
                throw error
            }
        }
        #expect(try await status("/status", adminPort, trust: first) == 200)
        #expect(try await status("/", proxyPort, trust: first) == 404)

        // A broken pair (certificate and key that do not belong together) is refused; the old certificate stays.
        try files.install(old.certificate, new.key)
        node.signal(SIGHUP)
        #expect(node.waitForLine(containing: "reloaded") != nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(node.stderr.contains("admin API certificate reload failed"), "\(node.stderr)")
        #expect(try await status("/status", adminPort, trust: first) == 200)

        // The new pair is served to new connections by both listeners.
        try files.install(new.certificate, new.key)
        node.signal(SIGHUP)
        var rotated = false
        for _ in 0..<50 where !rotated {
            try await Task.sleep(for: .milliseconds(100))
            rotated = (try? await TLSProbe.get("/status", port: adminPort, serverName: "localhost", trust: second))?.status == 200
        }
        #expect(rotated, "\(node.stderr)")
        #expect(try await status("/", proxyPort, trust: second) == 404)
        await #expect(throws: NIOSSLError.self) {
            _ = try await TLSProbe.get("/status", port: adminPort, serverName: "localhost", trust: first)
        }
    }
}
