import Foundation

/// Consumers, key-auth credentials and plugins.
extension DeclarativeParser {
    func parseConsumer(_ raw: RawValue, path: String) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let username = r.string("username")
        let customID = r.string("custom_id")
        let consumer = Consumer(id: id(r, key: "consumer:" + (username ?? customID.map { "#" + $0 } ?? path)),
                                username: username, customID: customID, tags: tags(r))
        r.consume("keyauth_credentials", "plugins")
        r.finish(unsupported: [
            "acls": "the acl plugin is not available",
            "basicauth_credentials": "only key-auth is available",
            "hmacauth_credentials": "only key-auth is available",
            "jwt_secrets": "only key-auth is available",
            "oauth2_credentials": "only key-auth is available",
            "mtls_auth_credentials": "only key-auth is available",
            "groups": "consumer groups are not available",
            "plugins": "plugins scoped to a consumer are not available",
        ])
        config.consumers.append(consumer)
        paths.byID[consumer.id] = path
        let credPath = r.fieldPath("keyauth_credentials")
        for (i, item) in (r.raw("keyauth_credentials").flatMap(arrayOrLog(credPath)) ?? []).enumerated() {
            parseCredential(item, path: joinPath(credPath, i), consumer: consumer.id)
        }
    }

    func parseCredential(_ raw: RawValue, path: String, consumer: UUID?) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let key = r.string("key") ?? ""
        if key.isEmpty {
            log.error(.required, r.fieldPath("key"), "required in a declarative file (the key itself)")
        }
        let credential = KeyAuthCredential(id: id(r, key: "keyauth:" + key), consumer: consumer ?? Self.unresolved,
                                           key: key, tags: tags(r))
        if let ref = r.reference("consumer") {
            if let consumer {
                if !isParent(ref, id: consumer, name: config.consumers.first { $0.id == consumer }?.username) {
                    log.error(.invalid, r.fieldPath("consumer"),
                              "a nested credential belongs to its parent consumer; \"\(ref)\" names another")
                }
            } else {
                pendingConsumerRefs.append((config.keyAuthCredentials.count, ref, r.fieldPath("consumer")))
            }
        } else if consumer == nil {
            log.error(.required, r.fieldPath("consumer"), "required for a top-level credential")
        }
        r.finish(unsupported: ["ttl": "expiring credentials are not available"])
        config.keyAuthCredentials.append(credential)
        paths.byID[credential.id] = path
    }

    enum PluginScope { case none, route(UUID), service(UUID) }

    func parsePlugin(_ raw: RawValue, path: String, scope: PluginScope) {
        guard let r = FieldReader(raw, path: path, log: log) else { return }
        let name = r.string("name") ?? ""
        guard name == "key-auth" else {
            if name.isEmpty {
                log.error(.required, r.fieldPath("name"), "required")
            } else {
                log.error(.unsupported, r.fieldPath("name"),
                          "plugin \"\(name)\" is not supported by Switchyard (available: key-auth)")
            }
            return
        }
        var scopeKey = "global"
        var plugin = Plugin(id: DeclarativeParser.unresolved, config: .keyAuth(KeyAuthConfig()))
        switch scope {
        case .none: break
        case let .route(id): plugin.route = id; scopeKey = "route:\(id)"
        case let .service(id): plugin.service = id; scopeKey = "service:\(id)"
        }
        if let ref = r.reference("route") {
            if case .none = scope {
                pendingRouteRefs.append((config.plugins.count, ref, r.fieldPath("route")))
                scopeKey = "route:" + ref
            } else {
                log.error(.invalid, r.fieldPath("route"), "a nested plugin takes its scope from its parent")
            }
        }
        if let ref = r.reference("service") {
            if case .none = scope {
                pendingServiceRefs.append((config.plugins.count, .plugin, ref, r.fieldPath("service")))
                scopeKey += "/service:" + ref
            } else {
                log.error(.invalid, r.fieldPath("service"), "a nested plugin takes its scope from its parent")
            }
        }
        if r.has("consumer") {
            _ = r.raw("consumer")
            log.error(.unsupported, r.fieldPath("consumer"),
                      "not supported by Switchyard: plugins scoped to a consumer")
        }
        plugin.id = id(r, key: "plugin:\(name):\(scopeKey)")
        plugin.enabled = r.bool("enabled") ?? true
        plugin.tags = tags(r)
        if let protocols = r.stringArray("protocols"),
           let bad = protocols.first(where: { $0 != "http" && $0 != "https" && $0 != "grpc" && $0 != "grpcs" }) {
            log.error(.unsupported, r.fieldPath("protocols"), "not supported by Switchyard: protocol \"\(bad)\"")
        }
        if let c = r.object("config") {
            var config = KeyAuthConfig()
            config.keyNames = c.stringArray("key_names") ?? config.keyNames
            config.hideCredentials = c.bool("hide_credentials") ?? config.hideCredentials
            config.keyInHeader = c.bool("key_in_header") ?? config.keyInHeader
            config.keyInQuery = c.bool("key_in_query") ?? config.keyInQuery
            config.runOnPreflight = c.bool("run_on_preflight") ?? config.runOnPreflight
            if c.bool("key_in_body") == true {
                log.error(.unsupported, c.fieldPath("key_in_body"), "not supported by Switchyard: keys in the body")
            }
            c.finish(harmless: ["realm"], unsupported: [
                "anonymous": "anonymous consumers are not available",
                "key_names_in_body": "keys in the body are not available",
            ])
            plugin.config = .keyAuth(config)
        }
        r.finish(harmless: ["instance_name"], unsupported: ["ordering": "plugin ordering is not available"])
        config.plugins.append(plugin)
        paths.byID[plugin.id] = path
    }
}
