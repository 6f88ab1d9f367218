/// An address block in CIDR notation (`10.0.0.0/8`, `::1/128`), for allow-lists.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/PREFIX`, or a bare address (a single-address block). Returns nil for a prefix out of
    /// range for the family or bits set past the prefix (`10.0.0.1/8` is rejected, so a typo is noticed).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.isIPv6 ? 128 : 32
        var length = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = value
        }
        guard IPNetwork.masked(address, length) == address else { return nil }
        self.address = address
        self.prefixLength = length
    }

    /// Whether `ip` is inside this block (an IPv4 address never matches an IPv6 block, and the reverse).
    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.isIPv6 == address.isIPv6 else { return false }
        return IPNetwork.masked(ip, prefixLength) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func masked(_ ip: IPAddress, _ length: Int) -> IPAddress {
        switch ip {
        case .v4(let v):
            let mask: UInt32 = length == 0 ? 0 : ~UInt32(0) << (32 - length)
            return .v4(v & mask)
        case .v6(let hi, let lo):
            let hiMask: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~UInt64(0) << (64 - length))
            let loMask: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~UInt64(0) << (128 - length))
            return .v6(hi & hiMask, lo & loMask)
        }
    }
}
