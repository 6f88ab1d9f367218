import Balancer
import Config
import DNSWire
import Foundation
import Hummingbird

extension AdminAPI {
    func addHealthRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/upstreams/:upstream/health") { request, context in
            let config = store.snapshot.config
            guard let id = parent(.upstreams, context.parameters.get("upstream")),
                  let upstream = config.upstream(id: id) else { return AdminResponse.notFound }
            let report = HealthReport(upstream: upstream, targets: config.targets(of: id),
                                      balancer: runtime.balancer(upstream.name), now: .now)
            let query = request.uri.queryParameters
            switch query.get("scope") {
            case nil, "node": break
            case "cluster": return await clusterHealth(upstream, config: config)
            case let other?:
                return AdminResponse.json(.object([
                    "name": .string("invalid scope"), "message": .string("scope must be node or cluster, got \"\(other)\""),
                    "fields": .object(["scope": .string("expected node or cluster")]),
                ]), status: .badRequest)
            }
            let flag = query.get("balancer_health")
            guard flag == nil || ["0", "1", "true", "false"].contains(flag ?? "") else {
                return AdminResponse.json(.object([
                    "name": .string("invalid balancer_health"), "message": .string("balancer_health must be 0 or 1"),
                    "fields": .object(["balancer_health": .string("expected 0 or 1")]),
                ]), status: .badRequest)
            }
            if flag == "1" || flag == "true" {
                return AdminResponse.json(.object(["data": report.balancerEntry(), "next": .null,
                                                   "node_id": .string(runtime.nodeID)]))
            }
            return AdminResponse.json(.object(["data": .array(report.targetEntries()), "next": .null,
                                               "node_id": .string(runtime.nodeID)]))
        }
        for method in ["healthy", "unhealthy"] {
            let healthy = method == "healthy"
            let target = "/upstreams/:upstream/targets/:target/"
            let handler: @Sendable (Request, AdminRequestContext) async throws -> Response = { _, context in
                mark(upstream: context.parameters.get("upstream"), target: context.parameters.get("target"),
                     address: nil, healthy: healthy)
            }
            let addressHandler: @Sendable (Request, AdminRequestContext) async throws -> Response = { _, context in
                mark(upstream: context.parameters.get("upstream"), target: context.parameters.get("target"),
                     address: context.parameters.get("address"), healthy: healthy)
            }
            // Kong answers both PUT (current) and POST (older releases).
            router.put(RouterPath(target + method), use: handler)
            router.post(RouterPath(target + method), use: handler)
            router.put(RouterPath(target + ":address/" + method), use: addressHandler)
            router.post(RouterPath(target + ":address/" + method), use: addressHandler)
        }
    }

    /// Operator override of a target's or one address's health: 204 when applied, 404 when unknown.
    func mark(upstream key: String?, target key2: String?, address: String?, healthy: Bool) -> Response {
        let config = store.snapshot.config
        guard let id = parent(.upstreams, key), let upstream = config.upstream(id: id),
              let targetID = EntityLookup.id(.targets, Self.decoded(key2 ?? ""), in: config, parent: ("upstream", id)),
              let target = config.targets.first(where: { $0.id == targetID }) else {
            return AdminResponse.notFound
        }
        let problem: String?
        if let address {
            guard let parsed = Self.address(Self.decoded(address)) else {
                return AdminResponse.json(.object([
                    "name": .string("invalid address"), "message": .string("expected ip:port, got \"\(address)\""),
                    "fields": .object(["address": .string("expected ip:port")]),
                ]), status: .badRequest)
            }
            problem = runtime.markAddress(upstream.name, parsed, healthy)
        } else {
            problem = runtime.markTarget(upstream.name, target.target, healthy)
        }
        if let problem { return AdminResponse.message(problem, status: .notFound) }
        logger.notice("operator marked health", metadata: [
            "upstream": "\(upstream.name)", "target": "\(target.target)", "address": "\(address ?? "all")",
            "healthy": "\(healthy)",
        ])
        return AdminResponse.noContent
    }

    /// `10.0.0.1:8000` or `[::1]:8000`.
    static func address(_ text: String) -> Address? {
        guard case let .success((host, port)) = Target.parse(text), let ip = IPAddress(host),
              let port = UInt16(exactly: port) else { return nil }
        return Address(ip: ip, port: port)
    }
}
