import DNSWire

/// A configured `host:port` with a weight inside an upstream (Kong's target entity).
///
/// A host that is an IP address is used as is; a host name expands through discovery into its
/// A/AAAA addresses or, for an SRV name, into the SRV entries' addresses, ports and weights.
public struct TargetSpec: Sendable, Hashable, CustomStringConvertible {
    /// Kong's default target weight.
    public static let defaultWeight: UInt16 = 100
    /// Kong's default target port when the target string has none.
    public static let defaultPort: UInt16 = 8000

    /// An IP address literal or a DNS name (lower case, without a trailing dot).
    public let host: String
    public let port: UInt16
    /// 0 disables the target (Kong); otherwise its share relative to the other targets.
    public let weight: UInt16

    public init(host: String, port: UInt16, weight: UInt16 = TargetSpec.defaultWeight) {
        // DNS names compare case-insensitively; keep one spelling so snapshots match targets.
        var host = host.lowercased()
        if host.hasSuffix("."), host.count > 1 { host.removeLast() }
        self.host = host
        self.port = port
        self.weight = weight
    }

    /// Parses Kong's `target` field: `host`, `host:port`, `[v6]` or `[v6]:port`.
    public init?(target: String, weight: UInt16 = TargetSpec.defaultWeight) {
        var host = Substring(target)
        var port = TargetSpec.defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard IPAddress(host)?.isIPv6 == true else { return nil }
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        } else if host.contains(":") {
            // A bare IPv6 address without brackets and without a port.
            guard IPAddress(host)?.isIPv6 == true else { return nil }
        }
        guard !host.isEmpty, port != 0 else { return nil }
        self.init(host: String(host), port: port, weight: weight)
    }

    /// The host as an IP address when it is a literal, else nil (a name to resolve).
    public var ip: IPAddress? { IPAddress(host) }

    /// Kong's `target` text: `host:port`, IPv6 in brackets.
    public var description: String {
        if let ip { return ip.hostPort(port) }
        return "\(host):\(port)"
    }
}
