import Atomics

/// What the proxy has done since it started, summed over its event loops (for `/status`).
public struct ProxyStatistics: Sendable, Hashable {
    /// Client connections accepted.
    public var connectionsAccepted = 0
    /// Client connections open now.
    public var connectionsOpen = 0
    /// Requests started (including ones the proxy answered itself).
    public var requests = 0

    public init() {}
}

/// One event loop's counters. Only its loop writes them; anyone may read them, so they are atomics with
/// relaxed ordering, each loop's in its own objects (no cache line is shared between loops).
final class LoopStatistics: Sendable {
    let accepted = ManagedAtomic<Int>(0)
    let open = ManagedAtomic<Int>(0)
    let requests = ManagedAtomic<Int>(0)

    /// A plain load and store, not a read-modify-write: the loop is the only writer, so no update is lost,
    /// and the request path pays no locked instruction.
    @inline(__always)
    func bump(_ counter: ManagedAtomic<Int>, by delta: Int = 1) {
        counter.store(counter.load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }
}
