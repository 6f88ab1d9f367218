import DNSWire

/// The names of a hosts file (`/etc/hosts` format), so names an operator pins there resolve as the system
/// resolver would, without a DNS query.
public struct HostsFile: Sendable, Equatable {
    /// Addresses by lower-cased name without trailing dot, in file order.
    public private(set) var entries: [String: [IPAddress]] = [:]

    /// Parses hosts-file text. Lines that do not start with an IP address are ignored, as the C library does.
    public init(parsing text: String) {
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let ip = IPAddress(fields[0]) else { continue }
            for name in fields.dropFirst() {
                var key = name.lowercased()
                if key.hasSuffix(".") { key.removeLast() }
                if !(entries[key]?.contains(ip) ?? false) { entries[key, default: []].append(ip) }
            }
        }
    }

    /// Addresses of `name` of the given family (`v6: false` for A, `true` for AAAA); nil when the file has
    /// none, so the lookup goes on to DNS as the C library's `files dns` order does.
    public func addresses(of name: String, v6: Bool) -> [IPAddress]? {
        var key = name.lowercased()
        if key.hasSuffix(".") { key.removeLast() }
        guard let matching = entries[key]?.filter({ $0.isIPv6 == v6 }), !matching.isEmpty else { return nil }
        return matching
    }
}
