import Config
import Foundation

/// One stored entity: its Admin API JSON plus the columns that order and name it.
struct EntityRow: Hashable {
    var id: String
    var kind: EntityKind
    var position: Int
    var name: String?
    var json: String

    /// Every entity of `config`, in configuration order.
    static func rows(of config: DeclarativeConfig) -> [EntityRow] {
        var rows: [EntityRow] = []
        func add<T: Identifiable>(_ items: [T], _ kind: EntityKind, _ name: (T) -> String?) where T.ID == UUID {
            for (position, item) in items.enumerated() {
                guard let json = config.entityJSON(kind, id: item.id) else { continue }
                rows.append(EntityRow(id: item.id.uuidString.lowercased(), kind: kind, position: position,
                                      name: name(item), json: json))
            }
        }
        add(config.services, .services, \.name)
        add(config.routes, .routes, \.name)
        add(config.upstreams, .upstreams) { $0.name }
        add(config.targets, .targets) { $0.target }
        add(config.consumers, .consumers) { $0.username ?? $0.customID }
        add(config.keyAuthCredentials, .keyAuthCredentials) { _ in nil }
        add(config.plugins, .plugins) { $0.name }
        return rows
    }

    /// Rebuilds a configuration from rows: a flat declarative document read by the Config parser, so stored
    /// data passes the same validation as a file.
    static func config(from rows: [EntityRow]) throws(ConfigError) -> DeclarativeConfig {
        var text = "{\"_format_version\":\"3.0\""
        for kind in EntityKind.allCases {
            let items = rows.filter { $0.kind == kind }.sorted { $0.position < $1.position }
            text += ",\"\(kind.rawValue)\":[" + items.map(\.json).joined(separator: ",") + "]"
        }
        text += "}"
        return try DeclarativeConfig.parse(text).config
    }
}
