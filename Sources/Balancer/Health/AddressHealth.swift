import Atomics
import Foundation

/// The live state of one address, shared by every ring that contains it and by every pick token
/// handed out for it. Picks read `isAvailable` and bump `inFlight`; outcomes update the latency
/// estimate and the consecutive-outcome counters the circuit breaker reads.
///
/// Everything here is an atomic: many event loops pick and report at once, and no lock is shared.
/// The atomics live in one 128-byte block allocated with the object (what picks touch on the first
/// cache line, the breaker counters on the second), so a pick reaches them without chasing a pointer
/// per field. `@unchecked Sendable`: the block is only accessed through atomic operations, created in
/// `init`, freed in `deinit`, and never exposed.
public final class AddressHealth: @unchecked Sendable {
    public let address: Address
    private let slots: UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>

    private static let slotCount = 16

    @inline(__always)
    private func slot(_ i: Int) -> UnsafeAtomic<Int> { UnsafeAtomic(at: slots + i) }

    /// `Availability` raw value: read by every pick.
    var availabilityBits: UnsafeAtomic<Int> { slot(0) }
    var inFlightCount: UnsafeAtomic<Int> { slot(1) }
    /// Peak-EWMA latency in nanoseconds as `Double` bits; 0 = no sample yet.
    var ewmaBits: UnsafeAtomic<Int> { slot(2) }
    /// When `ewmaBits` was last updated, in nanoseconds since the upstream's epoch.
    var ewmaStamp: UnsafeAtomic<Int> { slot(3) }

    var connectFailures: UnsafeAtomic<Int> { slot(8) }
    var timeouts: UnsafeAtomic<Int> { slot(9) }
    var httpFailures: UnsafeAtomic<Int> { slot(10) }
    var successes: UnsafeAtomic<Int> { slot(11) }
    var totalRequests: UnsafeAtomic<Int> { slot(12) }
    var totalFailures: UnsafeAtomic<Int> { slot(13) }

    init(address: Address) {
        self.address = address
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Self.slotCount * MemoryLayout<UnsafeAtomic<Int>.Storage>.stride, alignment: 64)
        slots = raw.bindMemory(to: UnsafeAtomic<Int>.Storage.self, capacity: Self.slotCount)
        slots.initialize(repeating: UnsafeAtomic<Int>.Storage(0), count: Self.slotCount)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        UnsafeMutableRawPointer(slots).deallocate()
    }

    /// Whether picks may choose the address.
    public enum Availability: Int, Sendable {
        case available = 0
        /// Ejected: picks skip it from the next pick on.
        case ejected = 1
        /// Half-open: exactly one pick may take it as a trial, after which it is `ejected` again
        /// until the trial's outcome restores or re-ejects it.
        case trial = 2
    }

    public var availability: Availability {
        Availability(rawValue: availabilityBits.load(ordering: .relaxed)) ?? .ejected
    }

    /// False while the address is ejected or waiting for its half-open trial to finish.
    public var isAvailable: Bool { availabilityBits.load(ordering: .relaxed) == Availability.available.rawValue }

    /// Whether a pick may consider the address (available, or half-open with the trial not taken).
    @inline(__always)
    var isPickable: Bool { availabilityBits.load(ordering: .relaxed) != Availability.ejected.rawValue }

    /// Called for the address a pick settled on: true if it may go there. A half-open address is
    /// claimed by exactly one pick.
    @inline(__always)
    func claim() -> Bool {
        let state = availabilityBits.load(ordering: .relaxed)
        if state == Availability.available.rawValue { return true }
        if state == Availability.ejected.rawValue { return false }
        return availabilityBits.compareExchange(expected: Availability.trial.rawValue,
                                            desired: Availability.ejected.rawValue,
                                            ordering: .relaxed).exchanged
    }

    func set(_ state: Availability) {
        availabilityBits.store(state.rawValue, ordering: .relaxed)
    }

    /// Requests picked for this address and not yet finished, over all event loops.
    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// The current peak-EWMA latency estimate, nil before the first response.
    public var latencyEstimate: Duration? {
        let v = Self.double(ewmaBits.load(ordering: .relaxed))
        return v > 0 ? .nanoseconds(Int64(v)) : nil
    }

    /// Consecutive outcomes of each kind since the last outcome of another kind (a success resets the
    /// failure counts, any failure resets `successes`), and totals since the state was created.
    public struct Counters: Sendable, Hashable {
        public var connectFailures: Int
        public var timeouts: Int
        public var httpFailures: Int
        public var successes: Int
        public var totalRequests: Int
        public var totalFailures: Int
    }

    public var counters: Counters {
        Counters(connectFailures: connectFailures.load(ordering: .relaxed),
                 timeouts: timeouts.load(ordering: .relaxed),
                 httpFailures: httpFailures.load(ordering: .relaxed),
                 successes: successes.load(ordering: .relaxed),
                 totalRequests: totalRequests.load(ordering: .relaxed),
                 totalFailures: totalFailures.load(ordering: .relaxed))
    }

    /// Records one outcome and returns the counters after it, so the breaker can decide at once.
    @discardableResult
    func record(_ outcome: Outcome, isFailureStatus: (Int) -> Bool, at nanos: Int64,
                decayNanos: Double, penaltyNanos: Double) -> Counters {
        totalRequests.wrappingIncrement(ordering: .relaxed)
        switch outcome {
        case .success(let latency):
            observeLatency(Self.nanoseconds(latency), at: nanos, decayNanos: decayNanos)
            succeeded()
        case .httpStatus(let status, let latency):
            observeLatency(Self.nanoseconds(latency), at: nanos, decayNanos: decayNanos)
            if isFailureStatus(status) {
                failed(httpFailures)
            } else {
                succeeded()
            }
        case .connectFailure:
            observeLatency(penaltyNanos, at: nanos, decayNanos: decayNanos)
            failed(connectFailures)
        case .timeout:
            observeLatency(penaltyNanos, at: nanos, decayNanos: decayNanos)
            failed(timeouts)
        }
        return counters
    }

    private func succeeded() {
        successes.wrappingIncrement(ordering: .relaxed)
        // Stores only when needed, so steady successes do not bounce the cache line between cores.
        Self.clear(connectFailures)
        Self.clear(timeouts)
        Self.clear(httpFailures)
    }

    private func failed(_ kind: UnsafeAtomic<Int>) {
        totalFailures.wrappingIncrement(ordering: .relaxed)
        kind.wrappingIncrement(ordering: .relaxed)
        Self.clear(successes)
    }

    @inline(__always)
    private static func clear(_ counter: UnsafeAtomic<Int>) {
        if counter.load(ordering: .relaxed) != 0 { counter.store(0, ordering: .relaxed) }
    }

    /// Peak-EWMA: a slower sample replaces the estimate at once; faster ones pull it down with weight
    /// `1 - exp(-elapsed / decay)`, so a slow address is avoided immediately and forgiven gradually.
    func observeLatency(_ sample: Double, at nanos: Int64, decayNanos: Double) {
        var old = ewmaBits.load(ordering: .relaxed)
        while true {
            let previous = Self.double(old)
            let next: Double
            if previous <= 0 || sample >= previous {
                next = sample
            } else {
                let elapsed = Double(max(0, nanos &- Int64(ewmaStamp.load(ordering: .relaxed))))
                let w = exp(-elapsed / decayNanos)
                next = previous * w + sample * (1 - w)
            }
            let (done, current) = ewmaBits.compareExchange(
                expected: old, desired: Int(bitPattern: UInt(max(next, 1).bitPattern)), ordering: .relaxed)
            if done { break }
            old = current
        }
        ewmaStamp.store(Int(truncatingIfNeeded: nanos), ordering: .relaxed)
    }

    /// The estimate decayed to `nanos`, so an address that has been idle (because it was slow) is
    /// tried again eventually. 0 = unknown.
    @inline(__always)
    func latencyCost(at nanos: Int64?, decayNanos: Double) -> Double {
        let value = Self.double(ewmaBits.load(ordering: .relaxed))
        guard value > 0, let nanos else { return value }
        let elapsed = Double(nanos &- Int64(ewmaStamp.load(ordering: .relaxed)))
        // Under steady traffic the last update is a moment ago: skip `exp` when it would change
        // the estimate by less than 0.1%.
        if elapsed <= decayNanos * 0.001 { return value }
        return value * exp(-elapsed / decayNanos)
    }

    /// Forgets the history of a previous life: used when an address comes back after leaving DNS.
    func resetHistory() {
        set(.available)
        ewmaBits.store(0, ordering: .relaxed)
        for counter in [connectFailures, timeouts, httpFailures, successes, totalRequests, totalFailures] {
            counter.store(0, ordering: .relaxed)
        }
    }

    @inline(__always)
    static func double(_ bits: Int) -> Double { Double(bitPattern: UInt64(UInt(bitPattern: bits))) }

    /// The 128-bit attosecond count's two halves, each converted to `Double`: no 128-bit division. The standard
    /// library's (`components`: about 130 instructions; `attoseconds / 10^9`: several hundred; `d / d`, which
    /// converts 128-bit integers to `Double`: about 350) ran on every reported outcome.
    @inline(__always)
    static func nanoseconds(_ d: Duration) -> Double {
        let attoseconds = d.attoseconds
        let high = Int64(truncatingIfNeeded: attoseconds >> 64)
        let low = UInt64(truncatingIfNeeded: attoseconds)
        return Double(high) * 18_446_744_073.709_551_616 + Double(low) / 1e9  // 2^64 attoseconds in nanoseconds
    }
}
