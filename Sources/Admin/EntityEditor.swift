import Config
import Foundation

/// The Admin API's writes as pure changes of a configuration: create, replace (PUT), merge (PATCH), delete.
/// Each returns the whole new configuration or throws the issues that make it invalid.
struct EntityEditor {
    var newID: @Sendable () -> UUID = UUID.init

    /// Adds an entity from a JSON object, with `parent` set as its foreign key (`service`, `upstream`).
    func create(_ kind: EntityKind, _ object: [String: RawValue], parent: (field: String, id: UUID)? = nil,
                in config: DeclarativeConfig) throws(ConfigError) -> (config: DeclarativeConfig, id: UUID) {
        var object = object
        if let parent { object[parent.field] = .object(["id": .string(parent.id.uuidString.lowercased())]) }
        let added = try config.adding(kind, json: RawValue.object(object).jsonText, newID: newID)
        return (added.config, added.id)
    }

    /// Replaces the entity `id` with `object` (its id kept), keeping its position and the children that
    /// depend on it (a service's plugins, an upstream's targets, a consumer's credentials).
    func replace(_ kind: EntityKind, id: UUID, with object: [String: RawValue],
                 parent: (field: String, id: UUID)? = nil,
                 in config: DeclarativeConfig) throws(ConfigError) -> DeclarativeConfig {
        var object = object
        object["id"] = .string(id.uuidString.lowercased())
        if let parent { object[parent.field] = .object(["id": .string(parent.id.uuidString.lowercased())]) }
        let base = config.removing(kind, id: id)
        var next = try base.adding(kind, json: RawValue.object(object).jsonText, newID: newID).config
        func restore<T: Identifiable>(_ path: WritableKeyPath<DeclarativeConfig, [T]>) where T.ID == UUID {
            let kept = Set(base[keyPath: path].map(\.id))
            let present = Set(next[keyPath: path].map(\.id))
            next[keyPath: path] += config[keyPath: path].filter {
                $0.id != id && !kept.contains($0.id) && !present.contains($0.id)
            }
            // Keep the replaced entity where it was.
            if let from = config[keyPath: path].firstIndex(where: { $0.id == id }),
               let at = next[keyPath: path].firstIndex(where: { $0.id == id }) {
                let item = next[keyPath: path].remove(at: at)
                next[keyPath: path].insert(item, at: min(from, next[keyPath: path].count))
            }
        }
        restore(\.services)
        restore(\.routes)
        restore(\.upstreams)
        restore(\.targets)
        restore(\.consumers)
        restore(\.keyAuthCredentials)
        restore(\.plugins)
        return next
    }

    /// Merges `patch` over the entity's current fields (Kong's PATCH: fields not given keep their values;
    /// nested records such as `healthchecks` merge too).
    func merge(_ kind: EntityKind, id: UUID, patch: [String: RawValue],
               in config: DeclarativeConfig) throws(ConfigError) -> DeclarativeConfig {
        guard let text = config.entityJSON(kind, id: id), let current = RawValue.parse(json: text)?.object else {
            throw ConfigError(code: .invalid, issues: [.error(.notFound, "", "not found")])
        }
        return try replace(kind, id: id, with: Self.merged(current, patch), in: config)
    }

    static func merged(_ base: [String: RawValue], _ patch: [String: RawValue]) -> [String: RawValue] {
        var out = base
        for (key, value) in patch {
            if let inner = value.object, let existing = base[key]?.object, key != "service",
               key != "upstream", key != "consumer", key != "route", key != "headers" {
                out[key] = .object(merged(existing, inner))
            } else {
                out[key] = value
            }
        }
        return out
    }

    /// Deletes an entity; a service still used by routes cannot be deleted (as in Kong).
    func delete(_ kind: EntityKind, id: UUID, in config: DeclarativeConfig) throws(ConfigError) -> DeclarativeConfig {
        if kind == .services, let route = config.routes.first(where: { $0.service == id }) {
            throw ConfigError(code: .invalid, issues: [
                .error(.invalid, "", "an existing route (\(route.displayName)) references this service: delete or move its routes first"),
            ])
        }
        return config.removing(kind, id: id)
    }
}
