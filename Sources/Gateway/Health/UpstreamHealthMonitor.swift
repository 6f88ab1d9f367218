import Atomics
import Balancer
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import Proxy

/// Runs one upstream's health: turns proxied outcomes, probe results and operator overrides into
/// circuit-breaker transitions, and performs them on the upstream's balancer (eject, half-open trial,
/// restore). A background task wakes for half-open deadlines and due probes, and follows the ring,
/// so probes always cover exactly the addresses discovery currently gives the upstream.
///
/// Every transition is decided under one lock, and performed on the balancer by the monitor's serial queue,
/// so the balancer sees them in order and no ring is ever rebuilt on an event loop. An event loop takes the
/// lock only when something is wrong (`attention` counts the addresses with a non-resting breaker or a hold;
/// a success for an upstream at rest returns at once), decides in a few hundred nanoseconds, and queues the
/// ring change; an ejection also takes the address out of picks at once (one atomic store), so the request
/// after the one that reached the threshold never goes there.
public final class UpstreamHealthMonitor: Sendable {
    public let balancer: UpstreamBalancer
    private let client: ProbeClient
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    private let attention = ManagedAtomic<Int>(0)
    /// Whether passive checks are on: with them off and nothing to watch, failures return without the lock.
    private let passiveEnabled = ManagedAtomic<Bool>(false)
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// Where ring changes (eject, restore, half-open trial) run, in decision order, never on an event loop.
    private let queue: DispatchQueue
    /// Wakes the background task when the ring changes (DNS, config, ejections and restores), a probe ends
    /// or the settings change: it is told, instead of polling.
    private let waker = MonitorWaker()
    /// How long the background task sleeps at most when nothing is due: a safety net, since it is told of
    /// every change it follows.
    static let maxSleep: Duration = .seconds(5)
    static let minSleep: Duration = .milliseconds(10)

    struct State: Sendable {
        var policy: HealthPolicy
        /// Breakers not at rest (closed, no counts, no history); the others are implied.
        var breakers: [Address: CircuitBreaker] = [:]
        var holds: [Address: AddressHold] = [:]
        var scheduler: ProbeScheduler?
        /// The ring's addresses, as of `generation`.
        var members: Set<Address> = []
        var generation: UInt64 = 0
        var seed: UInt64
        /// Ejections of the last 10 minutes (the dashboard's timeline) and per-address totals (`/metrics`).
        var history = EjectionHistory()

        func isOut(_ address: Address) -> Bool {
            if holds[address] != nil { return true }
            guard let breaker = breakers[address] else { return false }
            return breaker.state != .closed
        }
    }

    public init(balancer: UpstreamBalancer, policy: HealthPolicy, client: ProbeClient = ProbeClient(),
                seed: UInt64 = UInt64.random(in: 0...UInt64.max),
                logger: Logger = Logger(label: "switchyard.health")) {
        self.balancer = balancer
        self.client = client
        self.logger = logger
        var initial = State(policy: policy, seed: seed)
        if let active = policy.active { initial.scheduler = ProbeScheduler(settings: active.schedule, seed: seed) }
        self.state = NIOLockedValueBox(initial)
        self.queue = DispatchQueue(label: "switchyard.health.\(balancer.name)")
        passiveEnabled.store(policy.isPassiveEnabled, ordering: .relaxed)
        balancer.onRingChange { [waker] _ in waker.signal() }
    }

    // MARK: Lifecycle

    /// Starts the background task (half-open deadlines, probes). Idempotent.
    public func start() {
        task.withLockedValue { task in
            guard task == nil else { return }
            task = Task { [self] in await self.run() }
        }
    }

    /// Stops the background task; probes in flight end within their timeout.
    public func stop() {
        task.withLockedValue { task in
            task?.cancel()
            task = nil
        }
    }

    /// New settings for the same upstream (a config reload): breakers, holds and probe counters stay.
    public func update(policy: HealthPolicy) {
        passiveEnabled.store(policy.isPassiveEnabled, ordering: .relaxed)
        state.withLockedValue { s in
            s.policy = policy
            if let active = policy.active {
                if s.scheduler == nil {
                    s.scheduler = ProbeScheduler(settings: active.schedule, seed: s.seed)
                    s.scheduler?.track(s.members, now: .now)
                } else {
                    s.scheduler?.update(active.schedule)
                }
            } else {
                s.scheduler = nil
            }
            // Addresses waiting for probes that no longer watch ejected addresses go back to the
            // half-open rules.
            if (policy.active?.schedule.unhealthyInterval ?? .zero) <= .zero {
                for (address, hold) in s.holds where hold == .probe { s.holds[address] = nil }
                attention.store(s.breakers.count + s.holds.count, ordering: .relaxed)
            }
        }
        waker.signal()
    }

    public var policy: HealthPolicy { state.withLockedValue { $0.policy } }

    // MARK: Outcomes from the proxy

    /// One proxied attempt on `address` ended with `outcome` (already recorded on the balancer). Called on an
    /// event loop: at rest it returns at once; otherwise it decides under the lock and queues any ring change.
    @inline(__always)
    public func observe(_ address: Address, outcome: Outcome, now: ContinuousClock.Instant) {
        if attention.load(ordering: .relaxed) == 0 {
            if case .success = outcome { return }
            if !passiveEnabled.load(ordering: .relaxed) { return }
        }
        observeSlow(address, outcome: outcome, now: now)
    }

    private func observeSlow(_ address: Address, outcome: Outcome, now: ContinuousClock.Instant) {
        state.withLockedValue { s in
            guard s.policy.isPassiveEnabled || s.breakers[address] != nil else { return }
            sync(&s, now: now)
            var breaker = s.breakers[address] ?? CircuitBreaker()
            let ejected = s.members.filter { s.isOut($0) }.count
            let mayEject = EjectionGuard.mayEject(ejected: ejected, total: s.members.count,
                                                  maxPercent: s.policy.passive.maxEjectionPercent)
            let action = breaker.outcome(outcome, settings: s.policy.passive, now: now, mayEject: mayEject)
            store(breaker, for: address, in: &s)
            perform(action, address, &s, now: now, cause: "passive")
        }
    }

    /// A picked attempt ended without a verdict. If it was a half-open trial, the next pick may try again.
    public func released(_ address: Address, now: ContinuousClock.Instant) {
        guard attention.load(ordering: .relaxed) > 0 else { return }
        state.withLockedValue { s in
            guard let breaker = s.breakers[address], case .halfOpen = breaker.state,
                  let health = balancer.health.health(of: address),
                  health.availability == .ejected, health.inFlight <= 0 else { return }
            let balancer = self.balancer
            queue.async { _ = balancer.allowTrial(address, now: now) }
        }
    }

    /// Waits until every ring change decided before the call is on the balancer (tests; reads that must see it).
    public func settle() {
        queue.sync {}
    }

    // MARK: Operator overrides

    /// Puts an address back in rotation now and forgets its failure counts. False if the upstream
    /// does not know the address.
    @discardableResult
    public func markHealthy(_ address: Address, now: ContinuousClock.Instant = .now) -> Bool {
        let known = state.withLockedValue { s in
            sync(&s, now: now)
            guard s.members.contains(address) || balancer.health.health(of: address) != nil else { return false }
            s.holds[address] = nil
            s.scheduler?.resetCounters(address)
            var breaker = s.breakers[address] ?? CircuitBreaker()
            _ = breaker.markHealthy(now: now)
            store(breaker, for: address, in: &s)
            perform(.restore, address, &s, now: now, cause: "manual")
            return true
        }
        // The ring change is queued under the lock; the operator's call returns once it is in force.
        if known { settle() }
        return known
    }

    /// Takes an address out of rotation until an operator or passing probes bring it back. False if
    /// the upstream does not know the address. Not limited by the max ejection percent: an operator's
    /// word is final.
    @discardableResult
    public func markUnhealthy(_ address: Address, now: ContinuousClock.Instant = .now) -> Bool {
        let known = state.withLockedValue { s in
            sync(&s, now: now)
            guard s.members.contains(address) || balancer.health.health(of: address) != nil else { return false }
            s.holds[address] = .manual
            s.scheduler?.resetCounters(address)
            var breaker = s.breakers[address] ?? CircuitBreaker()
            var action = breaker.markUnhealthy(settings: s.policy.passive, now: now)
            if case .none = action { action = .eject(until: now + s.policy.passive.maxEjectionTime) }
            store(breaker, for: address, in: &s)
            perform(action, address, &s, now: now, cause: "manual")
            return true
        }
        // The ring change is queued under the lock; the operator's call returns once it is in force.
        if known { settle() }
        return known
    }

    /// The current addresses of a target (Kong's `host:port` text, as in `TargetSpec.description`),
    /// nil when the upstream has no such target.
    public func addresses(ofTarget target: String) -> [Address]? {
        let wanted = target.lowercased()
        let ring = balancer.ring
        let matches = ring.targets.filter { $0.target.description.lowercased() == wanted }
        guard !matches.isEmpty else { return nil }
        return Array(Set(matches.flatMap(\.addresses))).sorted()
    }

    // MARK: Carrying over to a new process

    /// The breakers and holds that are not at rest, for the process that takes over this node.
    public func carried(now: ContinuousClock.Instant = .now) -> [CarriedBreaker] {
        state.withLockedValue { s in
            Set(s.breakers.keys).union(s.holds.keys).sorted().map { address in
                CarriedBreaker(address: address.description, breaker: s.breakers[address] ?? CircuitBreaker(),
                               hold: s.holds[address].map { $0 == .manual ? "manual" : "probe" }, now: now)
            }
        }
    }

    /// Takes the breakers and holds a predecessor carried (`elapsed` seconds ago) for the addresses the ring
    /// has now: an ejected address stays ejected for the rest of its time, a half-open one waits for a trial,
    /// one an operator marked unhealthy stays out until an operator or probes bring it back, and the ejection
    /// backoff goes on from where it was. Returns how many addresses were taken; the ring changes are in
    /// force when it returns.
    @discardableResult
    public func restore(_ carried: [CarriedBreaker], elapsed: Double = 0, now: ContinuousClock.Instant = .now) -> Int {
        let count = state.withLockedValue { s in
            sync(&s, now: now)
            var count = 0
            for item in carried {
                guard let address = Address(item.address), s.members.contains(address),
                      let breaker = item.breaker(elapsed: elapsed, now: now) else { continue }
                let hold: AddressHold? = item.hold == "manual" ? .manual : item.hold == "probe" ? .probe : nil
                s.holds[address] = hold
                store(breaker, for: address, in: &s)
                switch breaker.state {
                case .open(let until):
                    perform(.eject(until: max(until, now)), address, &s, now: now, cause: "carried over")
                case .halfOpen:
                    perform(.eject(until: now), address, &s, now: now, cause: "carried over, half-open")
                    perform(.allowTrial, address, &s, now: now, cause: "carried over")
                case .closed:
                    if hold != nil {
                        perform(.eject(until: now + s.policy.passive.maxEjectionTime), address, &s, now: now,
                                cause: "carried over, held")
                    }
                }
                count += 1
            }
            return count
        }
        settle()
        return count
    }

    // MARK: Reading

    /// The breaker of an address (a resting breaker when nothing happened to it).
    public func breaker(of address: Address) -> CircuitBreaker {
        state.withLockedValue { $0.breakers[address] ?? CircuitBreaker() }
    }

    /// Why an ejected address waits for a probe or an operator, if it does.
    public func hold(of address: Address) -> AddressHold? {
        state.withLockedValue { $0.holds[address] }
    }

    /// Whether too few addresses are healthy and traffic is spread over all of them (the ring applies
    /// the upstream's panic threshold).
    public var isPanicking: Bool { balancer.ring.isPanicking }

    /// The ejection history: running ejections, those that ended in the last 10 minutes, and totals per address.
    public var ejectionHistory: EjectionHistory { state.withLockedValue { $0.history } }

    /// The addresses the probes currently cover.
    public var probedAddresses: Set<Address> {
        state.withLockedValue { Set($0.scheduler?.entries.keys.map { $0 } ?? []) }
    }

    // MARK: Background work

    private func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let now = ContinuousClock.now
                let (due, request, wake) = step(now: now)
                if let request {
                    for address in due {
                        group.addTask { [self] in
                            let result = await client.probe(address, request)
                            probeFinished(address, result: result, now: .now)
                            // Its next probe, or a held-back one, may now be due.
                            waker.signal()
                        }
                    }
                }
                // Probes due but held back by `concurrency` leave `wake` in the past: still pause a little.
                let until = max(min(wake ?? now + Self.maxSleep, now + Self.maxSleep), now + Self.minSleep)
                await waker.wait(until: until)
            }
        }
    }

    /// Follows the ring, opens half-open trials whose time has come and starts due probes. Returns
    /// the probes to send and when to wake next.
    func step(now: ContinuousClock.Instant) -> ([Address], ProbeRequest?, ContinuousClock.Instant?) {
        state.withLockedValue { s in
            sync(&s, now: now)
            var wake: ContinuousClock.Instant? = nil
            if s.policy.passive.baseEjectionTime > .zero {
                for (address, breaker) in s.breakers where s.holds[address] == nil {
                    guard case .open(let until) = breaker.state else { continue }
                    if until <= now {
                        var next = breaker
                        let action = next.tick(now: now)
                        store(next, for: address, in: &s)
                        perform(action, address, &s, now: now, cause: "ejection time over")
                    } else {
                        wake = min(wake ?? until, until)
                    }
                }
            }
            guard var scheduler = s.scheduler, let request = s.policy.active?.request else { return ([], nil, wake) }
            let state = s
            let due = scheduler.start(now: now, isEjected: { state.isOut($0) })
            if let next = scheduler.nextDue(isEjected: { state.isOut($0) }) { wake = min(wake ?? next, next) }
            s.scheduler = scheduler
            return (due, request, wake)
        }
    }

    /// A probe ended: counts it, and acts when it decides (a half-open address at once; otherwise
    /// once the healthy or unhealthy threshold is reached).
    func probeFinished(_ address: Address, result: ProbeResult, now: ContinuousClock.Instant) {
        state.withLockedValue { s in
            guard var scheduler = s.scheduler else { return }
            let verdict = scheduler.finished(address, result: result, now: now)
            let kind = scheduler.classify(result)
            let unhealthyProbed = scheduler.settings.unhealthyInterval > .zero
            s.scheduler = scheduler
            sync(&s, now: now)
            guard s.members.contains(address) else { return }
            var breaker = s.breakers[address] ?? CircuitBreaker()
            switch breaker.state {
            case .halfOpen where kind == .pass, .open where verdict == .healthy:
                s.holds[address] = nil
                let action = breaker.markHealthy(now: now)
                store(breaker, for: address, in: &s)
                perform(action, address, &s, now: now, cause: "probe passed")
            case .halfOpen where kind == .fail:
                let action = breaker.markUnhealthy(settings: s.policy.passive, now: now)
                store(breaker, for: address, in: &s)
                perform(action, address, &s, now: now, cause: "probe failed")
            case .closed where verdict == .unhealthy:
                let action = breaker.markUnhealthy(settings: s.policy.passive, now: now)
                if unhealthyProbed { s.holds[address] = .probe }
                store(breaker, for: address, in: &s)
                perform(action, address, &s, now: now, cause: "probes failed")
            default:
                break
            }
        }
    }

    // MARK: Transitions (lock held)

    /// Re-reads the ring's addresses when it changed: forgets breakers and holds of addresses that
    /// left (and stopped draining), and points the probes at the new set.
    private func sync(_ s: inout State, now: ContinuousClock.Instant) {
        let ring = balancer.ring
        guard ring.generation != s.generation else { return }
        s.generation = ring.generation
        let members = Set(ring.addresses.map(\.address))
        if members != s.members {
            s.members = members
            s.scheduler?.track(members, now: now)
        }
        // Addresses that left keep their state while they drain (an unexpired ejection follows them
        // if they come back); after that it is forgotten.
        let outside = Set(s.breakers.keys).union(s.holds.keys).subtracting(members)
        guard !outside.isEmpty else { return }
        let draining = Set(balancer.health.drainingAddresses)
        let wallClock = Date().timeIntervalSince1970
        for address in outside where !draining.contains(address) {
            s.breakers[address] = nil
            s.holds[address] = nil
            s.history.left(address, at: wallClock)
        }
        attention.store(s.breakers.count + s.holds.count, ordering: .relaxed)
    }

    private func store(_ breaker: CircuitBreaker, for address: Address, in s: inout State) {
        let resting = breaker.state == .closed && breaker.ejections == 0 && breaker.consecutiveTCPFailures == 0
            && breaker.consecutiveTimeouts == 0 && breaker.consecutiveHTTPFailures == 0
        s.breakers[address] = resting ? nil : breaker
        attention.store(s.breakers.count + s.holds.count, ordering: .relaxed)
    }

    /// Queues a decision's ring change on `queue` (never waited for under the lock, which event loops take); an
    /// ejection also takes the address out of picks at once.
    private func perform(_ action: CircuitBreaker.Action, _ address: Address, _ s: inout State,
                         now: ContinuousClock.Instant, cause: String) {
        let balancer = self.balancer
        let change: @Sendable () -> Void
        switch action {
        case .none:
            return
        case .eject(let until):
            logger.notice("address ejected", metadata: [
                "upstream": "\(balancer.name)", "address": "\(address)", "cause": "\(cause)",
                "for": "\(until - now)",
            ])
            balancer.stopPicking(address)
            s.history.ejected(address, reason: cause, at: Date().timeIntervalSince1970)
            change = { _ = balancer.eject(address, until: until, now: now) }
            // Passes seen before the ejection do not count towards bringing it back.
            s.scheduler?.resetCounters(address)
        case .allowTrial:
            change = { _ = balancer.allowTrial(address, now: now) }
        case .restore:
            logger.notice("address restored", metadata: [
                "upstream": "\(balancer.name)", "address": "\(address)", "cause": "\(cause)",
            ])
            s.history.restored(address, at: Date().timeIntervalSince1970)
            change = { _ = balancer.restore(address, now: now) }
        }
        queue.async(execute: change)
        attention.store(s.breakers.count + s.holds.count, ordering: .relaxed)
    }
}
