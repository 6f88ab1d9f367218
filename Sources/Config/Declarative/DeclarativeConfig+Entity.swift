import Foundation

/// The entity collections, named as in Kong's declarative format and Admin API paths.
public enum EntityKind: String, Sendable, CaseIterable {
    case services, routes, upstreams, targets, consumers
    case keyAuthCredentials = "keyauth_credentials"
    case plugins
}

extension DeclarativeConfig {
    /// Result of adding one entity from JSON.
    public struct Added: Sendable {
        public var config: DeclarativeConfig
        /// Id of the entity added (its nested children get their own).
        public var id: UUID
        public var warnings: [ConfigIssue]
    }

    /// Reads one entity in Kong's Admin API JSON shape (nested children allowed, e.g. a service with `routes`) and
    /// returns this configuration with it added, after validating the whole. References may name existing
    /// entities by name or id. Issue paths are relative to the entity (`port`, `routes[0].paths[1]`), and a
    /// duplicate name is an issue of kind `.conflict`. To replace an entity, remove it first.
    ///
    /// - Parameter newID: id for an entity that gives none (injected so tests stay deterministic).
    public func adding(_ kind: EntityKind, json: String, options: ValidationOptions = .init(),
                       newID: @escaping () -> UUID = UUID.init) throws(ConfigError) -> Added {
        let raw = try RawValue.parse(json)
        let log = IssueLog()
        let parser = DeclarativeParser(log: log, base: self, newID: newID)
        let before = parser.config
        switch kind {
        case .services: parser.parseService(raw, path: "")
        case .routes: parser.parseRoute(raw, path: "", service: nil)
        case .upstreams: parser.parseUpstream(raw, path: "")
        case .targets: parser.parseTarget(raw, path: "", upstream: nil)
        case .consumers: parser.parseConsumer(raw, path: "")
        case .keyAuthCredentials: parser.parseCredential(raw, path: "", consumer: nil)
        case .plugins: parser.parsePlugin(raw, path: "", scope: .none)
        }
        parser.resolveReferences()
        let config = parser.config
        let addedID: UUID?
        switch kind {
        case .services: addedID = config.services.count > before.services.count ? config.services.last?.id : nil
        case .routes: addedID = config.routes.count > before.routes.count ? config.routes.last?.id : nil
        case .upstreams: addedID = config.upstreams.count > before.upstreams.count ? config.upstreams.last?.id : nil
        case .targets: addedID = config.targets.count > before.targets.count ? config.targets.last?.id : nil
        case .consumers: addedID = config.consumers.count > before.consumers.count ? config.consumers.last?.id : nil
        case .keyAuthCredentials:
            addedID = config.keyAuthCredentials.count > before.keyAuthCredentials.count
                ? config.keyAuthCredentials.last?.id : nil
        case .plugins: addedID = config.plugins.count > before.plugins.count ? config.plugins.last?.id : nil
        }
        // Existing entities were validated when they were added; only issues of the new ones count. Existing
        // entities are located as `@services/<id>` so their issues can be told apart and dropped.
        var located = parser.paths
        func mark<T: Identifiable>(_ items: [T], _ kind: EntityKind) where T.ID == UUID {
            for item in items where located.byID[item.id] == nil {
                located.byID[item.id] = "@\(kind.rawValue)/\(Self.idText(item.id))"
            }
        }
        mark(config.services, .services)
        mark(config.routes, .routes)
        mark(config.upstreams, .upstreams)
        mark(config.targets, .targets)
        mark(config.consumers, .consumers)
        mark(config.keyAuthCredentials, .keyAuthCredentials)
        mark(config.plugins, .plugins)
        let readingFailed = log.hasErrors
        for issue in config.validationIssues(options: options, paths: located) {
            if issue.path.hasPrefix("@") || (readingFailed && issue.kind == .notFound) { continue }
            var issue = issue
            issue.message = issue.message.replacingOccurrences(of: "(@", with: "(")
            log.append(contentsOf: [issue])
        }
        guard !log.hasErrors, let addedID else {
            throw ConfigError(code: .invalid, issues: log.issues)
        }
        return Added(config: config, id: addedID, warnings: log.issues)
    }

    /// One entity as Kong's Admin API shows it: flat, with foreign keys as `{"id": ...}`. Nil when absent.
    public func entityJSON(_ kind: EntityKind, id: UUID) -> String? {
        func ref(_ id: UUID?) -> RawValue { id.map { .object([("id", .string(Self.idText($0)))]) } ?? .null }
        let tree: RawValue
        switch kind {
        case .services:
            guard let s = service(id: id) else { return nil }
            tree = .object(Self.serviceFields(s))
        case .routes:
            guard let r = route(id: id) else { return nil }
            var fields = Self.routeFields(r, withService: false)
            fields.insert(("service", ref(r.service)), at: r.name == nil ? 1 : 2)
            tree = .object(fields)
        case .upstreams:
            guard let u = upstream(id: id) else { return nil }
            tree = .object(Self.upstreamFields(u))
        case .targets:
            guard let t = targets.first(where: { $0.id == id }) else { return nil }
            tree = .object(Self.targetFields(t) + [("upstream", ref(t.upstream))])
        case .consumers:
            guard let c = consumer(id: id) else { return nil }
            tree = .object([("id", .string(Self.idText(c.id))), ("username", c.username.map { .string($0) } ?? .null),
                            ("custom_id", c.customID.map { .string($0) } ?? .null), ("tags", Self.strings(c.tags))])
        case .keyAuthCredentials:
            guard let k = keyAuthCredentials.first(where: { $0.id == id }) else { return nil }
            tree = .object([("id", .string(Self.idText(k.id))), ("consumer", ref(k.consumer)),
                            ("key", .string(k.key)), ("tags", Self.strings(k.tags))])
        case .plugins:
            guard let p = plugins.first(where: { $0.id == id }) else { return nil }
            guard case var .object(fields) = Self.pluginFields(p, scope: false) else { return nil }
            fields.insert(contentsOf: [("route", ref(p.route)), ("service", ref(p.service))], at: 2)
            tree = .object(fields)
        }
        var out = ""
        JSONWriter.write(tree, into: &out, indent: 0)
        return out
    }

    /// This configuration without the entity and what Kong deletes with it: a route's plugins, a service's
    /// plugins, an upstream's targets, a consumer's credentials. Kong refuses to delete a service that routes
    /// still use; callers check `routes.contains { $0.service == id }` first (the routes are kept here).
    public func removing(_ kind: EntityKind, id: UUID) -> DeclarativeConfig {
        var c = self
        switch kind {
        case .services:
            c.services.removeAll { $0.id == id }
            c.plugins.removeAll { $0.service == id }
        case .routes:
            c.routes.removeAll { $0.id == id }
            c.plugins.removeAll { $0.route == id }
        case .upstreams:
            c.upstreams.removeAll { $0.id == id }
            c.targets.removeAll { $0.upstream == id }
        case .targets: c.targets.removeAll { $0.id == id }
        case .consumers:
            c.consumers.removeAll { $0.id == id }
            c.keyAuthCredentials.removeAll { $0.consumer == id }
        case .keyAuthCredentials: c.keyAuthCredentials.removeAll { $0.id == id }
        case .plugins: c.plugins.removeAll { $0.id == id }
        }
        return c
    }
}
