import Balancer

/// What one event loop's finished requests add to the request series since its last hand-over: counts and latency
/// buckets by route, tries and latencies by upstream address, flags.
///
/// Each loop records its requests into a tally of its own, with no lock, no allocation once its routes and
/// addresses are known, and no other thread; every 100 ms it hands the tally over (`RequestObserver`) and starts an
/// empty one. The receiver adds it to its totals under one lock per hand-over. A request costs a few hundred
/// instructions here, where copying its entry to a recorder thread that filled locked histograms cost about 5,000.
public struct RequestTally: Sendable {
    /// Latency bucket bounds in seconds, shared by every histogram of the request series and the dashboard.
    public static let bucketSeconds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    /// Request counts by route (a request without a service or route counts under empty names).
    public struct RouteKey: Hashable, Sendable {
        public var service: String
        public var route: String
        public init(service: String, route: String) {
            self.service = service
            self.route = route
        }
    }

    public struct RouteCounts: Sendable, Equatable {
        /// Requests by status class: index 0 for any other status, 1 to 5 for 1xx to 5xx.
        public var statuses: [Int] = Array(repeating: 0, count: 6)
        public var duration = LatencyHistogram()
        /// Tries after the first.
        public var retries = 0
        /// Requests that ended with a 5xx status, for the dashboard.
        public var errors: Int { statuses[5] }

        public init() {}

        public mutating func add(_ other: RouteCounts) {
            for index in statuses.indices { statuses[index] += other.statuses[index] }
            duration.add(other.duration)
            retries += other.retries
        }
    }

    public struct AddressKey: Hashable, Sendable {
        public var upstream: String
        public var address: Address
        public init(upstream: String, address: Address) {
            self.upstream = upstream
            self.address = address
        }
    }

    public struct AddressCounts: Sendable, Equatable {
        public var connect = LatencyHistogram()
        public var ttfb = LatencyHistogram()
        /// Tries by outcome ("ok", "connect_failed", …), in the order first seen: a handful at most, so a scan beats
        /// hashing.
        public var outcomes: [String] = []
        public var tries: [Int] = []

        public init() {}

        public mutating func count(_ outcome: String, by amount: Int = 1) {
            if let index = outcomes.firstIndex(of: outcome) {
                tries[index] += amount
            } else {
                outcomes.append(outcome)
                tries.append(amount)
            }
        }

        public mutating func add(_ other: AddressCounts) {
            connect.add(other.connect)
            ttfb.add(other.ttfb)
            for (outcome, amount) in zip(other.outcomes, other.tries) { count(outcome, by: amount) }
        }
    }

    public private(set) var routes: [RouteKey: RouteCounts] = [:]
    public private(set) var addresses: [AddressKey: AddressCounts] = [:]
    /// Requests by flag, in the order of `AccessLogEntry.Flags.names`.
    public private(set) var flags: [Int] = Array(repeating: 0, count: AccessLogEntry.Flags.names.count)
    public private(set) var requests = 0
    /// The entries used last: consecutive requests mostly share a route and an address, and names from the same
    /// route compare equal by their storage, without hashing.
    private var lastRoute: Dictionary<RouteKey, RouteCounts>.Index? = nil
    private var lastAddress: Dictionary<AddressKey, AddressCounts>.Index? = nil

    public init() {}

    public var isEmpty: Bool { requests == 0 }

    public mutating func record(_ entry: borrowing AccessLogEntry) {
        requests += 1
        let seconds = entry.totalMilliseconds / 1000
        let statusClass = entry.status >= 100 && entry.status < 600 ? entry.status / 100 : 0
        let routeIndex = index(of: RouteKey(service: entry.service ?? "", route: entry.route ?? ""),
                               last: &lastRoute, in: &routes, make: RouteCounts())
        routes.values[routeIndex].statuses[statusClass] += 1
        routes.values[routeIndex].duration.record(seconds)
        if entry.tries.count > 1 { routes.values[routeIndex].retries += entry.tries.count - 1 }
        if !entry.flags.isEmpty {
            for (position, (flag, _)) in AccessLogEntry.Flags.names.enumerated() where entry.flags.contains(flag) {
                flags[position] += 1
            }
        }
        guard let upstream = entry.upstream else { return }
        for attempt in entry.tries {
            let addressIndex = index(of: AddressKey(upstream: upstream, address: attempt.address),
                                     last: &lastAddress, in: &addresses, make: AddressCounts())
            if let connect = attempt.connectMilliseconds {
                addresses.values[addressIndex].connect.record(connect / 1000)
            }
            if let ttfb = attempt.ttfbMilliseconds { addresses.values[addressIndex].ttfb.record(ttfb / 1000) }
            addresses.values[addressIndex].count(attempt.outcome)
        }
    }

    /// The index of `key` in `table`: the last one used when the key is the same, else the table's, else a new
    /// entry. An insertion moves other entries, so it forgets the last index of every table of that kind.
    private func index<Key: Hashable, Value>(
        of key: Key, last: inout Dictionary<Key, Value>.Index?, in table: inout [Key: Value], make: @autoclosure () -> Value
    ) -> Dictionary<Key, Value>.Index {
        if let last, table.keys[last] == key { return last }
        if let found = table.index(forKey: key) {
            last = found
            return found
        }
        table[key] = make()
        // Just inserted, so present.
        let inserted = table.index(forKey: key) ?? table.startIndex
        last = inserted
        return inserted
    }
}
