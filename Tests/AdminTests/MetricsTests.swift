import Balancer
import DNSWire
import Foundation
import Testing
@testable import Admin

@Suite struct MetricsTests {
    @Test func textFormatEscapesLabelsAndDeclaresEachFamilyOnce() {
        var m = MetricsText()
        m.family("x_total", .counter, "An x.")
        m.sample("x_total", 3, labels: [("name", "a\"b\\c\nd")])
        m.sample("x_total", 1.5)
        m.family("y", .gauge, "A y.")
        #expect(m.text == """
            # HELP x_total An x.
            # TYPE x_total counter
            x_total{name="a\\"b\\\\c\\nd"} 3
            x_total 1.5
            # HELP y A y.
            # TYPE y gauge

            """)
    }

    @Test func metricsShowAddressHealthCountersAndDNS() async throws {
        let now = ContinuousClock.now
        let balancer = try BalancerStateTests.balancer(now: now)
        let ejected = Address(ip: try #require(IPAddress("10.0.0.2")), port: 8082)
        #expect(balancer.eject(ejected, until: now + .seconds(60), now: now))
        let name = WatchedName(name: "api.test", kind: "A/AAAA", records: ["10.0.0.1", "10.0.0.3"], ttl: 30,
                               nextRefreshIn: 12, refreshedAgo: 18, status: "stale", lastError: "timeout",
                               staleFor: 3000, generation: 4, queries: 7)
        let runtime = AdminRuntime(balancer: { $0 == "pool.internal" ? balancer : nil }, dns: { [name] },
                                   counters: { ["connections_accepted": 12, "connections_active": 2, "total_requests": 40,
                                                "dns_queries": 90, "dns_answers": 80, "dns_negative_answers": 6,
                                                "dns_failures": 4] })
        let harness = try AdminHarness()
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            try await BalancerStateTests.setUp(client)
            let answer = try await client.send(.get, "/metrics")
            #expect(answer.status == .ok)
            let lines = Set(answer.text.split(separator: "\n").map(String.init))
            for expected in [
                "switchyard_requests_total 40",
                "switchyard_connections_active 2",
                "switchyard_dns_resolver_queries_total 90",
                #"switchyard_dns_resolver_responses_total{outcome="answer"} 80"#,
                #"switchyard_dns_resolver_responses_total{outcome="negative"} 6"#,
                #"switchyard_dns_resolver_responses_total{outcome="failure"} 4"#,
                "# TYPE switchyard_upstream_address_failures_total counter",
                #"switchyard_upstream_address_available{upstream="pool.internal",address="10.0.0.1:8081"} 1"#,
                #"switchyard_upstream_address_available{upstream="pool.internal",address="10.0.0.2:8082"} 0"#,
                #"switchyard_upstream_address_ejected{upstream="pool.internal",address="10.0.0.2:8082"} 1"#,
                #"switchyard_upstream_address_available{upstream="pool.internal",address="127.0.0.1:9001"} 1"#,
                #"switchyard_dns_records{name="api.test",type="A/AAAA"} 2"#,
                #"switchyard_dns_fresh{name="api.test",type="A/AAAA"} 0"#,
                #"switchyard_dns_queries_total{name="api.test",type="A/AAAA"} 7"#,
            ] {
                #expect(lines.contains(expected), "missing: \(expected)\n\(answer.text)")
            }
        }
    }

    @Test func metricsShowNotifyCountersOnlyWithAListener() async throws {
        let harness = try AdminHarness()
        let runtime = AdminRuntime(notify: { ["accepted": 5, "bad_signature": 2, "malformed": 1, "refreshes": 3] })
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.get, "/metrics")
            let lines = Set(answer.text.split(separator: "\n").map(String.init))
            for expected in [
                "# TYPE switchyard_dns_notify_total counter",
                #"switchyard_dns_notify_total{result="accepted"} 5"#,
                #"switchyard_dns_notify_total{result="bad_signature"} 2"#,
                #"switchyard_dns_notify_total{result="malformed"} 1"#,
                "switchyard_dns_notify_refreshes_total 3",
            ] {
                #expect(lines.contains(expected), "missing: \(expected)\n\(answer.text)")
            }
            #expect(!answer.text.contains(#"result="refreshes""#))
        }
        try await harness.test(runtime: AdminRuntime()) { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.get, "/metrics")
            #expect(!answer.text.contains("switchyard_dns_notify"))
        }
    }
}
