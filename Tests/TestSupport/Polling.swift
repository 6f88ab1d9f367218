/// Polls `probe` every `interval` until it returns a value or `limit` passes; returns the value and how long
/// it took, nil on time-out. The one wait-until helper of the suites: they wait for an observable outcome
/// (a ring's shape, a DNS snapshot, a health state) instead of sleeping a fixed time.
public func poll<T>(within limit: Duration, every interval: Duration = .milliseconds(20),
                    _ probe: () throws -> T?) async rethrows -> (value: T, after: Duration)? {
    let start = ContinuousClock.now
    while true {
        if let value = try probe() { return (value, ContinuousClock.now - start) }
        if ContinuousClock.now - start >= limit { return nil }
        try? await Task.sleep(for: interval)
    }
}

/// Polls `condition` every `interval` until it holds or `limit` passes; returns how long it took.
public func waitFor(_ limit: Duration, every interval: Duration = .milliseconds(20),
                    _ condition: () throws -> Bool) async rethrows -> Duration? {
    try await poll(within: limit, every: interval) { try condition() ? true : nil }?.after
}
