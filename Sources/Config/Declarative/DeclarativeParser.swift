import Foundation

/// Reads Kong's declarative format into entities: nested and top-level entities, references by name or id, ids
/// derived from stable keys when absent. Field errors go to the log; cross-entity checks run afterwards.
final class DeclarativeParser {
    let log: IssueLog
    var paths = EntityPaths()

    var config = DeclarativeConfig()
    /// References to resolve once every entity is known: (index of the referring entity, reference text, field path).
    var pendingServiceRefs: [(index: Int, kind: RefOwner, ref: String, path: String)] = []
    var pendingRouteRefs: [(index: Int, ref: String, path: String)] = []
    var pendingUpstreamRefs: [(index: Int, ref: String, path: String)] = []
    var pendingConsumerRefs: [(index: Int, ref: String, path: String)] = []

    enum RefOwner { case route, plugin }

    /// Placeholder id for a reference that is resolved later.
    static let unresolved = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    /// Makes ids for entities without one when ids must not be derived (entities created through the Admin API).
    let newID: (() -> UUID)?

    /// - Parameters:
    ///   - base: entities already present; references may name them.
    ///   - newID: when set, entities without an id get a fresh one instead of one derived from their name.
    init(log: IssueLog, base: DeclarativeConfig = DeclarativeConfig(), newID: (() -> UUID)? = nil) {
        self.log = log
        self.config = base
        self.newID = newID
    }

    /// Kong entities Switchyard does not implement; a non-empty list is an error naming it.
    static let unsupportedEntities: [String: String] = [
        "certificates": "TLS is terminated in front of Switchyard or configured on the node",
        "ca_certificates": "set the node's upstream_tls_trusted_certificate to a PEM file instead",
        "snis": "TLS is terminated in front of Switchyard or configured on the node",
        "vaults": "secret references are not available",
        "consumer_groups": "consumer groups are not available",
        "acls": "the acl plugin is not available",
        "basicauth_credentials": "only key-auth is available",
        "hmacauth_credentials": "only key-auth is available",
        "jwt_secrets": "only key-auth is available",
        "oauth2_credentials": "only key-auth is available",
        "mtls_auth_credentials": "only key-auth is available",
        "keys": "key sets are not available",
        "key_sets": "key sets are not available",
        "filter_chains": "filter chains are not available",
        "parameters": "not available",
        "workspaces": "workspaces are not available",
    ]

    func parse(_ raw: RawValue) -> DeclarativeConfig {
        guard let top = FieldReader(raw, path: "", log: log) else { return config }
        if let version = top.string("_format_version") {
            if DeclarativeConfig.formatVersions.contains(version) {
                config.formatVersion = version
            } else {
                log.error(.invalid, "_format_version",
                          "expected one of \"1.1\", \"2.1\", \"3.0\", got \"\(version)\"")
            }
        } else {
            log.error(.required, "_format_version", "required, e.g. _format_version: \"3.0\"")
        }
        _ = top.bool("_transform")
        top.consume("_workspace", "_info")

        for (i, item) in (top.array("services") ?? []).enumerated() {
            parseService(item, path: joinPath("services", i))
        }
        for (i, item) in (top.array("upstreams") ?? []).enumerated() {
            parseUpstream(item, path: joinPath("upstreams", i))
        }
        for (i, item) in (top.array("consumers") ?? []).enumerated() {
            parseConsumer(item, path: joinPath("consumers", i))
        }
        for (i, item) in (top.array("routes") ?? []).enumerated() {
            parseRoute(item, path: joinPath("routes", i), service: nil)
        }
        for (i, item) in (top.array("targets") ?? []).enumerated() {
            parseTarget(item, path: joinPath("targets", i), upstream: nil)
        }
        for (i, item) in (top.array("keyauth_credentials") ?? []).enumerated() {
            parseCredential(item, path: joinPath("keyauth_credentials", i), consumer: nil)
        }
        for (i, item) in (top.array("plugins") ?? []).enumerated() {
            parsePlugin(item, path: joinPath("plugins", i), scope: .none)
        }
        top.finish(harmless: ["_workspace"], unsupported: Self.unsupportedEntities)
        resolveReferences()
        return config
    }

    // MARK: Entities

    var derivedIDs: Set<UUID> = []

    /// The entity's id, or one derived from its natural key; a derived id that collides (two entities with the
    /// same name, reported as a name conflict) is derived again from the position so ids stay unique.
    func id(_ reader: FieldReader, key: @autoclosure () -> String) -> UUID {
        func derive() -> UUID {
            if let newID { return newID() }
            var uuid = DeterministicID.make(key())
            if derivedIDs.contains(uuid) { uuid = DeterministicID.make(key() + "@" + reader.path) }
            derivedIDs.insert(uuid)
            return uuid
        }
        guard let text = reader.string("id") else { return derive() }
        guard let uuid = UUID(uuidString: text) else {
            log.error(.invalid, reader.fieldPath("id"), "not a valid UUID: \"\(text)\"")
            return derive()
        }
        return uuid
    }

    func tags(_ reader: FieldReader) -> [String] { reader.stringArray("tags") ?? [] }

    // MARK: References

    /// A nested entity may repeat its parent reference (Kong's exports sometimes do) as long as it agrees.
    func isParent(_ ref: String, id: UUID, name: String?) -> Bool {
        UUID(uuidString: ref) == id || (name != nil && ref == name)
    }

    func find<T>(_ items: [T], _ ref: String, id: (T) -> UUID, name: (T) -> String?) -> UUID? {
        if let uuid = UUID(uuidString: ref), items.contains(where: { id($0) == uuid }) { return uuid }
        return items.first { name($0) == ref }.map(id)
    }

    func resolveReferences() {
        for pending in pendingServiceRefs {
            guard let id = find(config.services, pending.ref, id: \.id, name: \.name) else {
                log.error(.notFound, pending.path, "no service named or with id \"\(pending.ref)\"")
                continue
            }
            switch pending.kind {
            case .route: config.routes[pending.index].service = id
            case .plugin: config.plugins[pending.index].service = id
            }
        }
        for pending in pendingRouteRefs {
            guard let id = find(config.routes, pending.ref, id: \.id, name: \.name) else {
                log.error(.notFound, pending.path, "no route named or with id \"\(pending.ref)\"")
                continue
            }
            config.plugins[pending.index].route = id
        }
        for pending in pendingUpstreamRefs {
            guard let id = find(config.upstreams, pending.ref, id: \.id, name: { $0.name }) else {
                log.error(.notFound, pending.path, "no upstream named or with id \"\(pending.ref)\"")
                continue
            }
            config.targets[pending.index].upstream = id
        }
        for pending in pendingConsumerRefs {
            guard let id = find(config.consumers, pending.ref, id: \.id, name: \.username) else {
                log.error(.notFound, pending.path, "no consumer with username or id \"\(pending.ref)\"")
                continue
            }
            config.keyAuthCredentials[pending.index].consumer = id
        }
    }
}
