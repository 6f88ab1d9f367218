import Admin
import Balancer
import Proxy

/// The proxy's request series since start: counts and latency histograms by service, route and status class;
/// connect and time-to-first-byte histograms and try outcomes by upstream address; retries; flags. Event loops'
/// tallies are added to it (`add`), and `/metrics` renders it in Prometheus's text format.
///
/// Address series are dropped once the address has been out of its upstream's ring and unseen for `addressGrace`,
/// so label cardinality stays bounded when DNS churns. A value type with no lock: `RequestMetrics` holds it under one.
struct RequestSeries {
    private struct AddressSeries {
        var counts = RequestTally.AddressCounts()
        var lastSeen: ContinuousClock.Instant
    }

    let addressGrace: Duration

    private var routes: [RequestTally.RouteKey: RequestTally.RouteCounts] = [:]
    private var addresses: [RequestTally.AddressKey: AddressSeries] = [:]
    private var flags: [Int] = Array(repeating: 0, count: AccessLogEntry.Flags.names.count)

    init(addressGrace: Duration) {
        self.addressGrace = addressGrace
    }

    /// Adds what one event loop's requests counted since its last hand-over.
    mutating func add(_ tally: RequestTally, now: ContinuousClock.Instant) {
        for (key, counts) in tally.routes { routes[key, default: RequestTally.RouteCounts()].add(counts) }
        for (key, counts) in tally.addresses {
            addresses[key, default: AddressSeries(lastSeen: now)].counts.add(counts)
            addresses[key]?.lastSeen = now
        }
        for index in flags.indices { flags[index] += tally.flags[index] }
    }

    /// Addresses that saw no request for `addressGrace`: their series go if the address also left its ring.
    func idleAddresses(now: ContinuousClock.Instant) -> [RequestTally.AddressKey] {
        addresses.compactMap { key, series in now - series.lastSeen > addressGrace ? key : nil }
    }

    /// Drops the series of `keys` that are still idle; returns how many went.
    @discardableResult
    mutating func drop(_ keys: [RequestTally.AddressKey], now: ContinuousClock.Instant) -> Int {
        var dropped = 0
        for key in keys {
            guard let series = addresses[key], now - series.lastSeen > addressGrace else { continue }
            addresses[key] = nil
            dropped += 1
        }
        return dropped
    }

    /// Drops the series of addresses that left their upstream's ring (`present` says no) and saw no request for
    /// `addressGrace`. Returns how many addresses were dropped.
    @discardableResult
    mutating func sweep(now: ContinuousClock.Instant, present: (_ upstream: String, _ address: Address) -> Bool) -> Int {
        drop(idleAddresses(now: now).filter { !present($0.upstream, $0.address) }, now: now)
    }

    /// Addresses with series now.
    var addressCount: Int { addresses.count }

    /// Each service's totals, by name, for the dashboard.
    var traffic: [String: ServiceTraffic] {
        var out: [String: ServiceTraffic] = [:]
        for (key, counts) in routes where !key.service.isEmpty {
            var service = out[key.service] ?? ServiceTraffic(name: key.service, bucketBounds: RequestTally.bucketSeconds)
            service.requests += counts.duration.count
            service.errors += counts.errors
            service.latencySumSeconds += counts.duration.sum
            for (index, value) in counts.duration.cumulative.enumerated() { service.bucketCounts[index] += value }
            out[key.service] = service
        }
        return out
    }

    // MARK: Prometheus text

    /// Appends every series in Prometheus's text format (0.0.4), one `# HELP`/`# TYPE` pair per name, series
    /// sorted by their labels so two scrapes list them in the same order.
    func emit(into out: inout [UInt8]) {
        let routeKeys = routes.keys.sorted { ($0.service, $0.route) < ($1.service, $1.route) }
        let addressKeys = addresses.keys.sorted { ($0.upstream, $0.address.description) < ($1.upstream, $1.address.description) }
        var text = PrometheusText(out)

        text.family("switchyard_http_requests_total", "counter",
                    "Requests answered, by service, route and status class (1xx..5xx).")
        for key in routeKeys {
            let counts = routes[key]?.statuses ?? []
            for (statusClass, value) in counts.enumerated() where value > 0 {
                text.sample("switchyard_http_requests_total",
                            [("service", key.service), ("route", key.route),
                             ("code", statusClass == 0 ? "other" : "\(statusClass)xx")], value)
            }
        }
        text.family("switchyard_http_request_duration_seconds", "histogram",
                    "Time from the request head to the end of the response, by service and route.")
        for key in routeKeys {
            guard let counts = routes[key] else { continue }
            text.histogram("switchyard_http_request_duration_seconds",
                           [("service", key.service), ("route", key.route)], counts.duration)
        }
        var retries: [String: Int] = [:]
        for (key, counts) in routes where counts.retries > 0 { retries[key.service, default: 0] += counts.retries }
        text.family("switchyard_http_retries_total", "counter", "Tries after the first, by service.")
        for service in retries.keys.sorted() {
            text.sample("switchyard_http_retries_total", [("service", service)], retries[service] ?? 0)
        }
        text.family("switchyard_http_flagged_requests_total", "counter",
                    "Requests by access-log flag: UH, UF, UT, URX, DC, DS (served on stale DNS).")
        for (index, (_, name)) in AccessLogEntry.Flags.names.enumerated() where flags[index] > 0 {
            text.sample("switchyard_http_flagged_requests_total", [("flag", name)], flags[index])
        }
        let addressHistograms: [(name: String, help: String, histogram: KeyPath<RequestTally.AddressCounts, LatencyHistogram>)] = [
            ("switchyard_upstream_connect_duration_seconds",
             "Wait for an upstream connection per try (about 0 from the keep-alive pool), by address.", \.connect),
            ("switchyard_upstream_ttfb_seconds",
             "Time from sending the request to the upstream's response head, by address.", \.ttfb),
        ]
        for (name, help, histogram) in addressHistograms {
            text.family(name, "histogram", help)
            for key in addressKeys {
                guard let series = addresses[key] else { continue }
                text.histogram(name, [("upstream", key.upstream), ("address", key.address.description)],
                               series.counts[keyPath: histogram])
            }
        }
        text.family("switchyard_upstream_tries_total", "counter",
                    "Tries by upstream address and outcome (ok, connect_failed, timeout, ...).")
        for key in addressKeys {
            guard let series = addresses[key] else { continue }
            for (outcome, value) in zip(series.counts.outcomes, series.counts.tries) {
                text.sample("switchyard_upstream_tries_total",
                            [("upstream", key.upstream), ("address", key.address.description), ("outcome", outcome)],
                            value)
            }
        }
        out = text.bytes
    }
}
