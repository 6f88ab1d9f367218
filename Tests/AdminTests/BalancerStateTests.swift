import Admin
import Balancer
import DNSWire
import Foundation
import Testing
import Synchronization

@Suite struct BalancerStateTests {
    /// A balancer for `pool.internal`: an IP target, an SRV name with two entries, and a name with no answer.
    static func balancer(now: ContinuousClock.Instant) throws -> UpstreamBalancer {
        let srv = NameSnapshot(
            name: "_http._tcp.api.test",
            content: .services([
                ServiceRecord(priority: 10, weight: 5, port: 8081, target: "a.api.test",
                              addresses: [try #require(IPAddress("10.0.0.1"))]),
                ServiceRecord(priority: 20, weight: 1, port: 8082, target: "b.api.test",
                              addresses: [try #require(IPAddress("10.0.0.2"))]),
            ]),
            status: .fresh, generation: 1, refreshedAt: now, nextRefresh: now + .seconds(30), ttl: 30)
        return UpstreamBalancer(
            name: "pool.internal", settings: UpstreamSettings(),
            targets: [TargetSpec(host: "127.0.0.1", port: 9001, weight: 100),
                      TargetSpec(host: "_http._tcp.api.test", port: 80, weight: 100),
                      TargetSpec(host: "missing.api.test", port: 80, weight: 100)],
            snapshots: [srv], loops: 1, seed: 1, now: now)
    }

    static func setUp(_ client: AdminHarness.Client) async throws {
        let upstream = try await client.send(.post, "/upstreams", """
            {"name": "pool.internal", "healthchecks": {"passive": {"unhealthy": {"tcp_failures": 3}}}}
            """)
        #expect(upstream.status == .created)
        for target in ["127.0.0.1:9001", "_http._tcp.api.test:80", "missing.api.test:80"] {
            #expect(try await client.send(.post, "/upstreams/pool.internal/targets", #"{"target": "\#(target)"}"#).status == .created)
        }
    }

    @Test func healthListsExpansionAndEjections() async throws {
        let now = ContinuousClock.now
        let balancer = try Self.balancer(now: now)
        let ejected = Address(ip: try #require(IPAddress("10.0.0.2")), port: 8082)
        #expect(balancer.eject(ejected, until: now + .seconds(600), now: now))
        let runtime = AdminRuntime(balancer: { $0 == "pool.internal" ? balancer : nil }, nodeID: "node-1")
        let harness = try await AdminHarness.make()
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            try await Self.setUp(client)
            let answer = try await client.send(.get, "/upstreams/pool.internal/health")
            #expect(answer.status == .ok)
            #expect(answer.json["node_id"] as? String == "node-1")
            let byTarget = Dictionary(uniqueKeysWithValues: answer.data.map { ($0["target"] as? String ?? "", $0) })
            #expect(byTarget["127.0.0.1:9001"]?["health"] as? String == "HEALTHY")
            #expect(byTarget["missing.api.test:80"]?["health"] as? String == "DNS_ERROR")

            let srv = try #require(byTarget["_http._tcp.api.test:80"])
            #expect(srv["health"] as? String == "HEALTHY")
            let data = try #require(srv["data"] as? [String: Any])
            #expect(data["dns"] as? String == "SRV")
            let addresses = try #require(data["addresses"] as? [[String: Any]])
            #expect(addresses.map { $0["ip"] as? String } == ["10.0.0.1", "10.0.0.2"])
            #expect(addresses.map { $0["port"] as? Int } == [8081, 8082])
            #expect(addresses.map { $0["priority"] as? Int } == [10, 20])
            #expect(addresses.map { $0["health"] as? String } == ["HEALTHY", "UNHEALTHY"])
            let ejection = try #require(addresses[1]["ejection"] as? [String: Any])
            #expect(ejection["state"] as? String == "ejected")
            #expect((ejection["until_seconds"] as? Double ?? 0) > 500)
            let weight = try #require(data["weight"] as? [String: Any])
            #expect(weight["total"] as? Int == 6)
            #expect(weight["unavailable"] as? Int == 1)

            let overall = try await client.send(.get, "/upstreams/pool.internal/health?balancer_health=1")
            let entry = try #require(overall.json["data"] as? [String: Any])
            #expect(entry["balancer_health"] as? String == "HEALTHY")
            #expect(entry["health"] as? String == "HEALTHY")
            #expect(try await client.send(.get, "/upstreams/nope/health").status == .notFound)
        }
    }

    @Test func healthWithoutABalancerIsDNSError() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            try await Self.setUp(client)
            let answer = try await client.send(.get, "/upstreams/pool.internal/health")
            #expect(answer.data.count == 3)
            #expect(answer.data.allSatisfy { $0["health"] as? String == "DNS_ERROR" })
            let overall = try await client.send(.get, "/upstreams/pool.internal/health?balancer_health=1")
            #expect((overall.json["data"] as? [String: Any])?["balancer_health"] as? String == "UNHEALTHY")
        }
    }

    @Test func healthOverridesReachTheNode() async throws {
        let marks = Marks()
        let runtime = AdminRuntime(
            markTarget: { upstream, target, healthy in
                marks.add("\(upstream) \(target) \(healthy)")
                return nil
            },
            markAddress: { upstream, address, healthy in
                if address.port == 1 { return "upstream \(upstream) has no address \(address)" }
                marks.add("\(upstream) \(address) \(healthy)")
                return nil
            })
        let harness = try await AdminHarness.make()
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            try await Self.setUp(client)
            #expect(try await client.send(.put, "/upstreams/pool.internal/targets/127.0.0.1:9001/unhealthy").status == .noContent)
            #expect(try await client.send(.post, "/upstreams/pool.internal/targets/127.0.0.1:9001/healthy").status == .noContent)
            #expect(try await client.send(.put, "/upstreams/pool.internal/targets/_http._tcp.api.test:80/10.0.0.2:8082/unhealthy").status == .noContent)
            #expect(try await client.send(.put, "/upstreams/pool.internal/targets/_http._tcp.api.test:80/10.0.0.2:1/unhealthy").status == .notFound)
            #expect(try await client.send(.put, "/upstreams/pool.internal/targets/_http._tcp.api.test:80/bogus/unhealthy").status == .badRequest)
            #expect(try await client.send(.put, "/upstreams/pool.internal/targets/10.9.9.9:1/healthy").status == .notFound)
        }
        #expect(marks.all == ["pool.internal 127.0.0.1:9001 false", "pool.internal 127.0.0.1:9001 true",
                              "pool.internal 10.0.0.2:8082 false"])
    }

    @Test func dnsListsWatchedNames() async throws {
        let name = WatchedName(name: "api.test", kind: "A/AAAA", records: ["10.0.0.1"], ttl: 30, nextRefreshIn: 12,
                               refreshedAgo: 18, status: "stale", lastError: "timed out", staleFor: 3,
                               staleServeRemaining: 3597, generation: 4, queries: 9)
        let harness = try await AdminHarness.make()
        try await harness.test(runtime: AdminRuntime(dns: { [name] })) { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.get, "/dns")
            #expect(answer.status == .ok)
            let entry = try #require(answer.data.first)
            #expect(entry["name"] as? String == "api.test")
            #expect(entry["records"] as? [String] == ["10.0.0.1"])
            #expect(entry["ttl"] as? Int == 30)
            #expect(entry["stale"] as? Bool == true)
            #expect(entry["last_error"] as? String == "timed out")
            #expect(entry["stale_for"] as? Double == 3)
            #expect(entry["stale_serve_remaining"] as? Double == 3597)
        }
    }
}

/// Health overrides the Admin API asked for, in order.
final class Marks: Sendable {
    private let items = Mutex<[String]>([])
    func add(_ item: String) { items.withLock { $0.append(item) } }
    var all: [String] { items.withLock { $0 } }
}
