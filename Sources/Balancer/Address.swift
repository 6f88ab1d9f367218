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

    /// `10.0.0.1:80` or `[::1]:80`.
    public var description: String { ip.hostPort(port) }

    public static func < (lhs: Address, rhs: Address) -> Bool {
        (lhs.ip, lhs.port) < (rhs.ip, rhs.port)
    }
}
