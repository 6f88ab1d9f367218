import DNSWire

/// One watched name's refresh state in a form that outlives the process: handed to the process that takes
/// over a node (or written to its state file), so a restart does not start cold. Instants become seconds
/// relative to the moment the state was taken (`ContinuousClock` instants mean nothing in another process,
/// or after a reboot).
public struct CarriedName: Sendable, Hashable, Codable {
    public var name: String
    /// "addresses" or "service".
    public var kind: String
    public var addresses: [String]?
    public var services: [CarriedService]?
    /// "fresh", "stale", "negative_hold" or "failed".
    public var status: String
    public var error: String?
    /// Seconds since the stale or negative-hold period began (positive: in the past).
    public var sinceAgo: Double?
    /// Seconds until the stale or negative-hold period ends.
    public var untilIn: Double?
    /// Seconds since the last good answer.
    public var refreshedAgo: Double?
    /// Seconds until the next query is due (negative: overdue).
    public var nextRefreshIn: Double
    public var ttl: UInt32?
    public var failures: Int
    public var generation: UInt64

    public struct CarriedService: Sendable, Hashable, Codable {
        public var priority: UInt16
        public var weight: UInt16
        public var port: UInt16
        public var target: String
        public var addresses: [String]
    }
}

extension NameRefreshState {
    /// The state as carried to another process, taken at `now`.
    public func carried(kind: String, now: ContinuousClock.Instant) -> CarriedName {
        func ago(_ instant: ContinuousClock.Instant) -> Double { CarriedTime.seconds(now - instant) }
        func ahead(_ instant: ContinuousClock.Instant) -> Double { CarriedTime.seconds(instant - now) }
        var carried = CarriedName(name: name, kind: kind, status: "failed", nextRefreshIn: ahead(nextRefresh),
                                  ttl: ttl, failures: consecutiveFailures, generation: generation)
        switch content {
        case .empty: break
        case .addresses(let list): carried.addresses = list.map(\.description)
        case .services(let records):
            carried.services = records.map {
                CarriedName.CarriedService(priority: $0.priority, weight: $0.weight, port: $0.port, target: $0.target,
                                           addresses: $0.addresses.map(\.description))
            }
        }
        switch status {
        case .fresh:
            carried.status = "fresh"
        case .stale(let error, let since, let until):
            carried.status = "stale"
            carried.error = error
            carried.sinceAgo = ago(since)
            carried.untilIn = ahead(until)
        case .negativeHold(let reason, let since, let until):
            carried.status = "negative_hold"
            carried.error = reason
            carried.sinceAgo = ago(since)
            carried.untilIn = ahead(until)
        case .failed(let error):
            carried.error = error
        }
        carried.refreshedAgo = refreshedAt.map(ago)
        return carried
    }

    /// The state `carried` describes, `elapsed` seconds after it was taken (0 for a hand-over; the state file's
    /// age otherwise), with this process's policy. Nil when the carried state does not make sense (a name that
    /// is not the one asked for, addresses that do not parse): the name then starts cold.
    public init?(restoring carried: CarriedName, name: String, policy: RefreshPolicy,
                 elapsed: Double, now: ContinuousClock.Instant) {
        guard carried.name == name, carried.nextRefreshIn.isFinite, elapsed.isFinite, elapsed >= 0 else { return nil }
        func instant(_ ahead: Double) -> ContinuousClock.Instant? { CarriedTime.instant(ahead, elapsed: elapsed, now: now) }
        self.init(name: name, policy: policy, now: now)
        var content: NameSnapshot.Content = .empty
        if let addresses = carried.addresses {
            let parsed = addresses.compactMap { IPAddress($0) }
            guard parsed.count == addresses.count else { return nil }
            content = .addresses(parsed)
        } else if let services = carried.services {
            var records: [ServiceRecord] = []
            for service in services {
                let parsed = service.addresses.compactMap { IPAddress($0) }
                guard parsed.count == service.addresses.count else { return nil }
                records.append(ServiceRecord(priority: service.priority, weight: service.weight, port: service.port,
                                             target: service.target, addresses: parsed))
            }
            content = .services(records)
        }
        let status: NameSnapshot.Status
        switch carried.status {
        case "fresh":
            status = .fresh
        case "stale", "negative_hold":
            guard let since = carried.sinceAgo.flatMap({ instant(-$0) }),
                  let until = carried.untilIn.flatMap({ instant($0) }) else { return nil }
            let error = carried.error ?? "unknown error"
            status = carried.status == "stale" ? .stale(error: error, since: since, until: until)
                                               : .negativeHold(reason: error, since: since, until: until)
        case "failed":
            status = .failed(error: carried.error ?? "not resolved yet")
        default:
            return nil
        }
        guard let next = instant(carried.nextRefreshIn) else { return nil }
        let refreshed = carried.refreshedAgo.flatMap { instant(-$0) }
        restore(content: Self.sorted(content), status: status, generation: carried.generation, refreshedAt: refreshed,
                nextRefresh: max(next, now), ttl: carried.ttl, failures: max(0, carried.failures))
    }
}
