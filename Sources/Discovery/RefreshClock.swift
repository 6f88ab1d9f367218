/// The watcher's time: when a refresh is due and how long to wait for it. The continuous clock in production;
/// tests pass a manual one and move it forward, so a TTL of 300 s is over at once instead of in 300 s.
public protocol RefreshClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns at `deadline`, or throws `CancellationError` when the waiting task is cancelled.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

/// Real time: `ContinuousClock`.
public struct SystemRefreshClock: RefreshClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await Task.sleep(until: deadline, clock: .continuous)
    }
}
