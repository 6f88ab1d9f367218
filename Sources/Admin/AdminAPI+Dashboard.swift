import Balancer
import Config
import Foundation
import HTTPTypes
import Hummingbird

extension AdminAPI {
    /// `GET /dashboard`, the live page, and `GET /dashboard/state`, the one JSON document it polls. Both sit behind
    /// the Admin API's token check like every other route (a browser sends the token as HTTP Basic's password).
    func addDashboardRoutes(_ router: Router<AdminRequestContext>) {
        router.get("/dashboard") { _, _ in
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
            // The page loads nothing from anywhere: the policy makes sure of it, and keeps it out of frames.
            headers[HTTPField.Name("Content-Security-Policy")!] =
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
                + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            return Response(status: .ok, headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/dashboard/state") { _, _ in
            AdminResponse.json(dashboardState(now: ContinuousClock.now, wallClock: Date()))
        }
    }

    /// Cumulative counts only: the page derives rates, shares and percentiles over its own window, so any number
    /// of open pages cost the node nothing between polls.
    func dashboardState(now: ContinuousClock.Instant, wallClock: Date) -> RawValue {
        let snapshot = store.snapshot
        let uptime = now - started
        func seconds(_ d: Duration) -> Double {
            ((Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * 1000).rounded() / 1000
        }
        // As the access log and the metrics name it: the upstream entity, or `host:port` for a plain host.
        var upstreamOfService: [String: String] = [:]
        for service in snapshot.config.services {
            upstreamOfService[service.displayName] = snapshot.config.upstream(forServiceHost: service.host)?.name
                ?? "\(service.host):\(service.port)"
        }
        let services: [RawValue] = runtime.traffic().map { traffic in
            var buckets: [RawValue] = zip(traffic.bucketBounds, traffic.bucketCounts).map { bound, count in
                .object(["le": .double(bound), "count": .int(count)])
            }
            buckets.append(.object(["le": .string("+Inf"), "count": .int(traffic.requests)]))
            return .object([
                "name": .string(traffic.name),
                "upstream": upstreamOfService[traffic.name].map { .string($0) } ?? .null,
                "requests_total": .int(traffic.requests), "errors_total": .int(traffic.errors),
                "latency_buckets": .array(buckets), "latency_sum_seconds": .double(traffic.latencySumSeconds),
            ])
        }
        let upstreams: [RawValue] = snapshot.config.upstreams.sorted { $0.name < $1.name }.map { upstream in
            upstreamState(upstream.name, now: now, wallClock: wallClock, seconds: seconds)
        }
        return .object([
            "node": .object([
                "id": .string(runtime.nodeID), "generation": .int(snapshot.generation),
                "version": .string(runtime.version), "uptime_seconds": .double(seconds(uptime)),
                "time": .double(wallClock.timeIntervalSince1970),
            ]),
            "cluster": .null,
            "services": .array(services),
            "upstreams": .array(upstreams),
            "dns": .array(runtime.dns().sorted { $0.name < $1.name }.map(\.json)),
        ])
    }

    private func upstreamState(_ name: String, now: ContinuousClock.Instant, wallClock: Date,
                               seconds: (Duration) -> Double) -> RawValue {
        guard let balancer = runtime.balancer(name) else {
            return .object(["name": .string(name), "addresses": .array([]), "ejections": .array([])])
        }
        let ring = balancer.ring
        var statuses: [Address: AddressStatus] = [:]
        for status in balancer.health.statuses() { statuses[status.address] = status }
        let addresses: [RawValue] = ring.addresses.map { entry in
            let status = statuses[entry.address]
            var health = "healthy"
            var ejectedFor: RawValue = .null
            if let ejection = status?.ejection, ejection.isActive {
                let left = ejection.until - now
                health = left > .zero ? "ejected" : "half_open"
                ejectedFor = .double(max(0, seconds(left)))
            } else if status?.isAvailable == false {
                health = "unhealthy"
            }
            let target = entry.sources.first.map { ring.targets[safe: $0.targetIndex]?.target.description ?? "" } ?? ""
            return .object([
                "address": .string(entry.address.description), "target": .string(target),
                "weight": .int(Int(entry.weight)), "priority": .int(Int(entry.priority)),
                "health": .string(health), "in_flight": .int(status?.inFlight ?? 0),
                "requests_total": .int(status?.counters.totalRequests ?? 0),
                "failures_total": .int(status?.counters.totalFailures ?? 0),
                "ejected_for_seconds": ejectedFor,
            ])
        }
        let recent = runtime.ejections(name)?.recent(now: wallClock.timeIntervalSince1970) ?? []
        let ejections: [RawValue] = recent.map { ejection in
            .object([
                "address": .string(ejection.address.description), "start": .double(ejection.start),
                "end": ejection.end.map { .double($0) } ?? .null, "reason": .string(ejection.reason),
            ])
        }
        return .object([
            "name": .string(name), "panic": .bool(ring.isPanicking), "stale_dns": .bool(ring.servesStaleDNS),
            "active_priority": ring.activePriority.map { .int(Int($0)) } ?? .null,
            "addresses": .array(addresses), "ejections": .array(ejections),
        ])
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
