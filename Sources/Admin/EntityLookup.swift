import Config
import Foundation

/// Finds entities the way Kong's Admin API paths name them: by id, or by their unique name field.
enum EntityLookup {
    /// The id of the entity of `kind` that `key` names (id, name, username/custom_id, `host:port` for a target,
    /// the key itself for a credential), among the children of `parent` when one is given.
    static func id(_ kind: EntityKind, _ key: String, in config: DeclarativeConfig,
                   parent: (field: String, id: UUID)? = nil) -> UUID? {
        let byID = UUID(uuidString: key)
        let scoped = ids(kind, in: config, parent: parent)
        let candidates = Set(scoped)
        switch kind {
        case .services:
            return config.services.first { candidates.contains($0.id) && ($0.id == byID || $0.name == key) }?.id
        case .routes:
            return config.routes.first { candidates.contains($0.id) && ($0.id == byID || $0.name == key) }?.id
        case .upstreams:
            return config.upstreams.first { candidates.contains($0.id) && ($0.id == byID || $0.name == key) }?.id
        case .consumers:
            return config.consumers.first {
                candidates.contains($0.id) && ($0.id == byID || $0.username == key || $0.customID == key)
            }?.id
        case .targets:
            let targets = config.targets.filter { candidates.contains($0.id) }
            if let found = targets.first(where: { $0.id == byID }) { return found.id }
            guard case let .success((host, port)) = Target.parse(key) else { return nil }
            return targets.first { $0.host == host && $0.port == port }?.id
        case .keyAuthCredentials:
            return config.keyAuthCredentials.first { candidates.contains($0.id) && ($0.id == byID || $0.key == key) }?.id
        case .plugins:
            return config.plugins.first { candidates.contains($0.id) && ($0.id == byID || $0.name == key) }?.id
        }
    }

    /// Ids of every entity of `kind`, in configuration order; with `parent`, only those whose foreign key
    /// `parent.field` is `parent.id`.
    static func ids(_ kind: EntityKind, in config: DeclarativeConfig, parent: (field: String, id: UUID)? = nil) -> [UUID] {
        let id = parent?.id
        let field = parent?.field
        switch kind {
        case .services: return config.services.map(\.id)
        case .routes: return config.routes.filter { field != "service" || $0.service == id }.map(\.id)
        case .upstreams: return config.upstreams.map(\.id)
        case .targets: return config.targets.filter { field != "upstream" || $0.upstream == id }.map(\.id)
        case .consumers: return config.consumers.map(\.id)
        case .keyAuthCredentials:
            return config.keyAuthCredentials.filter { field != "consumer" || $0.consumer == id }.map(\.id)
        case .plugins:
            return config.plugins.filter { plugin in
                switch field {
                case "route": return plugin.route == id
                case "service": return plugin.service == id
                default: return true
                }
            }.map(\.id)
        }
    }

    static func tags(_ kind: EntityKind, _ id: UUID, in config: DeclarativeConfig) -> [String] {
        switch kind {
        case .services: return config.service(id: id)?.tags ?? []
        case .routes: return config.route(id: id)?.tags ?? []
        case .upstreams: return config.upstream(id: id)?.tags ?? []
        case .targets: return config.targets.first { $0.id == id }?.tags ?? []
        case .consumers: return config.consumer(id: id)?.tags ?? []
        case .keyAuthCredentials: return config.keyAuthCredentials.first { $0.id == id }?.tags ?? []
        case .plugins: return config.plugins.first { $0.id == id }?.tags ?? []
        }
    }

    /// Kong's `tags` query: `a,b` needs every tag, `a/b` any of them.
    static func matches(tags: [String], filter: String) -> Bool {
        if filter.contains("/") {
            return filter.split(separator: "/").contains { tags.contains(String($0)) }
        }
        return filter.split(separator: ",").allSatisfy { tags.contains(String($0)) }
    }
}
