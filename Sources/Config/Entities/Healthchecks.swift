/// An upstream's health settings, in Kong's exact shape and defaults, plus Switchyard's ejection extensions.
///
/// Kong defaults leave every check off (intervals and counters 0). Switchyard adds what Kong lacks: a passively
/// ejected address comes back after `passive.unhealthy.ejectionTime` (times the number of consecutive ejections, up to
/// `maxEjectionTime`), at most `maxEjectionPercent` of addresses are ejected at once, and below `panicThreshold`
/// percent healthy the upstream routes to all addresses.
public struct Healthchecks: Sendable, Hashable {
    public var active: Active
    public var passive: Passive
    /// Kong's `threshold`: percentage of healthy weight below which the upstream is reported unhealthy (0 = off).
    public var threshold: Double
    /// Switchyard extension `max_ejection_percent`: cap on the share of addresses ejected at once (100 = no cap,
    /// Kong's behaviour).
    public var maxEjectionPercent: Double
    /// Switchyard extension `panic_threshold`: when fewer than this percentage of addresses are healthy, traffic
    /// goes to all of them rather than failing (0 = off, Kong's behaviour).
    public var panicThreshold: Double

    public init(active: Active = Active(), passive: Passive = Passive(), threshold: Double = 0,
                maxEjectionPercent: Double = 100, panicThreshold: Double = 0) {
        self.active = active
        self.passive = passive
        self.threshold = threshold
        self.maxEjectionPercent = maxEjectionPercent
        self.panicThreshold = panicThreshold
    }

    public enum ProbeType: String, Sendable, Hashable, CaseIterable {
        case http, https, tcp, grpc, grpcs
    }

    public struct Active: Sendable, Hashable {
        public var type: ProbeType
        /// Seconds.
        public var timeout: Double
        public var concurrency: Int
        public var httpPath: String
        public var httpsSNI: String?
        public var httpsVerifyCertificate: Bool
        /// Extra request headers for probes.
        public var headers: [String: [String]]
        public var healthy: ActiveHealthy
        public var unhealthy: ActiveUnhealthy

        public init(type: ProbeType = .http, timeout: Double = 1, concurrency: Int = 10, httpPath: String = "/",
                    httpsSNI: String? = nil, httpsVerifyCertificate: Bool = true, headers: [String: [String]] = [:],
                    healthy: ActiveHealthy = ActiveHealthy(), unhealthy: ActiveUnhealthy = ActiveUnhealthy()) {
            self.type = type
            self.timeout = timeout
            self.concurrency = concurrency
            self.httpPath = httpPath
            self.httpsSNI = httpsSNI
            self.httpsVerifyCertificate = httpsVerifyCertificate
            self.headers = headers
            self.healthy = healthy
            self.unhealthy = unhealthy
        }

        /// Active probing runs when either interval is positive.
        public var isEnabled: Bool { healthy.interval > 0 || unhealthy.interval > 0 }
    }

    public struct ActiveHealthy: Sendable, Hashable {
        /// Seconds between probes of a healthy address; 0 = no probes.
        public var interval: Double
        public var httpStatuses: [Int]
        public var successes: Int

        public init(interval: Double = 0, httpStatuses: [Int] = [200, 302], successes: Int = 0) {
            self.interval = interval
            self.httpStatuses = httpStatuses
            self.successes = successes
        }
    }

    public struct ActiveUnhealthy: Sendable, Hashable {
        public var interval: Double
        public var httpStatuses: [Int]
        public var tcpFailures: Int
        public var timeouts: Int
        public var httpFailures: Int

        public init(interval: Double = 0, httpStatuses: [Int] = [429, 404, 500, 501, 502, 503, 504, 505],
                    tcpFailures: Int = 0, timeouts: Int = 0, httpFailures: Int = 0) {
            self.interval = interval
            self.httpStatuses = httpStatuses
            self.tcpFailures = tcpFailures
            self.timeouts = timeouts
            self.httpFailures = httpFailures
        }
    }

    public struct Passive: Sendable, Hashable {
        public var type: ProbeType
        public var healthy: PassiveHealthy
        public var unhealthy: PassiveUnhealthy

        public init(type: ProbeType = .http, healthy: PassiveHealthy = PassiveHealthy(),
                    unhealthy: PassiveUnhealthy = PassiveUnhealthy()) {
            self.type = type
            self.healthy = healthy
            self.unhealthy = unhealthy
        }

        /// Passive checks (the circuit breaker) run when any unhealthy counter is positive.
        public var isEnabled: Bool {
            unhealthy.tcpFailures > 0 || unhealthy.timeouts > 0 || unhealthy.httpFailures > 0
        }
    }

    public struct PassiveHealthy: Sendable, Hashable {
        public var httpStatuses: [Int]
        public var successes: Int

        public init(httpStatuses: [Int] = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                           300, 301, 302, 303, 304, 305, 306, 307, 308],
                    successes: Int = 0) {
            self.httpStatuses = httpStatuses
            self.successes = successes
        }
    }

    public struct PassiveUnhealthy: Sendable, Hashable {
        public var httpStatuses: [Int]
        public var tcpFailures: Int
        public var timeouts: Int
        public var httpFailures: Int
        /// Switchyard extension `ejection_time` (seconds): how long a passively ejected address stays out before a
        /// half-open trial. 0 = never by itself (Kong's behaviour: only an active probe or the Admin API restores).
        public var ejectionTime: Double
        /// Switchyard extension `max_ejection_time` (seconds): cap on the growing ejection time.
        public var maxEjectionTime: Double

        public init(httpStatuses: [Int] = [429, 500, 503], tcpFailures: Int = 0, timeouts: Int = 0,
                    httpFailures: Int = 0, ejectionTime: Double = 30, maxEjectionTime: Double = 300) {
            self.httpStatuses = httpStatuses
            self.tcpFailures = tcpFailures
            self.timeouts = timeouts
            self.httpFailures = httpFailures
            self.ejectionTime = ejectionTime
            self.maxEjectionTime = maxEjectionTime
        }
    }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func range(_ value: Double, _ lo: Double, _ hi: Double, _ path: String) {
            if !(value >= lo && value <= hi) {
                issues.append(.error(.invalid, path, "must be between \(fmt(lo)) and \(fmt(hi)), got \(fmt(value))"))
            }
        }
        func counter(_ value: Int, _ path: String) {
            if value < 0 || value > 255 {
                issues.append(.error(.invalid, path, "must be between 0 and 255, got \(value)"))
            }
        }
        func statuses(_ list: [Int], _ path: String) {
            for (i, code) in list.enumerated() where code < 100 || code > 999 {
                issues.append(.error(.invalid, joinPath(path, i), "not an HTTP status code: \(code)"))
            }
        }
        let a = joinPath(base, "active")
        range(active.timeout, 0, 65535, joinPath(a, "timeout"))
        if active.concurrency < 1 || active.concurrency > 2_147_483_648 {
            issues.append(.error(.invalid, joinPath(a, "concurrency"), "must be 1 or more, got \(active.concurrency)"))
        }
        if !active.httpPath.hasPrefix("/") {
            issues.append(.error(.invalid, joinPath(a, "http_path"), "must start with \"/\""))
        }
        if active.isEnabled, active.type == .grpc || active.type == .grpcs {
            issues.append(.error(.invalid, joinPath(a, "type"),
                                 "\(active.type.rawValue) probes are not supported; use http, https or tcp, or set both intervals to 0"))
        }
        range(active.healthy.interval, 0, 65535, joinPath(a, "healthy.interval"))
        range(active.unhealthy.interval, 0, 65535, joinPath(a, "unhealthy.interval"))
        counter(active.healthy.successes, joinPath(a, "healthy.successes"))
        counter(active.unhealthy.tcpFailures, joinPath(a, "unhealthy.tcp_failures"))
        counter(active.unhealthy.timeouts, joinPath(a, "unhealthy.timeouts"))
        counter(active.unhealthy.httpFailures, joinPath(a, "unhealthy.http_failures"))
        statuses(active.healthy.httpStatuses, joinPath(a, "healthy.http_statuses"))
        statuses(active.unhealthy.httpStatuses, joinPath(a, "unhealthy.http_statuses"))
        let p = joinPath(base, "passive")
        counter(passive.healthy.successes, joinPath(p, "healthy.successes"))
        counter(passive.unhealthy.tcpFailures, joinPath(p, "unhealthy.tcp_failures"))
        counter(passive.unhealthy.timeouts, joinPath(p, "unhealthy.timeouts"))
        counter(passive.unhealthy.httpFailures, joinPath(p, "unhealthy.http_failures"))
        statuses(passive.healthy.httpStatuses, joinPath(p, "healthy.http_statuses"))
        statuses(passive.unhealthy.httpStatuses, joinPath(p, "unhealthy.http_statuses"))
        range(passive.unhealthy.ejectionTime, 0, 86400, joinPath(p, "unhealthy.ejection_time"))
        range(passive.unhealthy.maxEjectionTime, 0, 86400, joinPath(p, "unhealthy.max_ejection_time"))
        if passive.unhealthy.maxEjectionTime < passive.unhealthy.ejectionTime {
            issues.append(.error(.invalid, joinPath(p, "unhealthy.max_ejection_time"),
                                 "must be at least ejection_time (\(fmt(passive.unhealthy.ejectionTime)))"))
        }
        range(threshold, 0, 100, joinPath(base, "threshold"))
        range(maxEjectionPercent, 0, 100, joinPath(base, "max_ejection_percent"))
        range(panicThreshold, 0, 100, joinPath(base, "panic_threshold"))
        return issues
    }
}

/// `5` rather than `5.0` in messages.
func fmt(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}
