import Balancer
import Foundation
import Proxy
import Testing
import TestSupport
@testable import Gateway

/// Finished requests into event-loop tallies, tallies into the request series, the series into Prometheus's text
/// format and per-service totals: without a proxy, a lock or a thread.
@Suite("request metrics series")
struct RequestSeriesTests {
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

    /// Each sample line of the exposition, by its name and labels.
    func samples(_ series: RequestSeries) -> [String: Double] {
        var bytes: [UInt8] = []
        series.emit(into: &bytes)
        var out: [String: Double] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    func tally(_ entries: [AccessLogEntry]) -> RequestTally {
        var tally = RequestTally()
        for entry in entries { tally.record(entry) }
        return tally
    }

    @Test("counts by status class, latency buckets, retries, flags, and connect/TTFB per address, over two loops")
    func records() throws {
        var series = RequestSeries(addressGrace: .seconds(60))
        let a = try #require(Address("10.0.0.1:80")), b = try #require(Address("10.0.0.2:80"))
        // Two event loops' tallies, handed over one after the other.
        series.add(tally([
            entry(status: 200, milliseconds: 3, tries: [
                .init(address: a, outcome: "ok", status: 200, connectMilliseconds: 0.2, ttfbMilliseconds: 2.5),
            ]),
            entry(status: 200, milliseconds: 40, tries: [
                .init(address: b, outcome: "connect_failed"),
                .init(address: a, outcome: "ok", status: 200, connectMilliseconds: 1, ttfbMilliseconds: 30),
            ], flags: [.upstreamConnectionFailure]),
        ]), now: origin)
        series.add(tally([
            entry(status: 503, milliseconds: 0.1, tries: [], flags: [.noHealthyUpstream, .servedStaleDNS]),
        ]), now: origin)
        let values = samples(series)
        #expect(values[#"switchyard_http_requests_total{service="shop",route="shop-route",code="2xx"}"#] == 2)
        #expect(values[#"switchyard_http_requests_total{service="shop",route="shop-route",code="5xx"}"#] == 1)
        #expect(values[#"switchyard_http_requests_total{service="shop",route="shop-route",code="4xx"}"#] == nil,
                "a status class never seen has no series")
        #expect(values[#"switchyard_http_request_duration_seconds_count{service="shop",route="shop-route"}"#] == 3)
        #expect(values[#"switchyard_http_request_duration_seconds_bucket{service="shop",route="shop-route",le="0.005"}"#] == 2)
        #expect(values[#"switchyard_http_request_duration_seconds_bucket{service="shop",route="shop-route",le="+Inf"}"#] == 3)
        let sum = try #require(values[#"switchyard_http_request_duration_seconds_sum{service="shop",route="shop-route"}"#])
        #expect(abs(sum - 0.0431) < 1e-9)
        #expect(values[#"switchyard_http_retries_total{service="shop"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="DS"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="UF"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="UH"}"#] == 1)
        #expect(values[#"switchyard_http_flagged_requests_total{flag="DC"}"#] == nil)
        #expect(values[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.2:80",outcome="connect_failed"}"#] == 1)
        #expect(values[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.1:80",outcome="ok"}"#] == 2)
        #expect(values[#"switchyard_upstream_ttfb_seconds_count{upstream="shop.up",address="10.0.0.1:80"}"#] == 2)
        #expect(values[#"switchyard_upstream_connect_duration_seconds_bucket{upstream="shop.up",address="10.0.0.1:80",le="0.001"}"#] == 2)
        #expect(values[#"switchyard_upstream_connect_duration_seconds_count{upstream="shop.up",address="10.0.0.2:80"}"#] == 0,
                "a failed connect has no connect time")

        let shop = try #require(series.traffic["shop"])
        #expect(shop.requests == 3 && shop.errors == 1)
        // 0.1 ms and 3 ms are at or under 5 ms; 40 ms is not.
        let fiveMs = try #require(shop.bucketBounds.firstIndex(of: 0.005))
        #expect(shop.bucketCounts[fiveMs] == 2)
        #expect(shop.bucketCounts.last == 3)
    }

    @Test("one HELP and TYPE line per name, bucket bounds ascending, label values escaped")
    func exposition() throws {
        var series = RequestSeries(addressGrace: .seconds(60))
        let a = try #require(Address("10.0.0.1:80"))
        series.add(tally([
            entry(service: "s", route: "say \"hi\"\\\nnow", status: 200, milliseconds: 1,
                  tries: [.init(address: a, outcome: "ok", status: 200, connectMilliseconds: 0, ttfbMilliseconds: 1)]),
            entry(service: "t", route: "r", status: 200, milliseconds: 1, tries: []),
        ]), now: origin)
        var bytes: [UInt8] = []
        series.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(types.count == Set(types).count, "\(types)")
        #expect(text.contains(#"route="say \"hi\"\\\nnow""#), "\(text)")
        // Every sample line is `name{labels} value`: no raw newline inside a label.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.hasPrefix("switchyard_"), "\(line)")
        }
        let bounds = text.split(separator: "\n")
            .filter { $0.hasPrefix(#"switchyard_http_request_duration_seconds_bucket{service="t""#) }
            .compactMap { line -> Double? in
                guard let range = line.range(of: #"le=""#) else { return nil }
                return Double(line[range.upperBound...].prefix { $0 != "\"" })
            }
        #expect(bounds == RequestTally.bucketSeconds + [.infinity], "the bounds, then +Inf")
    }

    @Test("a latency on a bucket's bound counts in that bucket (le is 'at or under')")
    func bucketBounds() {
        var histogram = LatencyHistogram()
        for bound in RequestTally.bucketSeconds { histogram.record(bound) }
        histogram.record(31)
        #expect(histogram.buckets == Array(repeating: 1, count: RequestTally.bucketSeconds.count + 1))
        #expect(histogram.cumulative == Array(1...RequestTally.bucketSeconds.count))
        #expect(histogram.count == RequestTally.bucketSeconds.count + 1)
    }

    @Test("a tally counts as a plain count would, however routes and addresses interleave and grow the tables")
    func tallyMatchesNaiveCounts() throws {
        var random = SeededGenerator(seed: 0x5EED_0007)
        let addresses = try (1...30).map { try #require(Address("10.0.1.\($0):80")) }
        var tally = RequestTally()
        var requests: [RequestTally.RouteKey: Int] = [:]
        var tries: [RequestTally.AddressKey: Int] = [:]
        var retries = 0
        for _ in 0..<3000 {
            // Runs of the same route, as real traffic has, and jumps to any of 60 (new ones keep appearing).
            let route = Int.random(in: 0..<60, using: &random)
            let attempts = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                AccessLogEntry.Try(address: addresses[Int.random(in: 0..<addresses.count, using: &random)],
                                   outcome: Bool.random(using: &random) ? "ok" : "failed")
            }
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let request = entry(service: "svc\(route % 7)", route: "r\(route)", status: 200, milliseconds: 1,
                                    tries: attempts)
                tally.record(request)
                requests[RequestTally.RouteKey(service: "svc\(route % 7)", route: "r\(route)"), default: 0] += 1
                for attempt in attempts {
                    tries[RequestTally.AddressKey(upstream: "shop.up", address: attempt.address), default: 0] += 1
                }
                retries += max(0, attempts.count - 1)
            }
        }
        #expect(tally.routes.mapValues { $0.statuses[2] } == requests)
        #expect(tally.addresses.mapValues { $0.tries.reduce(0, +) } == tries)
        #expect(tally.routes.values.map(\.retries).reduce(0, +) == retries)
        #expect(tally.requests == requests.values.reduce(0, +))
    }

    @Test("an address that left DNS loses its series after the grace period; one still in the ring keeps them")
    func dropsAddressesThatLeft() throws {
        var series = RequestSeries(addressGrace: .seconds(60))
        let a = try #require(Address("10.0.0.1:80")), b = try #require(Address("10.0.0.2:80"))
        let present: (String, Address) -> Bool = { _, address in address == a }
        for address in [a, b] {
            series.add(tally([entry(status: 200, milliseconds: 1, tries: [
                .init(address: address, outcome: "ok", status: 200, connectMilliseconds: 0.1, ttfbMilliseconds: 0.5),
            ])]), now: origin)
        }
        #expect(series.sweep(now: origin + .seconds(59), present: present) == 0, "within the grace period")
        #expect(series.sweep(now: origin + .seconds(61), present: present) == 1)
        #expect(series.addressCount == 1)
        var bytes: [UInt8] = []
        series.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("10.0.0.2:80"), "\(text)")
        #expect(text.contains(#"address="10.0.0.1:80""#))
        // It comes back with fresh series when it gets traffic again.
        series.add(tally([entry(status: 200, milliseconds: 1, tries: [.init(address: b, outcome: "ok", status: 200)])]),
                   now: origin + .seconds(62))
        #expect(samples(series)[#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.2:80",outcome="ok"}"#] == 1)
        // A request keeps an address's series: one used within the grace period is not dropped though it left DNS.
        #expect(series.sweep(now: origin + .seconds(100), present: { _, _ in false }) == 1, "only a (idle since 0 s)")
        #expect(series.addressCount == 1)
    }

    @Test("RequestMetrics: tallies from several threads at once add up; the dashboard reads the totals")
    func concurrentHandOvers() async throws {
        let metrics = RequestMetrics(present: { _, _ in true })
        let a = try #require(Address("10.0.0.1:80"))
        let one = tally((0..<100).map { _ in
            entry(status: 200, milliseconds: 2, tries: [.init(address: a, outcome: "ok", status: 200)])
        })
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<50 { metrics.observe(one) } }
            }
        }
        var bytes: [UInt8] = []
        metrics.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"switchyard_http_requests_total{service="shop",route="shop-route",code="2xx"} 40000"#))
        #expect(text.contains(#"switchyard_upstream_tries_total{upstream="shop.up",address="10.0.0.1:80",outcome="ok"} 40000"#))
        #expect(metrics.traffic.map(\.requests) == [40000])
    }

    @Test("RequestMetrics' sweep drops an idle address that left its ring, and keeps the route's series")
    func sweepThroughTheNode() throws {
        let metrics = RequestMetrics(addressGrace: .seconds(60), present: { _, _ in false })
        let a = try #require(Address("10.0.0.1:80"))
        metrics.observe(tally([entry(status: 200, milliseconds: 2, tries: [.init(address: a, outcome: "ok", status: 200)])]))
        #expect(metrics.sweep(now: .now + .seconds(30)) == 0, "within the grace period")
        #expect(metrics.sweep(now: .now + .seconds(61)) == 1)
        var bytes: [UInt8] = []
        metrics.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("10.0.0.1:80"), "\(text)")
        #expect(text.contains(#"switchyard_http_requests_total{service="shop",route="shop-route",code="2xx"} 1"#))
    }
}
