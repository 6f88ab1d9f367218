import Config
import Foundation

/// A node's copy of the configuration it last applied from a shared database, so that it can start, and go on
/// guarding its Admin API, while that database is down. Written atomically (a temporary file renamed over the
/// old one), mode 0600: it holds the hashes of the Admin API tokens.
public struct ConfigCache: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// What the cache holds.
    public struct Content: Sendable {
        public var snapshot: StoreSnapshot
        /// Token name, role and hex SHA-256, as stored.
        var tokens: [CachedToken]
        public var writtenAt: Date
        public var database: String
    }

    struct CachedToken: Codable, Sendable, Hashable {
        var name: String
        var role: String
        var sha256: String
    }

    private struct File: Codable {
        var format: Int
        var version: Int
        var writtenAt: Double
        var database: String
        var config: String
        var tokens: [CachedToken]
    }

    func write(_ snapshot: StoreSnapshot, tokens: [CachedToken], database: String) throws {
        let file = File(format: 1, version: snapshot.generation, writtenAt: Date().timeIntervalSince1970,
                        database: database, config: snapshot.config.exportFlat(as: .json), tokens: tokens)
        let data = try JSONEncoder().encode(file)
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw StoreError(.io, "cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw StoreError(.io, "cannot replace \(path): \(reason)")
        }
    }

    /// The cached configuration; an error that says why it cannot be used (missing, unreadable, invalid).
    public func read() throws(StoreError) -> Content {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(.unavailable, "no cache file at \(path)")
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            guard file.format == 1 else { throw StoreError(.corrupt, "cache file \(path) has format \(file.format), expected 1") }
            let config = try DeclarativeConfig.parse(file.config).config
            return Content(snapshot: StoreSnapshot(config: config, generation: file.version), tokens: file.tokens,
                           writtenAt: Date(timeIntervalSince1970: file.writtenAt), database: file.database)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.corrupt, "cache file \(path) cannot be read: \(error)", underlying: error)
        }
    }
}
