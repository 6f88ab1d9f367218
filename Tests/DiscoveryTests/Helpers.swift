import Balancer
import DNSWire
import Discovery
import Foundation
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
