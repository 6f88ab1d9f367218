import Foundation

/// The health overlay of one upstream: one `AddressHealth` per `ip:port`, living outside the rings so
/// that a DNS refresh or a config change never resets it (Kong issues 7835, 7652).
///
/// Lifetime rules:
/// - an address that stays in the ring keeps its state object;
/// - one that leaves is *draining*: no new picks, its in-flight requests finish on the same object,
///   and it is forgotten once idle and not ejected;
/// - one that comes back gets a fresh history, unless it was ejected and the ejection time has not
///   run out: then it comes back ejected.
///
/// `@unchecked Sendable`: every stored `var` is read and written only while `lock` is held; the
/// `AddressHealth` objects handed out are themselves `Sendable` (atomics).
public final class UpstreamHealth: @unchecked Sendable {
    /// Times given to the balancer are turned into nanoseconds since this instant.
    public let epoch: ContinuousClock.Instant

    private let lock = NSLock()
    private var members: [Address: AddressHealth] = [:]
    private var draining: [Address: (health: AddressHealth, since: ContinuousClock.Instant)] = [:]
    private var ejections: [Address: EjectionRecord] = [:]

    public init(epoch: ContinuousClock.Instant) {
        self.epoch = epoch
    }

    /// Through `Double` (`AddressHealth.nanoseconds`): exact to the nanosecond for days after the epoch, and
    /// within a few nanoseconds after that, plenty for decay and ejection times; no 128-bit division on every
    /// reported outcome.
    func nanos(_ instant: ContinuousClock.Instant) -> Int64 {
        let value = AddressHealth.nanoseconds(instant - epoch).rounded()
        return Int64(exactly: value) ?? (value < 0 ? .min : .max)
    }

    /// Makes `addresses` the members, applying the lifetime rules above, and returns their states.
    func adopt(_ addresses: [Address], now: ContinuousClock.Instant) -> [Address: AddressHealth] {
        lock.lock()
        defer { lock.unlock() }
        var next: [Address: AddressHealth] = [:]
        next.reserveCapacity(addresses.count)
        for address in addresses {
            if let health = members[address] {
                next[address] = health
            } else if let (health, _) = draining.removeValue(forKey: address) {
                returning(health, now: now)
                next[address] = health
            } else {
                let health = AddressHealth(address: address)
                returning(health, now: now)
                next[address] = health
            }
        }
        for (address, health) in members where next[address] == nil {
            draining[address] = (health, now)
        }
        members = next
        forgetIdle(now: now)
        return next
    }

    /// A returning address keeps an unexpired ejection; otherwise it starts with a clean history.
    private func returning(_ health: AddressHealth, now: ContinuousClock.Instant) {
        if let record = ejections[health.address], record.isActive, record.until > now {
            health.set(.ejected)
        } else {
            ejections[health.address] = nil
            health.resetHistory()
        }
    }

    private func forgetIdle(now: ContinuousClock.Instant) {
        for (address, entry) in draining where entry.health.inFlight <= 0 {
            let ejected = ejections[address].map { $0.isActive && $0.until > now } ?? false
            if !ejected {
                draining[address] = nil
                ejections[address] = nil
            }
        }
    }

    /// Takes an address out of rotation until `until` (the next pick skips it). Returns false for an
    /// address this upstream does not know.
    func eject(_ address: Address, until: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let health = members[address] ?? draining[address]?.health else { return false }
        health.set(.ejected)
        var record = ejections[address] ?? EjectionRecord(since: now, until: until, count: 0, isActive: false)
        record.since = now
        record.until = until
        record.count += 1
        record.isActive = true
        ejections[address] = record
        return true
    }

    /// Puts an address back in rotation; the ejection count is kept for the breaker's backoff.
    func restore(_ address: Address) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let health = members[address] ?? draining[address]?.health else { return false }
        health.set(.available)
        ejections[address]?.isActive = false
        return true
    }

    /// Lets exactly one pick try an ejected address (half-open). Returns false for an address this
    /// upstream does not know or that is not ejected.
    func allowTrial(_ address: Address) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let health = members[address] ?? draining[address]?.health,
              health.availability == .ejected else { return false }
        health.set(.trial)
        return true
    }

    /// The state object of a member or draining address.
    public func health(of address: Address) -> AddressHealth? {
        lock.lock()
        defer { lock.unlock() }
        return members[address] ?? draining[address]?.health
    }

    /// The ejection record of an address, if it has one.
    public func ejection(of address: Address) -> EjectionRecord? {
        lock.lock()
        defer { lock.unlock() }
        return ejections[address]
    }

    /// Active ejections whose time has run out at `now`: the breaker's cue for a half-open trial.
    public func expiredEjections(now: ContinuousClock.Instant) -> [Address] {
        lock.lock()
        defer { lock.unlock() }
        return ejections.filter { $0.value.isActive && $0.value.until <= now }.map(\.key).sorted()
    }

    /// Every member and draining address, sorted, for the admin API.
    public func statuses() -> [AddressStatus] {
        lock.lock()
        defer { lock.unlock() }
        var out: [AddressStatus] = []
        out.reserveCapacity(members.count + draining.count)
        func status(_ h: AddressHealth, _ m: AddressStatus.Membership) -> AddressStatus {
            AddressStatus(address: h.address, membership: m, isAvailable: h.isAvailable, inFlight: h.inFlight,
                          latencyEstimate: h.latencyEstimate, counters: h.counters, ejection: ejections[h.address])
        }
        for (_, h) in members { out.append(status(h, .member)) }
        for (_, d) in draining { out.append(status(d.health, .draining(since: d.since))) }
        return out.sorted { $0.address < $1.address }
    }

    /// Addresses that left the ring and still have requests in flight or an ejection in force.
    public var drainingAddresses: [Address] {
        lock.lock()
        defer { lock.unlock() }
        return draining.keys.sorted()
    }
}
