import Config
import Foundation
import Hummingbird
import Store

extension AdminAPI {
    /// A foreign key given by the URL (`/services/{s}/routes`): the field to set and the parent's id.
    typealias Parent = (field: String, id: UUID)

    func addEntityRoutes(_ router: Router<AdminRequestContext>) {
        // Hummingbird needs one parameter name per path position, so each collection names its own.
        for (kind, path, param) in [(EntityKind.services, "services", "service"), (.routes, "routes", "route"),
                                    (.upstreams, "upstreams", "upstream"), (.consumers, "consumers", "consumer"),
                                    (.plugins, "plugins", "plugin")] {
            router.get("/\(path)") { request, _ in list(kind, request: request, path: "/\(path)") }
            router.post("/\(path)") { request, _ in await create(kind, request: request, parent: nil) }
            router.get("/\(path)/:\(param)") { _, context in
                one(kind, key: context.parameters.get(param) ?? "")
            }
            router.put("/\(path)/:\(param)") { request, context in
                await upsert(kind, key: context.parameters.get(param) ?? "", request: request, parent: nil)
            }
            router.patch("/\(path)/:\(param)") { request, context in
                await patch(kind, key: context.parameters.get(param) ?? "", request: request)
            }
            router.delete("/\(path)/:\(param)") { _, context in
                await delete(kind, key: context.parameters.get(param) ?? "")
            }
        }
        addNested(router, parent: .services, "services", "service", child: .routes, "routes", "route", field: "service")
        addNested(router, parent: .upstreams, "upstreams", "upstream", child: .targets, "targets", "target", field: "upstream")
        addNested(router, parent: .consumers, "consumers", "consumer", child: .keyAuthCredentials, "key-auth", "credential",
                  field: "consumer")
        addNested(router, parent: .routes, "routes", "route", child: .plugins, "plugins", "plugin", field: "route")
        addNested(router, parent: .services, "services", "service", child: .plugins, "plugins", "plugin", field: "service")
        // Kong's name for every target of an upstream, including disabled ones.
        router.get("/upstreams/:upstream/targets/all") { request, context in
            let key = context.parameters.get("upstream") ?? ""
            guard let upstream = parent(.upstreams, key) else { return AdminResponse.notFound }
            return list(.targets, request: request, path: "/upstreams/\(key)/targets/all", parent: ("upstream", upstream))
        }
    }

    /// A collection that lives under a parent (`/upstreams/{u}/targets/{t}`): the parent in the path must exist
    /// (else 404) and becomes the child's foreign key.
    func addNested(_ router: Router<AdminRequestContext>, parent parentKind: EntityKind, _ parentPath: String,
                   _ parentParam: String, child kind: EntityKind, _ path: String, _ param: String, field: String) {
        let base = "/\(parentPath)/:\(parentParam)/\(path)"
        @Sendable func scope(_ context: AdminRequestContext) -> (key: String, parent: Parent)? {
            let key = context.parameters.get(parentParam) ?? ""
            return parent(parentKind, key).map { (key, (field, $0)) }
        }
        router.get(RouterPath(base)) { request, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return list(kind, request: request, path: "/\(parentPath)/\(scope.key)/\(path)", parent: scope.parent)
        }
        router.post(RouterPath(base)) { request, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return await create(kind, request: request, parent: scope.parent)
        }
        router.get(RouterPath(base + "/:\(param)")) { _, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return one(kind, key: context.parameters.get(param) ?? "", parent: scope.parent)
        }
        router.put(RouterPath(base + "/:\(param)")) { request, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return await upsert(kind, key: context.parameters.get(param) ?? "", request: request, parent: scope.parent)
        }
        router.patch(RouterPath(base + "/:\(param)")) { request, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return await patch(kind, key: context.parameters.get(param) ?? "", request: request, parent: scope.parent)
        }
        router.delete(RouterPath(base + "/:\(param)")) { _, context in
            guard let scope = scope(context) else { return AdminResponse.notFound }
            return await delete(kind, key: context.parameters.get(param) ?? "", parent: scope.parent)
        }
    }

    func parent(_ kind: EntityKind, _ key: String?) -> UUID? {
        guard let key else { return nil }
        return EntityLookup.id(kind, Self.decoded(key), in: store.snapshot.config)
    }

    /// Path segments may carry percent-encoded characters (`%5B::1%5D:80`).
    static func decoded(_ key: String) -> String { key.removingPercentEncoding ?? key }

    // MARK: Reads

    func list(_ kind: EntityKind, request: Request, path: String, parent: Parent? = nil) -> Response {
        let query = request.uri.queryParameters
        let size: Int
        if let text = query.get("size") {
            guard let value = Int(text), (1...1000).contains(value) else {
                return AdminResponse.json(.object([
                    "name": .string("invalid size"), "message": .string("size must be an integer between 1 and 1000"),
                    "fields": .object(["size": .string("must be an integer between 1 and 1000")]),
                ]), status: .badRequest)
            }
            size = value
        } else {
            size = 100
        }
        var offset = 0
        if let text = query.get("offset") {
            guard let value = Int(text), value >= 0 else {
                return AdminResponse.json(.object([
                    "name": .string("invalid offset"), "message": .string("offset must be one given by a previous page's next"),
                    "fields": .object(["offset": .string("invalid offset")]),
                ]), status: .badRequest)
            }
            offset = value
        }
        let config = store.snapshot.config
        var ids = EntityLookup.ids(kind, in: config, parent: parent)
        let tags = query.get("tags")
        if let tags, !tags.isEmpty {
            ids = ids.filter { EntityLookup.matches(tags: EntityLookup.tags(kind, $0, in: config), filter: tags) }
        }
        let page = ids.dropFirst(offset).prefix(size)
        let items = page.compactMap { config.entityJSON(kind, id: $0) }
        var next = "null"
        var body = "{\"data\":[" + items.joined(separator: ",") + "]"
        if offset + size < ids.count {
            var link = "\(path)?offset=\(offset + size)&size=\(size)"
            if let tags, let escaped = tags.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) {
                link += "&tags=\(escaped)"
            }
            next = RawValue.string(link).jsonText
            body += ",\"offset\":\(RawValue.string(String(offset + size)).jsonText)"
        }
        body += ",\"next\":\(next)}"
        return AdminResponse.json(body)
    }

    func one(_ kind: EntityKind, key: String, parent: Parent? = nil) -> Response {
        let config = store.snapshot.config
        guard let id = EntityLookup.id(kind, Self.decoded(key), in: config, parent: parent),
              let json = config.entityJSON(kind, id: id) else { return AdminResponse.notFound }
        return AdminResponse.json(json)
    }

    // MARK: Writes

    func create(_ kind: EntityKind, request: Request, parent: Parent?) async -> Response {
        let object: [String: RawValue]
        switch await Self.body(request) {
        case let .success(value): object = value
        case let .failure(response): return response
        }
        var created: UUID?
        return await write({ config throws(ConfigError) in
            let result = try editor.create(kind, object, parent: parent, in: config)
            created = result.id
            return result.config
        }) { snapshot in
            guard let created, let json = snapshot.config.entityJSON(kind, id: created) else {
                return AdminResponse.notFound
            }
            return AdminResponse.json(json, status: .created)
        }
    }

    /// PUT: replaces the entity the key names, or creates it with that id or name.
    func upsert(_ kind: EntityKind, key: String, request: Request, parent: Parent?) async -> Response {
        var object: [String: RawValue]
        switch await Self.body(request) {
        case let .success(value): object = value
        case let .failure(response): return response
        }
        let key = Self.decoded(key)
        var result: UUID?
        var created = false
        let field = Self.nameField(kind)
        return await write({ config throws(ConfigError) in
            if let id = EntityLookup.id(kind, key, in: config, parent: parent) {
                result = id
                // A path that names the entity keeps that name unless the body sets one (a consumer found
                // by custom_id keeps its username).
                let current = config.entityJSON(kind, id: id).flatMap { RawValue.parse(json: $0)?.object?[field]?.string }
                if object[field] == nil, UUID(uuidString: key) == nil, current == key || kind == .targets {
                    object[field] = .string(key)
                }
                return try editor.replace(kind, id: id, with: object, parent: parent, in: config)
            }
            if let id = UUID(uuidString: key) {
                object["id"] = .string(id.uuidString.lowercased())
            } else {
                object[field] = .string(key)
            }
            let added = try editor.create(kind, object, parent: parent, in: config)
            result = added.id
            created = true
            return added.config
        }) { snapshot in
            guard let result, let json = snapshot.config.entityJSON(kind, id: result) else { return AdminResponse.notFound }
            return AdminResponse.json(json, status: created ? .created : .ok)
        }
    }

    func patch(_ kind: EntityKind, key: String, request: Request, parent: Parent? = nil) async -> Response {
        let object: [String: RawValue]
        switch await Self.body(request) {
        case let .success(value): object = value
        case let .failure(response): return response
        }
        guard let id = EntityLookup.id(kind, Self.decoded(key), in: store.snapshot.config, parent: parent) else {
            return AdminResponse.notFound
        }
        var missing = false
        let response = await write({ config throws(ConfigError) in
            guard config.entityJSON(kind, id: id) != nil else {
                missing = true
                return config
            }
            return try editor.merge(kind, id: id, patch: object, in: config)
        }) { snapshot in
            guard let json = snapshot.config.entityJSON(kind, id: id) else { return AdminResponse.notFound }
            return AdminResponse.json(json)
        }
        return missing ? AdminResponse.notFound : response
    }

    /// DELETE answers 204 whether or not the entity existed, as Kong does, so scripts can repeat it safely;
    /// an unknown parent in the path is still 404.
    func delete(_ kind: EntityKind, key: String, parent: Parent? = nil) async -> Response {
        guard let id = EntityLookup.id(kind, Self.decoded(key), in: store.snapshot.config, parent: parent) else {
            return AdminResponse.noContent
        }
        return await write({ config throws(ConfigError) in try editor.delete(kind, id: id, in: config) }) { _ in
            AdminResponse.noContent
        }
    }

    static func nameField(_ kind: EntityKind) -> String {
        switch kind {
        case .consumers: return "username"
        case .targets: return "target"
        case .keyAuthCredentials: return "key"
        default: return "name"
        }
    }
}
