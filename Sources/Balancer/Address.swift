import DNSWire

/// One resolved `ip:port` of a target: the unit that is picked, ejected and probed.
///
/// Health state is keyed by this value, not by DNS snapshot or target, so an address that stays in DNS
/// keeps its state across refreshes and config reloads.
public struct Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let ip: IPAddress
    public let port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses `10.0.0.1:80` or `[::1]:80` (what `description` prints); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let text = Substring(text)
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard let ip = IPAddress(host), let number = UInt16(port) else { return nil }
        self.init(ip: ip, port: number)
    }

    /// `10.0.0.1:80` or `[::1]:80`.
    public var description: String { ip.hostPort(port) }

    public static func < (lhs: Address, rhs: Address) -> Bool {
        (lhs.ip, lhs.port) < (rhs.ip, rhs.port)
    }
}
