/// When each address of one upstream is probed next, and what the probe results add up to. A plain
/// state machine (no clock, no sockets, seeded randomness): the monitor feeds it the ring's addresses,
/// asks which probes are due, and reports each result, getting back a `Verdict` to act on.
///
/// The wait before an address's next probe depends on whether it is ejected (Kong's healthy and
/// unhealthy intervals), so it is computed when asked rather than stored.
public struct ProbeScheduler: Sendable {
    public enum Verdict: Sendable, Hashable {
        case none
        /// `successes` passing probes in a row: the address should be in rotation.
        case healthy
        /// A failure threshold was reached: the address should be ejected.
        case unhealthy
    }

    /// What the scheduler remembers about one address.
    public struct Entry: Sendable, Hashable {
        /// The wait runs from here (when the address was first seen, or its last probe ended)…
        var anchor: ContinuousClock.Instant
        /// …for this share of the interval (drawn per wait, see `ProbeSettings.jitter`).
        var factor: Double
        public internal(set) var inFlight = false
        public internal(set) var successes = 0
        public internal(set) var tcpFailures = 0
        public internal(set) var timeouts = 0
        public internal(set) var httpFailures = 0
    }

    public private(set) var settings: ProbeSettings
    public private(set) var entries: [Address: Entry] = [:]
    public private(set) var inFlight = 0
    private var random: UInt64

    public init(settings: ProbeSettings, seed: UInt64) {
        self.settings = settings
        self.random = seed | 1
    }

    /// New settings: counters are kept, waits use the new intervals from now on.
    public mutating func update(_ settings: ProbeSettings) {
        self.settings = settings
    }

    /// Makes `addresses` the probed set: new ones get a first probe at a random point of their first
    /// interval (so a large upstream is not probed in one burst), gone ones are forgotten.
    public mutating func track(_ addresses: Set<Address>, now: ContinuousClock.Instant) {
        for address in entries.keys where !addresses.contains(address) {
            if entries[address]?.inFlight == true { inFlight -= 1 }
            entries[address] = nil
        }
        for address in addresses where entries[address] == nil {
            entries[address] = Entry(anchor: now, factor: nextUnit())
        }
    }

    /// When the address is due, or nil when it is not probed in its current state.
    public func due(_ address: Address, ejected: Bool) -> ContinuousClock.Instant? {
        guard let entry = entries[address], !entry.inFlight,
              let interval = settings.interval(ejected: ejected) else { return nil }
        return entry.anchor + interval * entry.factor
    }

    /// The probes to start now, at most `concurrency` running at once, earliest due first; they are
    /// marked in flight until `finished`.
    public mutating func start(now: ContinuousClock.Instant, isEjected: (Address) -> Bool) -> [Address] {
        let room = max(0, max(1, settings.concurrency) - inFlight)
        guard room > 0 else { return [] }
        var ready: [(ContinuousClock.Instant, Address)] = []
        for address in entries.keys {
            if let at = due(address, ejected: isEjected(address)), at <= now { ready.append((at, address)) }
        }
        ready.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        let chosen = ready.prefix(room).map(\.1)
        for address in chosen { entries[address]?.inFlight = true }
        inFlight += chosen.count
        return chosen
    }

    /// The earliest time a probe becomes due, for the monitor's sleep; nil when none will.
    public func nextDue(isEjected: (Address) -> Bool) -> ContinuousClock.Instant? {
        entries.keys.compactMap { due($0, ejected: isEjected($0)) }.min()
    }

    /// A probe ended. Returns what the consecutive results now say (Kong's counting: a pass resets
    /// the failures, a failure resets the passes, a status in neither list changes nothing).
    public mutating func finished(_ address: Address, result: ProbeResult, now: ContinuousClock.Instant) -> Verdict {
        guard var entry = entries[address] else { return .none }
        if entry.inFlight {
            entry.inFlight = false
            inFlight -= 1
        }
        entry.anchor = now
        entry.factor = 1 - settings.jitter * nextUnit()
        defer { entries[address] = entry }
        func failed(_ count: Int, _ threshold: Int) -> (Int, Verdict) {
            (count + 1, threshold > 0 && count + 1 >= threshold ? .unhealthy : .none)
        }
        let verdict: Verdict
        let passed: Bool
        switch result {
        case .connected:
            passed = true
        case .status(let status):
            if settings.healthyStatuses.contains(status) {
                passed = true
            } else if settings.unhealthyStatuses.contains(status) {
                entry.successes = 0
                (entry.httpFailures, verdict) = failed(entry.httpFailures, settings.httpFailures)
                return verdict
            } else {
                return .none
            }
        case .connectFailure, .failure:
            entry.successes = 0
            (entry.tcpFailures, verdict) = failed(entry.tcpFailures, settings.tcpFailures)
            return verdict
        case .timeout:
            entry.successes = 0
            (entry.timeouts, verdict) = failed(entry.timeouts, settings.timeouts)
            return verdict
        }
        guard passed else { return .none }
        entry.tcpFailures = 0
        entry.timeouts = 0
        entry.httpFailures = 0
        entry.successes += 1
        return settings.successes > 0 && entry.successes >= settings.successes ? .healthy : .none
    }

    /// How one result counts, before thresholds: what decides a half-open address at once.
    public enum Class: Sendable, Hashable { case pass, fail, ignored }

    public func classify(_ result: ProbeResult) -> Class {
        switch result {
        case .connected: return .pass
        case .status(let status):
            if settings.healthyStatuses.contains(status) { return .pass }
            return settings.unhealthyStatuses.contains(status) ? .fail : .ignored
        case .connectFailure, .failure, .timeout: return .fail
        }
    }

    /// Forgets an address's consecutive results (an operator overrode its health).
    public mutating func resetCounters(_ address: Address) {
        guard var entry = entries[address] else { return }
        entry.successes = 0
        entry.tcpFailures = 0
        entry.timeouts = 0
        entry.httpFailures = 0
        entries[address] = entry
    }

    /// A uniform value in [0, 1) from a splitmix64 sequence.
    private mutating func nextUnit() -> Double {
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}
