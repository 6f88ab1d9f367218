import Config
import Crypto
import Foundation

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
///
/// `@unchecked Sendable` is sound: `last` is only read or written while holding `lock`.
final class ConfigHashCache: @unchecked Sendable {
    private let lock = NSLock()
    private var last: (generation: Int, hash: String)?

    func hash(generation: Int, config: DeclarativeConfig) -> String {
        if let last = lock.withLock({ last }), last.generation == generation { return last.hash }
        let hash = ConfigHash.of(config)
        lock.withLock { last = (generation, hash) }
        return hash
    }
}
