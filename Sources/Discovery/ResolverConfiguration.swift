import DNSWire

/// Where and how the resolver asks. Defaults follow the system resolver: servers, search domains and ndots
/// from `/etc/resolv.conf`, names in `/etc/hosts` answered locally.
public struct ResolverConfiguration: Sendable, Equatable {
    /// DNS servers to ask, in order. Empty means the servers of `resolvConfPath`.
    public var servers: [NameServer] = []
    /// Search domains; nil means those of `resolvConfPath`.
    public var searchDomains: [String]? = nil
    /// A name with fewer dots than this is tried with the search domains first; nil means resolv.conf's (or 1).
    public var ndots: Int? = nil
    /// Per-try timeout. c-ares doubles it on each retry round, so a lookup gives up after
    /// `timeout × (2^tries − 1)`.
    public var timeout: Duration = .milliseconds(1500)
    /// Tries per server.
    public var tries: Int = 2
    /// UDP payload size advertised with EDNS0 (0 disables EDNS). Larger answers arrive truncated and are
    /// asked again over TCP.
    public var ednsPayloadSize: Int = 1232
    /// Ask over TCP only (useful for servers that truncate without setting TC, as some Consul versions do).
    public var tcpOnly: Bool = false
    /// The resolv.conf to read when `servers`, `searchDomains` or `ndots` are not given.
    public var resolvConfPath: String = "/etc/resolv.conf"
    /// The hosts file whose names are answered without DNS; nil disables it.
    public var hostsPath: String? = "/etc/hosts"
    /// The TTL given to answers from the hosts file (the file is re-read when it changes).
    public var hostsTTL: UInt32 = 10

    public init() {}
}

/// A DNS server address, `host:port` (`[v6]:port` for IPv6); the port defaults to 53.
public struct NameServer: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public init(address: IPAddress, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// Parses `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353`.
    public init(parsing text: String) throws(DiscoveryError) {
        let trimmed = text.trimmingWhitespace()
        func bad(_ why: String) -> DiscoveryError {
            DiscoveryError(.configuration, "invalid DNS server \"\(text)\": \(why) (expected HOST:PORT, e.g. 127.0.0.1:53 or [::1]:53)")
        }
        var host = Substring(trimmed)
        var port: UInt16 = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw bad("missing ']'") }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { throw bad("bad port") }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]), p > 0 else { throw bad("bad port") }
            port = p
            host = host[..<colon]
        }
        guard let ip = IPAddress(host) else { throw bad("not an IP address") }
        self.init(address: ip, port: port)
    }

    public var description: String { address.hostPort(port) }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
