/// The refresh state machine of one watched name: events in (an answer, a negative answer, a failure),
/// decisions out (when to ask again, and the snapshot to publish when something changed).
///
/// Pure: the caller passes the time and a unit random value for jitter, performs the queries, and publishes.
public struct NameRefreshState: Sendable {
    public let name: String
    public let policy: RefreshPolicy
    public private(set) var content: NameSnapshot.Content = .empty
    public private(set) var status: NameSnapshot.Status = .failed(error: "not resolved yet")
    public private(set) var generation: UInt64 = 0
    public private(set) var refreshedAt: ContinuousClock.Instant?
    public private(set) var nextRefresh: ContinuousClock.Instant
    public private(set) var ttl: UInt32?
    public private(set) var consecutiveFailures = 0

    /// What the caller does after an event.
    public struct Decision: Sendable, Equatable {
        /// When to query this name next.
        public let nextRefresh: ContinuousClock.Instant
        /// The snapshot to publish, when content or status changed.
        public let publish: NameSnapshot?
    }

    public init(name: String, policy: RefreshPolicy, now: ContinuousClock.Instant) {
        self.name = name
        self.policy = policy
        self.nextRefresh = now
    }

    /// The current state as a snapshot (published or not).
    public var snapshot: NameSnapshot {
        NameSnapshot(name: name, content: content, status: status, generation: generation,
                     refreshedAt: refreshedAt, nextRefresh: nextRefresh, ttl: ttl)
    }

    /// A successful answer with records. `random` is a unit value in 0..<1 for jitter.
    public mutating func recordsReceived(_ newContent: NameSnapshot.Content, ttl: UInt32,
                                         now: ContinuousClock.Instant, random: Double) -> Decision {
        let newContent = Self.sorted(newContent)
        if newContent.isEmpty {
            return negativeAnswer(reason: "\(name) answered with no usable records", negativeTTL: nil, now: now)
        }
        self.ttl = ttl
        refreshedAt = now
        consecutiveFailures = 0
        let interval = policy.refreshInterval(ttl: ttl)
        // Refresh early by up to `jitter` of the interval, never late, and never below the floor.
        let early = interval * (policy.jitter * min(max(random, 0), 1))
        let next = now + max(interval - early, policy.minTTL)
        return transition(to: newContent, status: .fresh, next: next)
    }

    /// NXDOMAIN or NODATA (`reason` says which). A name that had records keeps them for `negativeHold`.
    public mutating func negativeAnswer(reason: String, negativeTTL: UInt32?,
                                        now: ContinuousClock.Instant) -> Decision {
        consecutiveFailures = 0
        let retry = now + policy.negativeRetry(negativeTTL: negativeTTL)
        if content.isEmpty {
            return transition(to: .empty, status: .failed(error: reason), next: retry)
        }
        let since: ContinuousClock.Instant
        let until: ContinuousClock.Instant
        if case .negativeHold(_, let heldSince, let heldUntil) = status {
            since = heldSince
            until = heldUntil
        } else {
            since = now
            until = now + policy.negativeHold
        }
        if now >= until {
            return transition(to: .empty, status: .failed(error: "\(reason); records withdrawn after the \(policy.negativeHold) hold"),
                              next: retry)
        }
        return transition(to: content, status: .negativeHold(reason: reason, since: since, until: until),
                          next: min(retry, until))
    }

    /// A failed query (timeout, SERVFAIL, REFUSED, unreachable, malformed). The last good records stay in
    /// force for `staleTTL` from the first failure. `random` is a unit value in 0..<1 for jitter.
    public mutating func queryFailed(error: String, now: ContinuousClock.Instant, random: Double) -> Decision {
        consecutiveFailures += 1
        let base = policy.retryDelay(failures: consecutiveFailures)
        let spread = base * (policy.jitter * (2 * min(max(random, 0), 1) - 1))
        var next = now + max(base + spread, policy.minTTL)
        if content.isEmpty {
            return transition(to: .empty, status: .failed(error: error), next: next)
        }
        switch status {
        case .negativeHold(let reason, let since, let until):
            if now >= until {
                return transition(to: .empty, status: .failed(error: "\(reason); records withdrawn after the \(policy.negativeHold) hold"),
                                  next: next)
            }
            return transition(to: content, status: .negativeHold(reason: reason, since: since, until: until),
                              next: min(next, until))
        case .stale(_, let since, let until):
            if now >= until {
                return transition(to: .empty, status: .failed(error: "\(error); stale records withdrawn after \(policy.staleTTL)"),
                                  next: next)
            }
            next = min(next, until)
            return transition(to: content, status: .stale(error: error, since: since, until: until), next: next)
        case .fresh, .failed:
            let until = now + policy.staleTTL
            return transition(to: content, status: .stale(error: error, since: now, until: until), next: min(next, until))
        }
    }

    private mutating func transition(to newContent: NameSnapshot.Content, status newStatus: NameSnapshot.Status,
                                     next: ContinuousClock.Instant) -> Decision {
        let changed = newContent != content || newStatus != status || generation == 0
        content = newContent
        status = newStatus
        nextRefresh = next
        if changed {
            generation += 1
            return Decision(nextRefresh: next, publish: snapshot)
        }
        return Decision(nextRefresh: next, publish: nil)
    }

    mutating func restore(content: NameSnapshot.Content, status: NameSnapshot.Status, generation: UInt64,
                          refreshedAt: ContinuousClock.Instant?, nextRefresh: ContinuousClock.Instant, ttl: UInt32?,
                          failures: Int) {
        self.content = content
        self.status = status
        self.generation = generation
        self.refreshedAt = refreshedAt
        self.nextRefresh = nextRefresh
        self.ttl = ttl
        self.consecutiveFailures = failures
    }

    static func sorted(_ content: NameSnapshot.Content) -> NameSnapshot.Content {
        switch content {
        case .empty: return .empty
        case .addresses(let a): return a.isEmpty ? .empty : .addresses(Array(Set(a)).sorted())
        case .services(let s): return s.isEmpty ? .empty : .services(Array(Set(s)).sorted())
        }
    }
}
