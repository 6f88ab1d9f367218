import Admin
import Balancer
import DNSWire
import Foundation
import HTTPTypes
import Testing

/// `GET /dashboard` and the state document it polls, and the Basic authentication a browser uses for them.
@Suite struct DashboardTests {
    @Test func pageIsSelfContainedAndLocksDownWhatItMayLoad() async throws {
        let harness = try await AdminHarness.make()
        try await harness.test { (client: AdminHarness.Client) async throws in
            let page = try await client.send(.get, "/dashboard")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let policy = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"))
            #expect(page.text.contains("dashboard/state"))
            #expect(!page.text.contains("http://") && !page.text.contains("https://"), "no external URLs")
        }
    }

    @Test func stateShowsAddressesEjectionsTrafficAndDNS() async throws {
        let now = ContinuousClock.now
        let balancer = try BalancerStateTests.balancer(now: now)
        let ejected = Address(ip: try #require(IPAddress("10.0.0.1")), port: 8081)
        #expect(balancer.eject(ejected, until: now + .seconds(600), now: now))
        var history = EjectionHistory()
        let wall = Date().timeIntervalSince1970
        history.ejected(ejected, reason: "passive", at: wall - 5)
        let frozen = history
        // Two requests: 5 ms (200) and 50 ms (503); bucket counts are cumulative.
        var traffic = ServiceTraffic(name: "api", bucketBounds: [0.01, 0.1])
        traffic.requests = 2
        traffic.errors = 1
        traffic.bucketCounts = [1, 2]
        traffic.latencySumSeconds = 0.055
        let counted = traffic
        var runtime = AdminRuntime(balancer: { $0 == "pool.internal" ? balancer : nil },
                                   dns: { [WatchedName(name: "_http._tcp.api.test", kind: "SRV", records: ["10 5 8081 a.api.test"],
                                                       ttl: 30, nextRefreshIn: 12, refreshedAgo: 18, status: "fresh",
                                                       lastError: nil, staleFor: nil, generation: 1, queries: 2)] })
        runtime.traffic = { [counted] }
        runtime.ejections = { $0 == "pool.internal" ? frozen : nil }
        let harness = try await AdminHarness.make()
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            try await BalancerStateTests.setUp(client)
            let state = try await client.send(.get, "/dashboard/state")
            #expect(state.status == .ok)
            let json = state.json
            #expect((json["node"] as? [String: Any])?["generation"] as? Int ?? 0 > 0)
            let upstream = try #require((json["upstreams"] as? [[String: Any]])?.first)
            #expect(upstream["name"] as? String == "pool.internal")
            let addresses = try #require(upstream["addresses"] as? [[String: Any]])
            let byAddress = Dictionary(uniqueKeysWithValues: addresses.map { ($0["address"] as? String ?? "", $0) })
            #expect(byAddress["10.0.0.1:8081"]?["health"] as? String == "ejected")
            #expect((byAddress["10.0.0.1:8081"]?["ejected_for_seconds"] as? Double ?? 0) > 500)
            #expect(byAddress["10.0.0.2:8082"]?["health"] as? String == "healthy")
            #expect(byAddress["127.0.0.1:9001"]?["weight"] as? Int == 100)
            let ejections = try #require(upstream["ejections"] as? [[String: Any]])
            #expect(ejections.count == 1 && ejections[0]["address"] as? String == "10.0.0.1:8081")
            #expect(ejections.first?["end"] is NSNull)
            let service = try #require((json["services"] as? [[String: Any]])?.first)
            #expect(service["requests_total"] as? Int == 2 && service["errors_total"] as? Int == 1)
            let buckets = try #require(service["latency_buckets"] as? [[String: Any]])
            #expect(buckets.map { $0["count"] as? Int } == [1, 2, 2])
            #expect(buckets.last?["le"] as? String == "+Inf")
            let dns = try #require((json["dns"] as? [[String: Any]])?.first)
            #expect(dns["records"] as? [String] == ["10 5 8081 a.api.test"])
        }
    }

    @Test func browsersAuthenticateWithBasicAndAreAskedToOnA401() async throws {
        let harness = try await AdminHarness.make()
        let reader = try await harness.store.createToken(name: "dashboard", role: .readOnly)
        try await harness.test(requireToken: true) { (client: AdminHarness.Client) async throws in
            let refused = try await client.send(.get, "/dashboard")
            #expect(refused.status == .unauthorized)
            #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("Basic ") == true)
            func basic(_ user: String, _ password: String) -> String {
                "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            }
            #expect(try await client.send(.get, "/dashboard", authorization: basic("anyone", reader)).status == .ok)
            #expect(try await client.send(.get, "/dashboard/state", authorization: basic("", reader)).status == .ok)
            #expect(try await client.send(.get, "/dashboard/state", authorization: basic("x", reader + "0")).status == .unauthorized)
            #expect(try await client.send(.get, "/dashboard", authorization: "Basic !!notbase64").status == .unauthorized)
            // A read-only token still cannot write, whichever way it comes.
            let write = try await client.send(.post, "/services", #"{"name": "s", "host": "s.internal"}"#,
                                              authorization: basic("x", reader))
            #expect(write.status == .forbidden)
        }
    }
}
