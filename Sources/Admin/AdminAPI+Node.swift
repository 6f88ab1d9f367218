import Config
import Foundation
import Hummingbird
import Store

extension AdminAPI {
    func addNodeRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/") { _, _ in
            AdminResponse.json(.object([
                "tagline": .string("Welcome to switchyard"), "node_id": .string(runtime.nodeID),
                "configuration": .object(["database": .string(store.location)]),
            ]))
        }
        router.get("/status") { _, _ in status() }
        router.get("/dns") { _, _ in
            let names = runtime.dns().sorted { $0.name < $1.name }
            return AdminResponse.json(.object(["data": .array(names.map(\.json)), "next": .null]))
        }
    }

    /// The node's state. 200 even while the database is down, as in Kong: the node still proxies and answers
    /// reads then, so a load balancer health-checking `/status` must not take every node out during an outage;
    /// `database.reachable` (and `switchyard_database_reachable` in `/metrics`) tells a monitor.
    func status() -> Response {
        let uptime = ContinuousClock.now - started
        let snapshot = store.snapshot
        var server: [String: RawValue] = [:]
        for (key, value) in runtime.counters() { server[key] = .int(value) }
        let health = store.health
        let reachable = health.reachable
        return AdminResponse.json(.object([
            "uptime_seconds": .double(Double(uptime.components.seconds)
                + Double(uptime.components.attoseconds) / 1e18),
            "started_at": .double(startedAt.timeIntervalSince1970.rounded()),
            "node_id": .string(runtime.nodeID),
            "version": .string(runtime.version),
            "configuration_generation": .int(snapshot.generation),
            "configuration_hash": .string(hashes.hash(generation: snapshot.generation, config: snapshot.config)),
            "server": .object(server),
            "database": .object([
                "reachable": .bool(reachable), "path": .string(store.location),
                // Started from the cache file while the database was down, and not caught up since.
                "from_cache": .bool(health.fromCache),
                "error": health.lastError.map { .string($0) } ?? .null,
            ]),
            "last_reload": runtime.lastReload().map { report in
                .object(["ok": .bool(report.ok), "source": .string(report.source),
                         "error": report.error.map { .string($0) } ?? .null,
                         "at": .double(report.at.timeIntervalSince1970.rounded()), "generation": .int(report.generation)])
            } ?? .null,
            "entities": .object([
                "services": .int(snapshot.config.services.count), "routes": .int(snapshot.config.routes.count),
                "upstreams": .int(snapshot.config.upstreams.count), "targets": .int(snapshot.config.targets.count),
                "consumers": .int(snapshot.config.consumers.count),
            ]),
        ]))
    }
}
