import Config
import Foundation
import Hummingbird
import Store

extension AdminAPI {
    func addNodeRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/") { _, _ in
            AdminResponse.json(.object([
                "tagline": .string("Welcome to switchyard"), "node_id": .string(runtime.nodeID),
                "configuration": .object(["database": .string(store.path)]),
            ]))
        }
        router.get("/status") { _, _ in status() }
        router.get("/dns") { _, _ in
            let names = runtime.dns().sorted { $0.name < $1.name }
            return AdminResponse.json(.object(["data": .array(names.map(\.json)), "next": .null]))
        }
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
        router.post("/config") { request, _ in
            var request = request
            guard let buffer = try? await request.collectBody(upTo: 16 << 20) else {
                return AdminResponse.message("request body too large (16 MiB at most)", status: .contentTooLarge)
            }
            var text = String(buffer: buffer)
            // Kong's form: {"config": "<declarative text>"}; otherwise the body is the file itself.
            if let wrapped = JSONValue.parse(text)?.object?["config"]?.string { text = wrapped }
            let loaded: DeclarativeConfig.Loaded
            do {
                loaded = try DeclarativeConfig.parse(text)
            } catch let error as ConfigError {
                return AdminResponse.invalid(error)
            } catch {
                return AdminResponse.message("\(error)", status: .badRequest)
            }
            return write({ _ in loaded.config }) { snapshot in
                AdminResponse.json(.object(["generation": .int(snapshot.generation),
                                            "services": .int(snapshot.config.services.count),
                                            "routes": .int(snapshot.config.routes.count),
                                            "upstreams": .int(snapshot.config.upstreams.count),
                                            "targets": .int(snapshot.config.targets.count),
                                            "consumers": .int(snapshot.config.consumers.count)]), status: .created)
            }
        }
    }

    func status() -> Response {
        let uptime = ContinuousClock.now - started
        let snapshot = store.snapshot
        var server: [String: JSONValue] = [:]
        for (key, value) in runtime.counters() { server[key] = .int(value) }
        let reachable = store.isReachable
        return AdminResponse.json(.object([
            "uptime_seconds": .double(Double(uptime.components.seconds)
                + Double(uptime.components.attoseconds) / 1e18),
            "started_at": .double(startedAt.timeIntervalSince1970.rounded()),
            "node_id": .string(runtime.nodeID),
            "configuration_generation": .int(snapshot.generation),
            "server": .object(server),
            "database": .object(["reachable": .bool(reachable), "path": .string(store.path)]),
            "entities": .object([
                "services": .int(snapshot.config.services.count), "routes": .int(snapshot.config.routes.count),
                "upstreams": .int(snapshot.config.upstreams.count), "targets": .int(snapshot.config.targets.count),
                "consumers": .int(snapshot.config.consumers.count),
            ]),
        ]), status: reachable ? .ok : .serviceUnavailable)
    }
}
