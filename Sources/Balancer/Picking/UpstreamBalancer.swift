import Atomics
import Foundation

/// One upstream's balancer: turns targets and DNS snapshots into rings, picks addresses on the hot
/// path, and carries the health hooks.
///
/// Writers (`update`, `eject`, `restore`) are serialized by a lock only writers take; they build a
/// new `Ring` and publish it with one atomic store. Picks never wait: each event loop keeps the ring
/// it last saw and re-reads the shared reference only when the generation counter moved.
public final class UpstreamBalancer: Sendable {
    public let name: String
    /// The health overlay: state per `ip:port` that survives ring rebuilds.
    public let health: UpstreamHealth

    private let current: ManagedAtomic<Ring>
    /// The generation of `current`; an `UnsafeAtomic` (destroyed in `deinit`) so the per-pick check is
    /// a single load.
    private let published: UnsafeAtomic<UInt64>
    /// Per-loop states, kept alive by `loopStates`; picks read them without reference counting.
    private let loops: [Unmanaged<LoopState>]
    private let loopStates: [LoopState]
    private let writer: Writer
    /// The latency tuning outcomes need, as `Double` nanosecond bits, so recording an outcome does
    /// not have to load the ring reference (an atomic read-modify-write).
    private let decayBits: ManagedAtomic<UInt64>
    private let penaltyBits: ManagedAtomic<UInt64>

    /// The inputs of the next rebuild.
    ///
    /// `@unchecked Sendable`: its `var`s are read and written only while `lock` is held.
    private final class Writer: @unchecked Sendable {
        let lock = NSLock()
        var settings: UpstreamSettings
        var targets: [TargetSpec]
        var snapshots: [String: NameSnapshot]
        var expansion: TargetExpander.Result
        var generation: UInt64 = 0
        /// Told of every ring published, with its generation.
        var observers: [@Sendable (UInt64) -> Void] = []

        init(settings: UpstreamSettings, targets: [TargetSpec], snapshots: [String: NameSnapshot]) {
            self.settings = settings
            self.targets = targets
            self.snapshots = snapshots
            self.expansion = TargetExpander.expand(targets: targets, snapshot: { snapshots[$0] })
        }
    }

    /// - Parameters:
    ///   - loops: how many event loops will pick (each passes its index `0..<loops` to `pick`).
    ///   - seed: seeds the per-loop cursors and random choices (vary it per node so nodes do not
    ///     walk their rings in step).
    ///   - now: the epoch of this upstream's clock arithmetic, and the time of the first build.
    public init(name: String, settings: UpstreamSettings, targets: [TargetSpec],
                snapshots: [NameSnapshot] = [], loops: Int, seed: UInt64, now: ContinuousClock.Instant) {
        precondition(loops > 0, "an upstream needs at least one event loop")
        self.name = name
        self.health = UpstreamHealth(epoch: now)
        var byName: [String: NameSnapshot] = [:]
        for s in snapshots { byName[s.name.lowercased()] = s }
        let writer = Writer(settings: settings, targets: targets, snapshots: byName)
        self.writer = writer
        let ring = Self.build(writer, health: health, now: now)
        self.current = ManagedAtomic(ring)
        self.decayBits = ManagedAtomic(AddressHealth.nanoseconds(settings.latencyDecay).bitPattern)
        self.penaltyBits = ManagedAtomic(AddressHealth.nanoseconds(settings.failureLatencyPenalty).bitPattern)
        self.published = UnsafeAtomic.create(ring.generation)
        let states = (0..<loops).map { LoopState(ring: ring, seed: seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        self.loopStates = states
        self.loops = states.map { Unmanaged.passUnretained($0) }
    }

    deinit {
        published.destroy()
    }

    /// The ring picks use now.
    public var ring: Ring { current.load(ordering: .acquiring) }

    /// The DNS names this upstream's targets need watched.
    public var names: Set<String> {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        return Set(writer.targets.filter { $0.ip == nil }.map(\.host))
    }

    // MARK: Writers

    /// Replaces settings and/or targets (a config change) and publishes the new ring; unchanged ones change nothing.
    public func update(settings: UpstreamSettings? = nil, targets: [TargetSpec]? = nil, now: ContinuousClock.Instant) {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        // A reload or an Admin write re-applies every upstream; one it leaves as it was keeps its ring.
        if settings.map({ $0 == writer.settings }) ?? true, targets.map({ $0 == writer.targets }) ?? true { return }
        if let settings {
            writer.settings = settings
            decayBits.store(AddressHealth.nanoseconds(settings.latencyDecay).bitPattern, ordering: .relaxed)
            penaltyBits.store(AddressHealth.nanoseconds(settings.failureLatencyPenalty).bitPattern, ordering: .relaxed)
        }
        if let targets {
            writer.targets = targets
            let needed = Set(targets.map(\.host))
            writer.snapshots = writer.snapshots.filter { needed.contains($0.key) }
        }
        reexpand()
        publish(Self.build(writer, health: health, now: now))
    }

    /// Takes a new discovery snapshot into account; ignored when it is not newer than the one held
    /// or names no target of this upstream.
    public func update(snapshot: NameSnapshot, now: ContinuousClock.Instant) {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        let name = snapshot.name.lowercased()
        guard writer.targets.contains(where: { $0.host == name }) else { return }
        if let held = writer.snapshots[name], held.generation >= snapshot.generation { return }
        writer.snapshots[name] = snapshot
        reexpand()
        publish(Self.build(writer, health: health, now: now))
    }

    /// Takes an address out of picks at once, from any thread, without rebuilding the ring: a health decision
    /// made on an event loop takes effect before that loop's next pick, while `eject` (which rebuilds the
    /// ring and keeps the record) runs elsewhere.
    public func stopPicking(_ address: Address) {
        health.health(of: address)?.set(.ejected)
    }

    /// Takes an address out of rotation until `until`; the next pick on any loop skips it. Returns
    /// false for an address this upstream does not know.
    @discardableResult
    public func eject(_ address: Address, until: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Bool {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        guard health.eject(address, until: until, now: now) else { return false }
        publish(Self.build(writer, health: health, now: now))
        return true
    }

    /// Puts an ejected address back in rotation (half-open trial passed, probe passed, or an
    /// operator said so).
    @discardableResult
    public func restore(_ address: Address, now: ContinuousClock.Instant) -> Bool {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        guard health.restore(address) else { return false }
        publish(Self.build(writer, health: health, now: now))
        return true
    }

    /// Half-open: lets exactly one request (over all event loops) try an ejected address; its outcome
    /// then decides (`restore`, or `eject` again). Returns false if the address is not ejected.
    @discardableResult
    public func allowTrial(_ address: Address, now: ContinuousClock.Instant) -> Bool {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        guard health.allowTrial(address) else { return false }
        publish(Self.build(writer, health: health, now: now))
        return true
    }

    private func reexpand() {
        let snapshots = writer.snapshots
        writer.expansion = TargetExpander.expand(targets: writer.targets, snapshot: { snapshots[$0] })
    }

    private static func build(_ writer: Writer, health: UpstreamHealth, now: ContinuousClock.Instant) -> Ring {
        writer.generation += 1
        let states = health.adopt(writer.expansion.addresses.map(\.address), now: now)
        let stale = writer.snapshots.values.contains { snapshot in
            if case .fresh = snapshot.status { return false }
            return !snapshot.content.isEmpty
        }
        return RingBuilder.build(settings: writer.settings, expansion: writer.expansion,
                                 generation: writer.generation, servesStaleDNS: stale,
                                 health: { states[$0] ?? AddressHealth(address: $0) })
    }

    /// Publishes `ring`; called by writers only, under `writer.lock`.
    private func publish(_ ring: Ring) {
        current.store(ring, ordering: .releasing)
        published.store(ring.generation, ordering: .releasing)
        for observer in writer.observers { observer(ring.generation) }
    }

    /// Calls `observer` with the generation of every ring published from now on (a DNS answer, a config
    /// change, an ejection or a restore), so a follower such as the health monitor is told instead of polling.
    /// It runs on the writer's thread under the writer's lock: it must be quick and must not call back into
    /// this balancer.
    public func onRingChange(_ observer: @escaping @Sendable (UInt64) -> Void) {
        writer.lock.lock()
        defer { writer.lock.unlock() }
        writer.observers.append(observer)
    }

    // MARK: Hot path

    /// Picks an address for one request from event loop `loop`, or nil when no address is available
    /// (the proxy answers 503 at once). Allocation-free; takes no lock.
    ///
    /// `loop` must be in `0..<loops` and each index used from one thread at a time (its event loop).
    public func pick(_ context: PickContext, loop: Int) -> Pick? {
        let state = loops[loop].takeUnretainedValue()
        if published.load(ordering: .acquiring) != state.generation {
            let ring = current.load(ordering: .acquiring)
            state.ring = ring
            state.generation = ring.generation
        }
        // `state.ring` holds the ring strongly until this loop's next refresh, which only this loop
        // (this very call, above) performs: borrowing it here is safe.
        return state.borrowedRing._withUnsafeGuaranteedRef { ring in
            var nanos: Int64? = nil
            if ring.algorithm == .latency, let now = context.now { nanos = health.nanos(now) }
            for tier in ring.tiers {
                let i = tier.pick(ring.algorithm, context, state, nanos: nanos, decayNanos: ring.decayNanos)
                if i >= 0 {
                    let member = tier.members[i]
                    if tier.ignoresHealth || member.health.claim() {
                        member.health.inFlightCount.wrappingIncrement(ordering: .relaxed)
                        return Pick(address: member.address, priority: tier.priority, staleDNS: ring.servesStaleDNS,
                                    health: member.health)
                    }
                    // Another loop took this half-open address's single trial a moment ago.
                    var retry = context
                    retry.excluding.insert(member.address)
                    return pick(retry, loop: loop)
                }
            }
            return nil
        }
    }

    /// Ends a picked request with its outcome: returns the in-flight slot and records the outcome.
    @discardableResult
    public func finish(_ pick: Pick, outcome: Outcome, now: ContinuousClock.Instant) -> AddressHealth.Counters {
        let counters = record(pick.health, outcome, now: now)
        pick.health.inFlightCount.wrappingDecrement(ordering: .relaxed)
        return counters
    }

    /// Ends a picked request without an outcome worth counting (the client went away).
    public func release(_ pick: Pick) {
        pick.health.inFlightCount.wrappingDecrement(ordering: .relaxed)
    }

    /// Records an outcome not tied to a pick (an active probe). Returns nil for an unknown address.
    @discardableResult
    public func report(_ address: Address, outcome: Outcome, now: ContinuousClock.Instant) -> AddressHealth.Counters? {
        guard let state = health.health(of: address) else { return nil }
        return record(state, outcome, now: now)
    }

    /// Statuses counted as HTTP failures until the health settings say otherwise (issue 5's default).
    public static let defaultFailureStatuses: Set<Int> = [500, 502, 503, 504]

    private func record(_ state: AddressHealth, _ outcome: Outcome, now: ContinuousClock.Instant) -> AddressHealth.Counters {
        state.record(outcome, isFailureStatus: { Self.defaultFailureStatuses.contains($0) },
                     at: health.nanos(now),
                     decayNanos: Double(bitPattern: decayBits.load(ordering: .relaxed)),
                     penaltyNanos: Double(bitPattern: penaltyBits.load(ordering: .relaxed)))
    }
}
