import Admin
import Balancer
import Prometheus
import Proxy

/// Records finished requests into a Prometheus registry: counts and latency histograms by service, route and status
/// class; connect and time-to-first-byte histograms and try outcomes by upstream address; retries; flags.
///
/// Used by one thread at a time (`RequestMetrics`' recorder thread), so its series caches need no lock. Address series
/// are dropped once the address has been out of its upstream's ring and unseen for `addressGrace`, so label
/// cardinality stays bounded when DNS churns.
struct RequestRecorder: Sendable {
    static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2) + .microseconds(500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]
    static var bucketSeconds: [Double] {
        buckets.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
    }

    /// Series keys as plain structs: a lookup hashes the names already held, and builds no string.
    private struct RouteKey: Hashable {
        var service: String
        var route: String
    }

    /// A route's series: found with one lookup per request.
    private struct RouteSeries {
        var duration: DurationHistogram
        /// Request counters by status class: index 0 for "other", 1 to 5 for 1xx to 5xx; made on first use.
        var requests: [Counter?] = Array(repeating: nil, count: 6)
    }

    private struct AddressKey: Hashable {
        var upstream: String
        var address: Address
    }

    private struct AddressSeries {
        var connect: DurationHistogram
        var ttfb: DurationHistogram
        var tries: [String: Counter] = [:]
        var lastSeen: ContinuousClock.Instant
    }

    let registry: PrometheusCollectorRegistry
    let addressGrace: Duration
    /// Whether an address is in its upstream's ring now (an address still in DNS keeps its series).
    let present: @Sendable (_ upstream: String, _ address: Address) -> Bool

    private var routes: [RouteKey: RouteSeries] = [:]
    private var retries: [String: Counter] = [:]
    private var flags: [String: Counter] = [:]
    private var addresses: [AddressKey: AddressSeries] = [:]
    private(set) var traffic: [String: ServiceTraffic] = [:]

    init(registry: PrometheusCollectorRegistry, addressGrace: Duration,
         present: @escaping @Sendable (String, Address) -> Bool) {
        self.registry = registry
        self.addressGrace = addressGrace
        self.present = present
    }

    private static var requestsName: MetricNameDescriptor {
        .switchyard("http_requests", unit: "total",
                    help: "Requests answered, by service, route and status class (1xx..5xx).")
    }
    private static var durationName: MetricNameDescriptor {
        .switchyard("http_request_duration", unit: "seconds",
                    help: "Time from the request head to the end of the response, by service and route.")
    }
    private static var retriesName: MetricNameDescriptor {
        .switchyard("http_retries", unit: "total",
                    help: "Tries after the first, by service.")
    }
    private static var flagsName: MetricNameDescriptor {
        .switchyard("http_flagged_requests", unit: "total",
                    help: "Requests by access-log flag: UH, UF, UT, URX, DC, DS (served on stale DNS).")
    }
    private static var connectName: MetricNameDescriptor {
        .switchyard("upstream_connect_duration", unit: "seconds",
                    help: "Wait for an upstream connection per try (about 0 from the keep-alive pool), by address.")
    }
    private static var ttfbName: MetricNameDescriptor {
        .switchyard("upstream_ttfb", unit: "seconds",
                    help: "Time from sending the request to the upstream's response head, by address.")
    }
    private static var triesName: MetricNameDescriptor {
        .switchyard("upstream_tries", unit: "total",
                    help: "Tries by upstream address and outcome (ok, connect_failed, timeout, ...).")
    }

    mutating func record(_ entry: AccessLogEntry, now: ContinuousClock.Instant) {
        let service = entry.service ?? ""
        let route = entry.route ?? ""
        let seconds = entry.totalMilliseconds / 1000
        let statusClass = entry.status >= 100 && entry.status < 600 ? entry.status / 100 : 0
        let key = RouteKey(service: service, route: route)
        // One hash lookup for the route's series on the usual path; they are made on first use.
        let index: Dictionary<RouteKey, RouteSeries>.Index
        if let found = routes.index(forKey: key) {
            index = found
        } else {
            let histogram = registry.makeDurationHistogram(
                descriptor: Self.durationName, labels: [("service", service), ("route", route)], buckets: Self.buckets)
            routes[key] = RouteSeries(duration: histogram)
            guard let made = routes.index(forKey: key) else { return }
            index = made
        }
        routes.values[index].duration.record(Self.duration(milliseconds: entry.totalMilliseconds))
        if let counter = routes.values[index].requests[statusClass] {
            counter.increment()
        } else {
            let code = statusClass == 0 ? "other" : "\(statusClass)xx"
            let counter = registry.makeCounter(
                descriptor: Self.requestsName, labels: [("service", service), ("route", route), ("code", code)])
            routes.values[index].requests[statusClass] = counter
            counter.increment()
        }
        if entry.tries.count > 1 {
            if retries[service] == nil {
                retries[service] = registry.makeCounter(descriptor: Self.retriesName, labels: [("service", service)])
            }
            retries[service]?.increment(by: Int64(entry.tries.count - 1))
        }
        for (flag, name) in AccessLogEntry.Flags.names where entry.flags.contains(flag) {
            if flags[name] == nil {
                flags[name] = registry.makeCounter(descriptor: Self.flagsName, labels: [("flag", name)])
            }
            flags[name]?.increment()
        }
        if !service.isEmpty {
            traffic[service, default: ServiceTraffic(name: service, bucketBounds: Self.bucketSeconds)]
                .add(seconds: seconds, status: entry.status)
        }
        guard let upstream = entry.upstream else { return }
        for attempt in entry.tries {
            let addressKey = AddressKey(upstream: upstream, address: attempt.address)
            // Updated in place: one lookup, and the series (with its dictionary) is not copied out and back.
            let index: Dictionary<AddressKey, AddressSeries>.Index
            if let found = addresses.index(forKey: addressKey) {
                index = found
            } else {
                addresses[addressKey] = makeSeries(addressKey, now: now)
                guard let made = addresses.index(forKey: addressKey) else { continue }
                index = made
            }
            addresses.values[index].lastSeen = now
            let series = addresses.values[index]
            if let connect = attempt.connectMilliseconds { series.connect.record(Self.duration(milliseconds: connect)) }
            if let ttfb = attempt.ttfbMilliseconds { series.ttfb.record(Self.duration(milliseconds: ttfb)) }
            if let counter = series.tries[attempt.outcome] {
                counter.increment()
            } else {
                let counter = registry.makeCounter(
                    descriptor: Self.triesName,
                    labels: [("upstream", upstream), ("address", attempt.address.description), ("outcome", attempt.outcome)])
                addresses.values[index].tries[attempt.outcome] = counter
                counter.increment()
            }
        }
    }

    private func makeSeries(_ key: AddressKey, now: ContinuousClock.Instant) -> AddressSeries {
        let labels = [("upstream", key.upstream), ("address", key.address.description)]
        return AddressSeries(
            connect: registry.makeDurationHistogram(descriptor: Self.connectName, labels: labels, buckets: Self.buckets),
            ttfb: registry.makeDurationHistogram(descriptor: Self.ttfbName, labels: labels, buckets: Self.buckets),
            lastSeen: now)
    }

    /// Drops the series of addresses that left their upstream's ring and saw no request for `addressGrace`.
    /// Returns how many addresses were dropped.
    @discardableResult
    mutating func sweep(now: ContinuousClock.Instant) -> Int {
        var dropped = 0
        for (key, series) in addresses where now - series.lastSeen > addressGrace && !present(key.upstream, key.address) {
            registry.unregisterDurationHistogram(series.connect)
            registry.unregisterDurationHistogram(series.ttfb)
            for counter in series.tries.values { registry.unregisterCounter(counter) }
            addresses[key] = nil
            dropped += 1
        }
        return dropped
    }

    /// Addresses with series now.
    var addressCount: Int { addresses.count }

    static func duration(milliseconds: Double) -> Duration {
        .nanoseconds(Int64((milliseconds * 1e6).rounded()))
    }
}
