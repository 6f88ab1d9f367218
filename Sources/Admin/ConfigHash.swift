import Config
import Crypto
import Foundation
import Synchronization

/// Kong's `configuration_hash`: 32 hex digits (MD5, as Kong) over the configuration's canonical JSON export, so
/// the same entities give the same hash however the file was formatted; no entities at all give Kong's 32 zeros. Not a security check: it only tells a
/// client whether posting a file would change anything (`POST /config?check_hash=1`).
enum ConfigHash {
    /// Kong's hash of an empty configuration.
    static let empty = String(repeating: "0", count: 32)

    static func of(_ config: DeclarativeConfig) -> String {
        if config.services.isEmpty, config.routes.isEmpty, config.upstreams.isEmpty, config.targets.isEmpty,
           config.consumers.isEmpty, config.keyAuthCredentials.isEmpty, config.plugins.isEmpty {
            return empty
        }
        return Insecure.MD5.hash(data: Data(config.export(as: .json).utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// The hash of the stored configuration, computed once per generation rather than on every `/status`.
final class ConfigHashCache: Sendable {
    private let last = Mutex<(generation: Int, hash: String)?>(nil)

    func hash(generation: Int, config: DeclarativeConfig) -> String {
        if let cached = last.withLock({ $0 }), cached.generation == generation { return cached.hash }
        let hash = ConfigHash.of(config)
        last.withLock { $0 = (generation, hash) }
        return hash
    }
}
