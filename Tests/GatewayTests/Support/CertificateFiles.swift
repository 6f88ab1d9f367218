import Foundation

/// A certificate and key at fixed paths in a scratch directory, so a test can swap the pair a running node
/// reads (certificate rotation) with the fixtures in Tests/AdminTests/Fixtures.
struct CertificateFiles {
    let directory: URL
    let certificate: String
    let key: String

    static let fixtures = UpstreamTLSTests.fixtures
    static let first = (certificate: UpstreamTLSTests.certificate, key: UpstreamTLSTests.key)
    static let second = (certificate: fixtures.appendingPathComponent("other-test.crt").path,
                         key: fixtures.appendingPathComponent("other-test.key").path)

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        certificate = directory.appendingPathComponent("server.crt").path
        key = directory.appendingPathComponent("server.key").path
    }

    /// Replaces the pair with copies of the given files.
    func install(_ certificateFile: String, _ keyFile: String) throws {
        try? FileManager.default.removeItem(atPath: certificate)
        try? FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: certificateFile, toPath: certificate)
        try FileManager.default.copyItem(atPath: keyFile, toPath: key)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
