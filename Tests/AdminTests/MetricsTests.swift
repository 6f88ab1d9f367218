import Balancer
import DNSWire
import Foundation
import Testing
@testable import Admin

@Suite struct MetricsTests {
    /// The exposition as series → value, after checking its shape: each family declared once with `# TYPE` before
    /// its samples, every sample line `name{labels} value` with a number.
    static func parse(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        var typed: Set<String> = []
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") {
                let name = String(line.split(separator: " ")[2])
                #expect(!typed.contains(name), "family declared twice: \(name)")
                typed.insert(name)
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            let series = String(line[..<space])
            let name = String(series.prefix { $0 != "{" })
            let family = typed.first { name == $0 || name.hasPrefix($0 + "_") }
            #expect(family != nil, "sample before its # TYPE: \(line)")
            values[series] = value
        }
        return values
    }

    @Test func metricsShowAddressHealthCountersAndDNS() async throws {
        let now = ContinuousClock.now
        let balancer = try BalancerStateTests.balancer(now: now)
        let ejected = Address(ip: try #require(IPAddress("10.0.0.2")), port: 8082)
        #expect(balancer.eject(ejected, until: now + .seconds(60), now: now))
        let name = WatchedName(name: "api.test", kind: "A/AAAA", records: ["10.0.0.1", "10.0.0.3"], ttl: 30,
                               nextRefreshIn: 12, refreshedAgo: 18, status: "stale", lastError: "timeout",
                               staleFor: 3000, generation: 4, queries: 7, failures: 3)
        let runtime = AdminRuntime(balancer: { $0 == "pool.internal" ? balancer : nil }, dns: { [name] },
                                   counters: { ["connections_accepted": 12, "connections_active": 2, "total_requests": 40,
                                                "dns_queries": 90, "dns_answers": 80, "dns_negative_answers": 6,
                                                "dns_failures": 4] })
        let harness = try await AdminHarness.make()
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            try await BalancerStateTests.setUp(client)
            let answer = try await client.send(.get, "/metrics")
            #expect(answer.status == .ok)
            let values = Self.parse(answer.text)
            #expect(answer.text.contains("# TYPE switchyard_upstream_address_failures_total counter"))
            for (series, value) in [
                ("switchyard_requests_total", 40.0),
                ("switchyard_connections_active", 2),
                ("switchyard_dns_resolver_queries_total", 90),
                (#"switchyard_dns_resolver_responses_total{outcome="answer"}"#, 80),
                (#"switchyard_dns_resolver_responses_total{outcome="negative"}"#, 6),
                (#"switchyard_dns_resolver_responses_total{outcome="failure"}"#, 4),
                (#"switchyard_upstream_address_available{upstream="pool.internal",address="10.0.0.1:8081"}"#, 1),
                (#"switchyard_upstream_address_available{upstream="pool.internal",address="10.0.0.2:8082"}"#, 0),
                (#"switchyard_upstream_address_ejected{upstream="pool.internal",address="10.0.0.2:8082"}"#, 1),
                (#"switchyard_upstream_address_available{upstream="pool.internal",address="127.0.0.1:9001"}"#, 1),
                (#"switchyard_dns_records{name="api.test",type="A/AAAA"}"#, 2),
                (#"switchyard_dns_fresh{name="api.test",type="A/AAAA"}"#, 0),
                (#"switchyard_dns_queries_total{name="api.test",type="A/AAAA"}"#, 7),
                (#"switchyard_dns_failures_total{name="api.test",type="A/AAAA"}"#, 3),
            ] {
                #expect(values[series] == value, "\(series): \(values[series].map { "\($0)" } ?? "missing")\n\(answer.text)")
            }
        }
    }

    @Test func metricsShowNotifyCountersOnlyWithAListener() async throws {
        let harness = try await AdminHarness.make()
        let runtime = AdminRuntime(notify: { ["accepted": 5, "bad_signature": 2, "malformed": 1, "refreshes": 3] })
        try await harness.test(runtime: runtime) { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.get, "/metrics")
            let values = Self.parse(answer.text)
            #expect(answer.text.contains("# TYPE switchyard_dns_notify_total counter"))
            for (series, value) in [
                (#"switchyard_dns_notify_total{result="accepted"}"#, 5.0),
                (#"switchyard_dns_notify_total{result="bad_signature"}"#, 2),
                (#"switchyard_dns_notify_total{result="malformed"}"#, 1),
                ("switchyard_dns_notify_refreshes_total", 3),
            ] {
                #expect(values[series] == value, "\(series)\n\(answer.text)")
            }
            #expect(!answer.text.contains(#"result="refreshes""#))
        }
        try await harness.test(runtime: AdminRuntime()) { (client: AdminHarness.Client) async throws in
            let answer = try await client.send(.get, "/metrics")
            #expect(!answer.text.contains("switchyard_dns_notify"))
        }
    }
}
