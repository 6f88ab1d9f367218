import Balancer
import Foundation
import Prometheus
import Proxy
import Testing
@testable import Gateway

/// Finished requests into Prometheus series and per-service totals, without a proxy or a thread.
@Suite("request metrics recorder")
struct RequestRecorderTests {
    let origin = ContinuousClock.now

    func entry(service: String = "shop", route: String = "shop-route", status: Int, milliseconds: Double,
               tries: [AccessLogEntry.Try], flags: AccessLogEntry.Flags = []) -> AccessLogEntry {
        var entry = AccessLogEntry(startedAt: 0, clientIP: "127.0.0.1", method: "GET", uri: "/")
        entry.service = service
        entry.route = route
        entry.upstream = "shop.up"
        entry.status = status
        entry.totalMilliseconds = milliseconds
        entry.tries = tries
        entry.flags = flags
        return entry
    }

    func series(_ registry: PrometheusCollectorRegistry) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in registry.emitToString().split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    @Test("counts by status class, latency buckets, retries, flags, and connect/TTFB per address")
    func records() throws {
        let registry = PrometheusCollectorRegistry()
        var recorder = RequestRecorder(registry: registry, addressGrace: .seconds(60), present: { _, _ in true })
        let a = try #require(Address("10.0.0.1:80")), b = try #require(Address("10.0.0.2:80"))
        recorder.record(entry(status: 200, milliseconds: 3, tries: [
            .init(address: a, outcome: "ok", status: 200, connectMilliseconds: 0.2, ttfbMilliseconds: 2.5),
        ]), now: origin)
        recorder.record(entry(status: 200, milliseconds: 40, tries: [
            .init(address: b, outcome: "connect_failed"),
            .init(address: a, outcome: "ok", status: 200, connectMilliseconds: 1, ttfbMilliseconds: 30),
        ], flags: [.upstreamConnectionFailure]), now: origin)
        recorder.record(entry(status: 503, milliseconds: 0.1, tries: [], flags: [.noHealthyUpstream, .servedStaleDNS]),
                        now: origin)
        let values = series(registry)
        #expect(values[#"switchyard_http_requests_total{service="shop",route="shop-route",code="2xx"}"#] == 2)
        #expect(values[#"switchyard_http_requests_total{service="shop",route="shop-route",code="5xx"}"#] == 1)
        #expect(values[#"switchyard_http_request_duration_seconds_count{service="shop",route="shop-route"}"#] == 3)
        #expect(values[#"switchyard_http_request_duration_seconds_bucket{service="shop",route="shop-route",le="0.005"}"#] == 2)
        #expect(values[#"switchyard_http_retries_total{service="shop"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="DS"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="UF"}"#] == 1)
        #expect(values[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.2:80",outcome="connect_failed"}"#] == 1)
        #expect(values[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.1:80",outcome="ok"}"#] == 2)
        #expect(values[#"switchyard_upstream_ttfb_seconds_count{upstream="shop.up",address="10.0.0.1:80"}"#] == 2)
        #expect(values[#"switchyard_upstream_connect_duration_seconds_bucket{upstream="shop.up",address="10.0.0.1:80",le="0.001"}"#] == 2)

        let shop = try #require(recorder.traffic["shop"])
        #expect(shop.requests == 3 && shop.errors == 1)
        // 0.1 ms and 3 ms are at or under 5 ms; 40 ms is not.
        let fiveMs = try #require(shop.bucketBounds.firstIndex(of: 0.005))
        #expect(shop.bucketCounts[fiveMs] == 2)
    }

    @Test("an address that left DNS loses its series after the grace period; one still in the ring keeps them")
    func dropsAddressesThatLeft() throws {
        let registry = PrometheusCollectorRegistry()
        let a = try #require(Address("10.0.0.1:80")), b = try #require(Address("10.0.0.2:80"))
        var recorder = RequestRecorder(registry: registry, addressGrace: .seconds(60), present: { _, address in address == a })
        for address in [a, b] {
            recorder.record(entry(status: 200, milliseconds: 1, tries: [
                .init(address: address, outcome: "ok", status: 200, connectMilliseconds: 0.1, ttfbMilliseconds: 0.5),
            ]), now: origin)
        }
        #expect(recorder.sweep(now: origin + .seconds(59)) == 0, "within the grace period")
        #expect(recorder.sweep(now: origin + .seconds(61)) == 1)
        #expect(recorder.addressCount == 1)
        let text = registry.emitToString()
        #expect(!text.contains("10.0.0.2:80"), "\(text)")
        #expect(text.contains(#"address="10.0.0.1:80""#))
        // It comes back with fresh series when it gets traffic again.
        recorder.record(entry(status: 200, milliseconds: 1, tries: [.init(address: b, outcome: "ok", status: 200)]),
                        now: origin + .seconds(62))
        #expect(series(registry)[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.2:80",outcome="ok"}"#] == 1)
    }
}
