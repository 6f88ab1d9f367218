import Balancer
import DNSWire
import Logging
import NIOConcurrencyHelpers

/// Keeps a set of DNS names resolved: each is asked again when its TTL runs out (clamped by the
/// `RefreshPolicy`), keeps its last good answer through DNS failures, and is published to subscribers as a
/// new immutable `NameSnapshot` only when its records or status changed.
///
/// Each watched name has its own task that sleeps until its refresh is due; an idle watcher does nothing.
public final class DNSWatcher: Sendable {
    /// What a name is asked for.
    public enum Kind: String, Sendable, Hashable {
        /// A/AAAA records (per `families`).
        case addresses
        /// SRV records, each target resolved to addresses.
        case service

        /// A name whose first label starts with `_` (`_http._tcp.api.example`) is an SRV name, as RFC 2782
        /// spells them; anything else is a host name. Explicit, so an A-record name never silently turns
        /// into an SRV lookup.
        public static func infer(from name: String) -> Kind {
            name.hasPrefix("_") ? .service : .addresses
        }
    }

    private struct Entry {
        var kind: Kind
        var state: NameRefreshState
        var task: Task<Void, Never>?
        var lastError: String?
        var lastQueryAt: ContinuousClock.Instant?
        var queries = 0
        /// Queries that failed (negative answers are answers, not failures).
        var failures = 0
        /// Which refresh loop owns the entry; `refreshNow` starts a new one, and an older one that wakes up
        /// sees the number changed and ends.
        var loop = 0
        /// A query is out; `refreshNow` then asks for another one right after it instead of a new loop.
        var inFlight = false
        var refreshAgain = false
        /// Set once two answers of exactly 3 records differed over UDP (see `looksSilentlyTruncated`).
        var warning: String?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var subscribers: [Int: AsyncStream<NameSnapshot>.Continuation] = [:]
        var nextSubscriber = 0
        var shutDown = false
    }

    public let resolver: DNSResolver
    public let policy: RefreshPolicy
    public let families: AddressFamilies
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    /// The time refreshes are scheduled by; the continuous clock unless a test moves its own.
    public let clock: any RefreshClock

    public init(resolver: DNSResolver, policy: RefreshPolicy = .init(), families: AddressFamilies = .all,
                clock: any RefreshClock = SystemRefreshClock(),
                logger: Logger = Logger(label: "switchyard.discovery")) {
        self.resolver = resolver
        self.policy = policy
        self.families = families
        self.clock = clock
        self.logger = logger
    }

    /// Starts watching `name` (no-op if already watched). The first query is sent at once.
    public func watch(_ name: String, kind: Kind? = nil) {
        let key = DNSResolver.normalized(name)
        let kind = kind ?? Kind.infer(from: key)
        let now = clock.now
        state.withLockedValue { state in
            guard !state.shutDown, state.entries[key] == nil else { return }
            var entry = Entry(kind: kind, state: NameRefreshState(name: key, policy: policy, now: now))
            entry.task = Task { [weak self] in await self?.refreshLoop(key, loop: 0) }
            state.entries[key] = entry
        }
    }

    /// Every watched name's refresh state, for the process that takes over this node (or the state file).
    public func carried() -> [CarriedName] {
        let now = clock.now
        return state.withLockedValue { state in
            state.entries.keys.sorted().compactMap { key in
                state.entries[key].map { $0.state.carried(kind: $0.kind.rawValue, now: now) }
            }
        }
    }

    /// Watches the names a predecessor carried, with their records, stale clocks and TTLs as they were
    /// `elapsed` seconds ago: a name is asked again when its carried TTL runs out, not at once, and a name that
    /// was served stale stays stale until DNS answers. Names already watched, and carried states that do not
    /// make sense, are skipped (the latter start cold when something watches them). Returns how many were taken.
    @discardableResult
    public func restore(_ carried: [CarriedName], elapsed: Double = 0) -> Int {
        let now = clock.now
        var restored: [NameSnapshot] = []
        let subscribers: [AsyncStream<NameSnapshot>.Continuation] = state.withLockedValue { state in
            guard !state.shutDown else { return [] }
            for item in carried {
                let key = DNSResolver.normalized(item.name)
                guard state.entries[key] == nil, let kind = Kind(rawValue: item.kind),
                      let refresh = NameRefreshState(restoring: item, name: key, policy: policy, elapsed: elapsed, now: now)
                else { continue }
                var entry = Entry(kind: kind, state: refresh)
                let due = refresh.nextRefresh
                entry.task = Task { [weak self] in await self?.refreshLoop(key, loop: 0, firstAt: due) }
                state.entries[key] = entry
                restored.append(refresh.snapshot)
            }
            return Array(state.subscribers.values)
        }
        for snapshot in restored where snapshot.generation > 0 {
            for subscriber in subscribers { subscriber.yield(snapshot) }
        }
        return restored.count
    }

    /// Stops watching `name`; its snapshot is forgotten.
    public func unwatch(_ name: String) {
        let key = DNSResolver.normalized(name)
        let task = state.withLockedValue { $0.entries.removeValue(forKey: key)?.task }
        task?.cancel()
    }

    /// The names watched now.
    public var names: [String] { state.withLockedValue { Array($0.entries.keys).sorted() } }

    /// The watched names a change to `zone` can affect: those inside it, and SRV names whose targets are
    /// inside it (their addresses come from that zone). Empty for the root, which would be every name.
    public func names(inZone zone: String) -> [String] {
        let zone = DNSResolver.normalized(zone)
        guard !zone.isEmpty else { return [] }
        func inside(_ name: String) -> Bool { name == zone || name.hasSuffix("." + zone) }
        return state.withLockedValue { state in
            state.entries.compactMap { name, entry -> String? in
                if inside(name) { return name }
                if case .services(let records) = entry.state.content, records.contains(where: { inside($0.target) }) {
                    return name
                }
                return nil
            }.sorted()
        }
    }

    /// Queries `names` now instead of when their TTL runs out (a NOTIFY said their zone changed). A name with
    /// a query out gets one more right after it, since that answer may predate the change. The TTL schedule
    /// resumes from the new answer; unknown names are skipped. Returns how many names were refreshed.
    @discardableResult
    public func refreshNow(_ names: [String]) -> Int {
        var refreshed = 0
        let replaced: [Task<Void, Never>] = state.withLockedValue { state in
            guard !state.shutDown else { return [] }
            var replaced: [Task<Void, Never>] = []
            for name in Set(names.map(DNSResolver.normalized)) {
                guard var entry = state.entries[name] else { continue }
                refreshed += 1
                if entry.inFlight {
                    entry.refreshAgain = true
                } else {
                    if let task = entry.task { replaced.append(task) }
                    entry.loop += 1
                    let loop = entry.loop
                    entry.task = Task { [weak self] in await self?.refreshLoop(name, loop: loop) }
                }
                state.entries[name] = entry
            }
            return replaced
        }
        replaced.forEach { $0.cancel() }
        return refreshed
    }

    /// The current snapshot of `name`, published or not.
    public func snapshot(of name: String) -> NameSnapshot? {
        state.withLockedValue { $0.entries[DNSResolver.normalized(name)]?.state.snapshot }
    }

    /// Everything an operator needs to see about one watched name.
    public struct NameStatus: Sendable {
        public let kind: Kind
        public let snapshot: NameSnapshot
        public let lastError: String?
        public let lastQueryAt: ContinuousClock.Instant?
        public let queries: Int
        public let failures: Int
        /// A problem with the server's answers that is not an error, such as silent truncation.
        public internal(set) var warning: String? = nil
    }

    /// The status of every watched name, sorted by name.
    public var statuses: [NameStatus] {
        state.withLockedValue { state in
            state.entries.keys.sorted().compactMap { key in
                state.entries[key].map {
                    NameStatus(kind: $0.kind, snapshot: $0.state.snapshot, lastError: $0.lastError,
                               lastQueryAt: $0.lastQueryAt, queries: $0.queries, failures: $0.failures,
                               warning: $0.warning)
                }
            }
        }
    }

    /// Every publication from now on, for all names. The stream ends at `shutdown()`.
    public func updates() -> AsyncStream<NameSnapshot> {
        let (stream, continuation) = AsyncStream<NameSnapshot>.makeStream(bufferingPolicy: .unbounded)
        let id: Int? = state.withLockedValue { state in
            guard !state.shutDown else { return nil }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Stops every refresh and ends every subscription. The resolver is not shut down.
    public func shutdown() {
        let (tasks, subscribers) = state.withLockedValue { state in
            state.shutDown = true
            defer {
                state.entries = [:]
                state.subscribers = [:]
            }
            return (state.entries.values.compactMap(\.task), Array(state.subscribers.values))
        }
        tasks.forEach { $0.cancel() }
        subscribers.forEach { $0.finish() }
    }

    private func refreshLoop(_ name: String, loop: Int, firstAt: ContinuousClock.Instant? = nil) async {
        if let firstAt {
            do { try await clock.sleep(until: firstAt) } catch { return }
        }
        while !Task.isCancelled {
            let started: (Kind, NameSnapshot.Content)? = state.withLockedValue { s in
                guard var entry = s.entries[name], entry.loop == loop else { return nil }
                entry.inFlight = true
                entry.refreshAgain = false
                s.entries[name] = entry
                return (entry.kind, entry.state.content)
            }
            guard let (kind, previous) = started else { return }
            let outcome = await lookUp(name, kind: kind, previous: previous)
            if Task.isCancelled { return }
            let now = clock.now
            let random = Double.random(in: 0..<1)
            let tcpOnly = resolver.configuration.tcpOnly
            var warned: String?
            let result: (NameRefreshState.Decision, [AsyncStream<NameSnapshot>.Continuation], Bool)? = state.withLockedValue { s in
                guard var entry = s.entries[name], entry.loop == loop else { return nil }
                entry.inFlight = false
                let again = entry.refreshAgain
                entry.refreshAgain = false
                let decision: NameRefreshState.Decision
                switch outcome {
                case .success(let (content, ttl)):
                    if !tcpOnly, entry.warning == nil,
                       DNSWatcher.looksSilentlyTruncated(previous: entry.state.content, next: content) {
                        let warning = "\(name): two answers of exactly 3 records differ; the server may be cutting UDP "
                            + "answers to 3 records without the TC bit (Consul does unless dns_config.enable_truncate is on). "
                            + "Set dns_prefer_tcp: true, or enable_truncate in Consul"
                        entry.warning = warning
                        warned = warning
                    }
                    decision = entry.state.recordsReceived(content, ttl: ttl, now: now, random: random)
                    entry.lastError = nil
                case .failure(let error) where error.isNegativeAnswer:
                    decision = entry.state.negativeAnswer(reason: error.message, negativeTTL: error.negativeTTL, now: now)
                    entry.lastError = error.message
                case .failure(let error):
                    decision = entry.state.queryFailed(error: error.message, now: now, random: random)
                    entry.lastError = error.message
                    entry.failures += 1
                }
                entry.lastQueryAt = now
                entry.queries += 1
                s.entries[name] = entry
                return (decision, decision.publish == nil ? [] : Array(s.subscribers.values), again)
            }
            guard let (decision, subscribers, again) = result else { return }
            if let warned { logger.warning("\(warned)") }
            if let snapshot = decision.publish {
                logger.debug("dns snapshot changed", metadata: ["name": "\(name)", "generation": "\(snapshot.generation)"])
                for subscriber in subscribers { subscriber.yield(snapshot) }
            }
            if again { continue }
            do {
                try await clock.sleep(until: decision.nextRefresh)
            } catch {
                return
            }
        }
    }

    private func lookUp(_ name: String, kind: Kind, previous: NameSnapshot.Content)
        async -> Result<(NameSnapshot.Content, UInt32), DiscoveryError> {
        do {
            switch kind {
            case .addresses:
                let lookup = try await resolver.resolveAddresses(name, families: families)
                return .success((.addresses(lookup.addresses), lookup.ttl))
            case .service:
                let lookup = try await resolver.resolveService(name, families: families)
                return .success((.services(DNSWatcher.serviceRecords(lookup, previous: previous)), lookup.ttl))
            }
        } catch {
            return .failure(error)
        }
    }

    /// Whether two answers look cut to 3 records without the TC bit: both hold exactly 3 records and they differ.
    /// Consul's DNS does this over UDP unless `enable_truncate` is on, so a pool of 5 shows as a changing 3.
    static func looksSilentlyTruncated(previous: NameSnapshot.Content, next: NameSnapshot.Content) -> Bool {
        switch (previous, next) {
        case (.services(let a), .services(let b)):
            return a.count == 3 && b.count == 3 && Set(a.map { "\($0.target):\($0.port)" }) != Set(b.map { "\($0.target):\($0.port)" })
        case (.addresses(let a), .addresses(let b)):
            return a.count == 3 && b.count == 3 && Set(a) != Set(b)
        default:
            return false
        }
    }

    /// SRV entries as service records. A target whose own lookup failed keeps the addresses it had in the
    /// previous snapshot, so one target's DNS trouble does not take it out of the pool.
    static func serviceRecords(_ lookup: ServiceLookup, previous: NameSnapshot.Content) -> [ServiceRecord] {
        var known: [String: [IPAddress]] = [:]
        if case .services(let old) = previous {
            for record in old where !record.addresses.isEmpty { known[record.target] = record.addresses }
        }
        return lookup.entries.map { entry in
            let addresses = entry.addressError != nil && entry.addresses.isEmpty ? (known[entry.target] ?? []) : entry.addresses
            return ServiceRecord(priority: entry.priority, weight: entry.weight, port: entry.port,
                                 target: entry.target, addresses: addresses)
        }
    }
}
