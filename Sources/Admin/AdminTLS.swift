import Foundation
import NIOSSL

/// The Admin API's certificate and private key, read and checked before the listener opens: a missing file, a
/// file that is not PEM, or a key that does not belong to the certificate stops the node with a message naming
/// the setting and the file, instead of failing every TLS handshake later.
public struct AdminTLS: Sendable {
    /// The server configuration: the certificate chain and its key, NIOSSL's default protocol versions and ciphers.
    public let configuration: TLSConfiguration

    /// Reads `admin_ssl_cert` (a PEM certificate chain, leaf first) and `admin_ssl_cert_key` (a PEM private key).
    /// The proxy's `ssl_cert`/`ssl_cert_key` are read the same way, with their own setting names in messages.
    public static func load(certificatePath: String, keyPath: String, certificateSetting: String = "admin_ssl_cert",
                            keySetting: String = "admin_ssl_cert_key") throws(AdminServerError) -> AdminTLS {
        let certificateBytes = try read(certificatePath, setting: certificateSetting)
        let keyBytes = try read(keyPath, setting: keySetting)
        let chain = (try? NIOSSLCertificate.fromPEMBytes(certificateBytes)) ?? []
        guard !chain.isEmpty else {
            throw AdminServerError(message: "\(certificateSetting): \(certificatePath) holds no PEM certificate "
                + "(expected a -----BEGIN CERTIFICATE----- block)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw AdminServerError(message: "\(keySetting): \(keyPath) is not an unencrypted PEM private key "
                + "(expected a -----BEGIN PRIVATE KEY----- block)")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // BoringSSL checks that the key belongs to the leaf certificate when the context is built.
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw AdminServerError(message: "\(keySetting): the key in \(keyPath) does not match the certificate "
                + "in \(certificatePath) (\(certificateSetting)): \(error)")
        }
        return AdminTLS(configuration: configuration)
    }

    private static func read(_ path: String, setting: String) throws(AdminServerError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw AdminServerError(message: "\(setting): \(path) does not exist")
        }
        guard !isDirectory.boolValue else {
            throw AdminServerError(message: "\(setting): \(path) is a directory, expected a PEM file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AdminServerError(message: "\(setting): cannot read \(path) (check its permissions)")
        }
        return [UInt8](data)
    }
}
