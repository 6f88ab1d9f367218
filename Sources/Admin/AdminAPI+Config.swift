import Config
import Foundation
import Hummingbird
import Store

extension AdminAPI {
    /// `GET /config` exports the configuration; `POST /config` replaces it all or nothing, as Kong's DB-less
    /// `/config`, with Kong's `flatten_errors` and `check_hash` query options.
    func addConfigRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/config") { request, _ in
            let format: DeclarativeConfig.ExportFormat
            switch request.uri.queryParameters.get("format") {
            case nil, "yaml": format = .yaml
            case "json": format = .json
            default:
                return AdminResponse.json(.object([
                    "name": .string("invalid format"), "message": .string("format must be yaml or json"),
                    "fields": .object(["format": .string("expected yaml or json")]),
                ]), status: .badRequest)
            }
            let text = store.snapshot.config.export(as: format)
            var response = AdminResponse.json(text)
            if format == .yaml {
                response.headers[.contentType] = "application/yaml; charset=utf-8"
            }
            return response
        }
        router.post("/config") { request, _ in await postConfig(request) }
    }

    func postConfig(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        // Kong reads flatten_errors as any true-ish word and check_hash only as "1".
        let flatten = ["1", "true", "on", "yes"].contains(query.get("flatten_errors")?.lowercased() ?? "")
        let checkHash = query.get("check_hash") == "1"
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 16 << 20) else {
            return AdminResponse.message("request body too large (16 MiB at most)", status: .contentTooLarge)
        }
        var text = String(buffer: buffer)
        // Kong's form: {"config": "<declarative text>"}; otherwise the body is the file itself.
        if let wrapped = RawValue.parse(json: text)?.object?["config"]?.string { text = wrapped }
        let loaded: DeclarativeConfig.Loaded
        do {
            loaded = try DeclarativeConfig.parse(text)
        } catch {
            return flatten && error.code == .invalid ? Self.flattened(error, text: text) : AdminResponse.invalid(error)
        }
        if checkHash {
            let current = store.snapshot
            let posted = ConfigHash.of(loaded.config)
            // Kong answers 304 without a body and applies nothing when the configuration is already in force.
            if posted == hashes.hash(generation: current.generation, config: current.config) {
                return Response(status: .notModified)
            }
        }
        return await write({ _ in loaded.config }) { snapshot in
            AdminResponse.json(.object([
                "generation": .int(snapshot.generation),
                "configuration_hash": .string(hashes.hash(generation: snapshot.generation, config: snapshot.config)),
                "services": .int(snapshot.config.services.count),
                "routes": .int(snapshot.config.routes.count),
                "upstreams": .int(snapshot.config.upstreams.count),
                "targets": .int(snapshot.config.targets.count),
                "consumers": .int(snapshot.config.consumers.count),
            ]), status: .created)
        }
    }

    /// Kong's flattened error answer: `flattened_errors` lists each entity with its errors; `fields` keeps the
    /// errors that belong to no entity.
    static func flattened(_ error: ConfigError, text: String) -> Response {
        let flat = DeclarativeConfig.flattenErrors(error.issues, in: text)
        var fields: [String: RawValue] = [:]
        for issue in flat.others {
            let key = issue.path.isEmpty ? "@entity" : issue.path
            if case let .string(existing)? = fields[key] {
                fields[key] = .string(existing + "; " + issue.message)
            } else {
                fields[key] = .string(issue.message)
            }
        }
        let entities: [RawValue] = flat.entities.map { entity in
            var object: [String: RawValue] = [
                "entity_type": .string(entity.type),
                "entity": RawValue.parse(json: entity.json) ?? .object([:]),
                "errors": .array(entity.errors.map { problem in
                    var item: [String: RawValue] = ["message": .string(problem.message), "type": .string(problem.type)]
                    if let field = problem.field { item["field"] = .string(field) }
                    return .object(item)
                }),
            ]
            if let name = entity.name { object["entity_name"] = .string(name) }
            if let id = entity.id { object["entity_id"] = .string(id) }
            if let tags = entity.tags { object["entity_tags"] = .array(tags.map { .string($0) }) }
            return .object(object)
        }
        let count = error.errors.count
        let summary = error.errors.prefix(3).map(\.description).joined(separator: ", ")
            + (count > 3 ? ", ..." : "")
        return AdminResponse.json(.object([
            "code": .int(14),
            "name": .string("invalid declarative configuration"),
            "message": .string("declarative config is invalid: \(count == 1 ? "1 error" : "\(count) errors") (\(summary))"),
            "fields": .object(fields),
            "flattened_errors": .array(entities),
        ]), status: .badRequest)
    }
}
