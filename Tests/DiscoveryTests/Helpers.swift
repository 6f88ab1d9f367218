import Balancer
import DNSWire
import Discovery
import Foundation
import Testing
import TestSupport

/// A resolver that asks only `server` (never the machine's resolv.conf servers) and ignores /etc/hosts.
func makeResolver(server: String, tcpOnly: Bool = false, timeout: Duration = .milliseconds(400), tries: Int = 2,
                  hostsPath: String? = nil) throws -> DNSResolver {
    var configuration = ResolverConfiguration()
    configuration.servers = [try NameServer(parsing: server)]
    configuration.tcpOnly = tcpOnly
    configuration.timeout = timeout
    configuration.tries = tries
    configuration.hostsPath = hostsPath
    configuration.searchDomains = []
    return try DNSResolver(configuration: configuration)
}

/// Polls until `condition` holds for the watcher's snapshot of `name`, or the deadline passes.
/// Returns the matching snapshot and how long it took.
func waitForSnapshot(_ watcher: DNSWatcher, _ name: String, within limit: Duration,
                     _ condition: (NameSnapshot) -> Bool) async -> (NameSnapshot, Duration)? {
    await poll(within: limit) { watcher.snapshot(of: name).flatMap { condition($0) ? $0 : nil } }.map { ($0.value, $0.after) }
}

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad test address \(text)") }
    return address
}

extension NameSnapshot {
    var addressList: [IPAddress] {
        if case .addresses(let a) = content { return a }
        return []
    }

    var serviceList: [ServiceRecord] {
        if case .services(let s) = content { return s }
        return []
    }

    var isFresh: Bool { status == .fresh }

    var isStale: Bool {
        if case .stale = status { return true }
        return false
    }

    var isHeld: Bool {
        if case .negativeHold = status { return true }
        return false
    }
}

extension ManualClock: RefreshClock {}

extension DNSWatcher {
    /// Queries sent for `name` so far.
    func queries(_ name: String) -> Int {
        statuses.first { $0.snapshot.name == name }?.queries ?? 0
    }

    /// On a manual clock: moves it to `name`'s next refresh and waits, in real time, until that refresh has
    /// finished and the watcher sleeps again. Returns the snapshot after it.
    func refreshNext(_ name: String, on clock: ManualClock) async throws -> NameSnapshot {
        let before = queries(name)
        let next = try #require(snapshot(of: name)).nextRefresh
        clock.advance(by: max(next - clock.now, .zero))
        let done = await waitFor(.seconds(10)) { self.queries(name) > before && clock.sleeping == 1 }
        try #require(done != nil, "\(name): no refresh at \(next)")
        return try #require(snapshot(of: name))
    }

    /// Waits, in real time, until the first answer for `name` is in and the watcher sleeps on `clock`.
    func firstAnswer(_ name: String, on clock: ManualClock) async throws -> NameSnapshot {
        let done = await waitFor(.seconds(10)) { self.queries(name) >= 1 && clock.sleeping == 1 }
        try #require(done != nil, "\(name): no first answer")
        return try #require(snapshot(of: name))
    }
}
