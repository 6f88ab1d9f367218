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
struct RequestRecorder {
    /// Latency bucket bounds in seconds, shared by every histogram here and the dashboard's per-service totals.
    /// Histograms of `Double` seconds, not `Duration`: a record compares the value with every bound, and a
    /// `Double` comparison is one instruction where a `Duration` one is a call.
    static let bucketSeconds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    /// Series keys as plain structs: a lookup hashes the names already held, and builds no string.
    private struct RouteKey: Hashable {
        var service: String
        var route: String
    }

    /// A route's series. A class, so the last one used is kept at hand (most requests in a batch follow the one
    /// before on the same route) and updated in place without copying it out of the dictionary and back.
    private final class RouteSeries: KeyedSeries {
        let key: RouteKey
        let duration: ValueHistogram
        /// Request counters by status class: index 0 for "other", 1 to 5 for 1xx to 5xx; made on first use.
        var requests: [Counter?] = Array(repeating: nil, count: 6)
        /// The service's dashboard totals (nil for a request without a service).
        var traffic: TrafficTally? = nil

        init(key: RouteKey, duration: ValueHistogram) {
            self.key = key
            self.duration = duration
        }
    }

    /// One service's dashboard totals, shared by its routes' series.
    private final class TrafficTally {
        var value: ServiceTraffic
        init(_ value: ServiceTraffic) { self.value = value }
    }

    private struct AddressKey: Hashable {
        var upstream: String
        var address: Address
    }

    private final class AddressSeries: KeyedSeries {
        let key: AddressKey
        let connect: ValueHistogram
        let ttfb: ValueHistogram
        /// Try counters by outcome, in the order first seen; a handful at most, so a scan beats hashing.
        var tries: [(outcome: String, counter: Counter)] = []
        var lastSeen: ContinuousClock.Instant

        init(key: AddressKey, connect: ValueHistogram, ttfb: ValueHistogram, lastSeen: ContinuousClock.Instant) {
            self.key = key
            self.connect = connect
            self.ttfb = ttfb
            self.lastSeen = lastSeen
        }
    }

    let registry: PrometheusCollectorRegistry
    let addressGrace: Duration
    /// Whether an address is in its upstream's ring now (an address still in DNS keeps its series).
    let present: @Sendable (_ upstream: String, _ address: Address) -> Bool

    private var routes: [RouteKey: RouteSeries] = [:]
    private var lastRoute: RouteSeries? = nil
    private var retries: [String: Counter] = [:]
    private var flags: [String: Counter] = [:]
    private var addresses: [AddressKey: AddressSeries] = [:]
    private var lastAddress: AddressSeries? = nil
    private var tallies: [String: TrafficTally] = [:]

    init(registry: PrometheusCollectorRegistry, addressGrace: Duration,
         present: @escaping @Sendable (String, Address) -> Bool) {
        self.registry = registry
        self.addressGrace = addressGrace
        self.present = present
    }

    /// Each service's totals, by name.
    var traffic: [String: ServiceTraffic] { tallies.mapValues(\.value) }

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
        let series = routeSeries(service: entry.service ?? "", route: entry.route ?? "")
        let seconds = entry.totalMilliseconds / 1000
        let statusClass = entry.status >= 100 && entry.status < 600 ? entry.status / 100 : 0
        series.duration.record(seconds)
        if let counter = series.requests[statusClass] {
            counter.increment()
        } else {
            let code = statusClass == 0 ? "other" : "\(statusClass)xx"
            let counter = registry.makeCounter(
                descriptor: Self.requestsName,
                labels: [("service", series.key.service), ("route", series.key.route), ("code", code)])
            series.requests[statusClass] = counter
            counter.increment()
        }
        series.traffic?.value.add(seconds: seconds, status: entry.status)
        if entry.tries.count > 1 {
            let service = series.key.service
            if retries[service] == nil {
                retries[service] = registry.makeCounter(descriptor: Self.retriesName, labels: [("service", service)])
            }
            retries[service]?.increment(by: Int64(entry.tries.count - 1))
        }
        if !entry.flags.isEmpty {
            for (flag, name) in AccessLogEntry.Flags.names where entry.flags.contains(flag) {
                if flags[name] == nil {
                    flags[name] = registry.makeCounter(descriptor: Self.flagsName, labels: [("flag", name)])
                }
                flags[name]?.increment()
            }
        }
        guard let upstream = entry.upstream else { return }
        for attempt in entry.tries {
            let series = addressSeries(upstream: upstream, address: attempt.address, now: now)
            series.lastSeen = now
            if let connect = attempt.connectMilliseconds { series.connect.record(connect / 1000) }
            if let ttfb = attempt.ttfbMilliseconds { series.ttfb.record(ttfb / 1000) }
            if let index = series.tries.firstIndex(where: { $0.outcome == attempt.outcome }) {
                series.tries[index].counter.increment()
            } else {
                let counter = registry.makeCounter(
                    descriptor: Self.triesName,
                    labels: [("upstream", upstream), ("address", attempt.address.description),
                             ("outcome", attempt.outcome)])
                series.tries.append((attempt.outcome, counter))
                counter.increment()
            }
        }
    }

    /// The route's series; made on first use.
    private mutating func routeSeries(service: String, route: String) -> RouteSeries {
        let registry = registry
        let series = Self.series(RouteKey(service: service, route: route), last: &lastRoute, in: &routes) { key in
            RouteSeries(key: key, duration: registry.makeValueHistogram(
                descriptor: Self.durationName, labels: [("service", service), ("route", route)],
                buckets: Self.bucketSeconds))
        }
        if series.traffic == nil && !service.isEmpty {
            let tally = tallies[service] ?? TrafficTally(ServiceTraffic(name: service, bucketBounds: Self.bucketSeconds))
            tallies[service] = tally
            series.traffic = tally
        }
        return series
    }

    /// The address's series; made on first use.
    private mutating func addressSeries(upstream: String, address: Address,
                                        now: ContinuousClock.Instant) -> AddressSeries {
        let registry = registry
        return Self.series(AddressKey(upstream: upstream, address: address), last: &lastAddress, in: &addresses) { key in
            let labels = [("upstream", upstream), ("address", address.description)]
            return AddressSeries(
                key: key,
                connect: registry.makeValueHistogram(descriptor: Self.connectName, labels: labels,
                                                     buckets: Self.bucketSeconds),
                ttfb: registry.makeValueHistogram(descriptor: Self.ttfbName, labels: labels,
                                                  buckets: Self.bucketSeconds),
                lastSeen: now)
        }
    }

    /// The series for `key`: the last one used when its key is the same (consecutive requests mostly share a
    /// route and an address, and equal strings from the same route compare without reading their bytes), else
    /// the table's, else a new one from `make`, kept in the table.
    private static func series<Key: Hashable, Series: KeyedSeries>(
        _ key: Key, last: inout Series?, in table: inout [Key: Series], make: (Key) -> Series
    ) -> Series where Series.Key == Key {
        if let last, last.key == key { return last }
        let series: Series
        if let found = table[key] {
            series = found
        } else {
            series = make(key)
            table[key] = series
        }
        last = series
        return series
    }

    /// Drops the series of addresses that left their upstream's ring and saw no request for `addressGrace`.
    /// Returns how many addresses were dropped.
    @discardableResult
    mutating func sweep(now: ContinuousClock.Instant) -> Int {
        var dropped = 0
        for (key, series) in addresses where now - series.lastSeen > addressGrace && !present(key.upstream, key.address) {
            registry.unregisterValueHistogram(series.connect)
            registry.unregisterValueHistogram(series.ttfb)
            for (_, counter) in series.tries { registry.unregisterCounter(counter) }
            addresses[key] = nil
            dropped += 1
        }
        if dropped > 0 { lastAddress = nil }
        return dropped
    }

    /// Addresses with series now.
    var addressCount: Int { addresses.count }
}

/// A series that knows the key it is filed under.
private protocol KeyedSeries: AnyObject {
    associatedtype Key: Hashable
    var key: Key { get }
}
