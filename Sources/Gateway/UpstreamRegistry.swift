import Balancer
import Config
import Discovery
import Logging
import NIOConcurrencyHelpers

/// The live balancers, one per upstream, kept across configuration changes: an upstream that stays (by
/// name) keeps its balancer, so its health state and in-flight counts survive a reload; targets and
/// settings are updated in place. It also keeps the DNS watcher's set of names equal to what the
/// targets need, and feeds every published snapshot to the balancers that use it.
public final class UpstreamRegistry: Sendable {
    private let watcher: DNSWatcher
    private let loops: Int
    private let logger: Logger
    private let balancers = NIOLockedValueBox<[String: UpstreamBalancer]>([:])
    private let feed = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// Held for a whole `apply`: its look-up of kept balancers and its publication of the new set must not
    /// interleave with another apply's, or both could create a balancer for one upstream.
    private let applying = NIOLock()

    public init(watcher: DNSWatcher, loops: Int, logger: Logger = Logger(label: "switchyard.upstreams")) {
        self.watcher = watcher
        self.loops = loops
        self.logger = logger
    }

    /// Starts forwarding DNS snapshots to the balancers. Idempotent.
    public func start() {
        let updates = watcher.updates()
        feed.withLockedValue { task in
            guard task == nil else { return }
            task = Task { [weak self] in
                for await snapshot in updates {
                    guard let self else { return }
                    let now = ContinuousClock.now
                    for balancer in self.all where balancer.names.contains(snapshot.name) {
                        balancer.update(snapshot: snapshot, now: now)
                    }
                }
            }
        }
        // Answers published between an earlier `apply` and this subscription would otherwise wait for
        // the next change of their content; older or equal generations are ignored by the balancers.
        let now = ContinuousClock.now
        for balancer in all {
            for name in balancer.names {
                if let snapshot = watcher.snapshot(of: name), snapshot.generation > 0 {
                    balancer.update(snapshot: snapshot, now: now)
                }
            }
        }
    }

    public func stop() {
        feed.withLockedValue { task in
            task?.cancel()
            task = nil
        }
    }

    /// The balancer of an upstream, by name.
    public func balancer(named name: String) -> UpstreamBalancer? {
        balancers.withLockedValue { $0[name] }
    }

    /// Every balancer, sorted by upstream name.
    public var all: [UpstreamBalancer] {
        balancers.withLockedValue { $0.values.sorted { $0.name < $1.name } }
    }

    /// Makes the balancers match `upstreams` (each with its targets): new ones are created, kept ones
    /// updated, removed ones dropped. DNS names no longer needed stop being watched. Concurrent calls run one
    /// after the other.
    public func apply(_ upstreams: [(name: String, settings: UpstreamSettings, targets: [TargetSpec])]) {
        applying.lock()
        defer { applying.unlock() }
        let now = ContinuousClock.now
        let before = Set(all.flatMap(\.names))
        var next: [String: UpstreamBalancer] = [:]
        for upstream in upstreams {
            if let existing = balancer(named: upstream.name) {
                existing.update(settings: upstream.settings, targets: upstream.targets, now: now)
                next[upstream.name] = existing
            } else {
                next[upstream.name] = UpstreamBalancer(
                    name: upstream.name, settings: upstream.settings, targets: upstream.targets,
                    loops: loops, seed: UInt64.random(in: 0...UInt64.max), now: now)
            }
        }
        balancers.withLockedValue { $0 = next }
        let needed = Set(next.values.flatMap(\.names))
        for name in needed.subtracting(before) { watcher.watch(name) }
        for name in before.subtracting(needed) { watcher.unwatch(name) }
        // Names already resolved (watched for another upstream, or kept across the reload) apply at once.
        for balancer in next.values {
            for name in balancer.names {
                if let snapshot = watcher.snapshot(of: name), snapshot.generation > 0 {
                    balancer.update(snapshot: snapshot, now: now)
                }
            }
        }
        logger.debug("upstreams applied", metadata: ["count": "\(next.count)", "names": "\(needed.count)"])
    }

    /// Convenience for configuration entities.
    public func apply(upstreams: [Upstream], targets: [Target]) {
        apply(upstreams.map { upstream in
            (upstream.name, UpstreamMapping.settings(upstream),
             UpstreamMapping.targets(targets.filter { $0.upstream == upstream.id }))
        })
    }
}
