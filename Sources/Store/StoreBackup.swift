import Config
import Foundation

/// A whole store in one JSON file: the configuration in Kong's declarative format (`config`, usable as is by
/// `config import` or by Kong) and the Admin API tokens as hashes. `switchyard db backup` writes it and
/// `db restore` reads it back, into SQLite or PostgreSQL alike.
///
/// The file holds consumers' credentials, so it is written readable by its owner only.
public struct StoreBackup: Sendable {
    public static let format = "switchyard-backup"
    public static let formatVersion = 1

    public var config: DeclarativeConfig
    public var tokens: [StoredToken]
    /// The configuration version backed up.
    public var version: Int
    public var takenAt: Date
    /// Where it was taken (without password).
    public var database: String

    public init(config: DeclarativeConfig, tokens: [StoredToken], version: Int, takenAt: Date = Date(),
                database: String) {
        self.config = config
        self.tokens = tokens
        self.version = version
        self.takenAt = takenAt
        self.database = database
    }

    /// Pretty JSON with sorted keys, so two backups of one configuration differ only in `taken_at`.
    public func text() -> String {
        let declarative = (try? JSONSerialization.jsonObject(with: Data(config.export(as: .json).utf8))) ?? [:]
        let document: [String: Any] = [
            "format": Self.format, "format_version": Self.formatVersion,
            "taken_at": ISO8601DateFormatter().string(from: takenAt), "database": database,
            "configuration_version": version, "config": declarative,
            "admin_tokens": tokens.map { ["name": $0.name, "role": $0.role.rawValue, "sha256": $0.sha256] },
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: document,
                                                      options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a backup, checking all of it: a file with any problem throws `StoreError(.corrupt)` listing each
    /// one, so a restore never starts from half a backup.
    public static func parse(_ text: String, source: String) throws(StoreError) -> StoreBackup {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              let document = object as? [String: Any] else {
            throw StoreError(.corrupt, "\(source) is not a backup: it is not a JSON object (write one with `switchyard db backup`)")
        }
        guard document["format"] as? String == format else {
            throw StoreError(.corrupt, "\(source) is not a backup: \"format\" is not \"\(format)\" (a Kong declarative file is imported with `switchyard config import`)")
        }
        guard let formatVersion = document["format_version"] as? Int, formatVersion <= Self.formatVersion else {
            throw StoreError(.corrupt, "\(source) has format_version \(document["format_version"] ?? "none"); this switchyard reads up to \(Self.formatVersion)")
        }
        var problems: [String] = []
        var config = DeclarativeConfig()
        if let declarative = document["config"], JSONSerialization.isValidJSONObject(declarative),
           let data = try? JSONSerialization.data(withJSONObject: declarative) {
            do {
                config = try DeclarativeConfig.parse(String(decoding: data, as: UTF8.self)).config
            } catch {
                problems += error.errors.map { "config: \($0)" }
            }
        } else {
            problems.append("config: missing or not an object")
        }
        var tokens: [StoredToken] = []
        var names = Set<String>()
        for (index, entry) in ((document["admin_tokens"] as? [Any]) ?? []).enumerated() {
            guard let token = entry as? [String: Any], let name = token["name"] as? String, !name.isEmpty,
                  let roleText = token["role"] as? String, let sha256 = token["sha256"] as? String else {
                problems.append("admin_tokens[\(index)]: needs name, role and sha256")
                continue
            }
            guard let role = AdminRole(rawValue: roleText) else {
                problems.append("admin_tokens[\(index)] (\(name)): role \"\(roleText)\" is not one of \(AdminRole.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            guard StoredToken.isHash(sha256) else {
                problems.append("admin_tokens[\(index)] (\(name)): sha256 is not 64 lowercase hex digits")
                continue
            }
            guard names.insert(name).inserted else {
                problems.append("admin_tokens[\(index)]: a token named \(name) is listed twice")
                continue
            }
            tokens.append(StoredToken(name: name, role: role, sha256: sha256))
        }
        if document["admin_tokens"] != nil, !(document["admin_tokens"] is [Any]) {
            problems.append("admin_tokens: not a list")
        }
        guard problems.isEmpty else {
            throw StoreError(.corrupt, "\(source) cannot be restored (nothing changed):\n"
                + problems.map { "  \($0)" }.joined(separator: "\n"))
        }
        let takenAt = (document["taken_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 0)
        return StoreBackup(config: config, tokens: tokens, version: document["configuration_version"] as? Int ?? 0,
                           takenAt: takenAt, database: document["database"] as? String ?? "")
    }
}
