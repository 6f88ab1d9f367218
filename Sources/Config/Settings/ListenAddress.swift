import Foundation

/// A `HOST:PORT` to listen on or to send to (`0.0.0.0:8000`, `[::1]:8001`, `127.0.0.1:53`), with Kong's `ssl`
/// flag where a listener accepts it (`127.0.0.1:8444 ssl`).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Listen flags written after the address, as in Kong's `admin_listen`.
    public enum Flag: String, Sendable, Hashable, CaseIterable {
        /// Serve TLS on this listener.
        case ssl
    }

    /// IPv4 or IPv6 literal (IPv6 without brackets) or a hostname.
    public var host: String
    public var port: Int
    /// TLS on this listener (the `ssl` flag).
    public var ssl: Bool

    public init(host: String, port: Int, ssl: Bool = false) {
        self.host = host
        self.port = port
        self.ssl = ssl
    }

    /// `HOST:PORT`, followed by ` ssl` when the flag is set: the form a settings file takes.
    public var description: String { Target.format(host: host, port: port) + (ssl ? " ssl" : "") }

    /// Parses `HOST:PORT` or `[IPv6]:PORT`; `defaultPort` allows `HOST` alone (DNS servers default to 53).
    /// `anyPort` accepts port 0 ("any free port"), which a listener may use and a DNS server may not.
    /// `flags` lists the flags this listener accepts after the address; any other flag is an error.
    public static func parse(_ text: String, defaultPort: Int? = nil, anyPort: Bool = false,
                             flags: Set<Flag> = []) -> Result<ListenAddress, ListenAddressError> {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let trimmed = words.first else { return .failure(ListenAddressError(message: "empty address")) }
        var ssl = false
        for word in words.dropFirst() {
            guard let flag = Flag(rawValue: word.lowercased()), flags.contains(flag) else {
                let whole = words.joined(separator: " ")
                if flags.isEmpty {
                    return .failure(ListenAddressError(
                        message: "\"\(whole)\": listen flags (ssl, http2, reuseport...) are not supported here; use HOST:PORT"))
                }
                let known = flags.map(\.rawValue).sorted().joined(separator: ", ")
                return .failure(ListenAddressError(
                    message: "\"\(whole)\": unknown listen flag \"\(word)\" (supported: \(known))"))
            }
            if flag == .ssl { ssl = true }
        }
        // A bare IPv6 address (DNS servers) is accepted when a default port applies.
        if defaultPort != nil, !trimmed.hasPrefix("["), Validate.isIPv6(trimmed) {
            return .success(ListenAddress(host: trimmed, port: defaultPort ?? 53))
        }
        switch HostPort.split(trimmed, lowestPort: anyPort ? 0 : 1) {
        case let .failure(error):
            return .failure(ListenAddressError(message: error.message))
        case let .success((host, port)):
            guard let port = port ?? defaultPort else {
                return .failure(ListenAddressError(message: "\"\(trimmed)\": missing port, use HOST:PORT"))
            }
            if host.isEmpty {
                return .failure(ListenAddressError(message: "\"\(trimmed)\": missing host, e.g. 0.0.0.0:\(port)"))
            }
            guard Validate.isIPAddress(host) || Validate.isHostname(host) else {
                return .failure(ListenAddressError(message: "\"\(trimmed)\": invalid host \"\(host)\""))
            }
            return .success(ListenAddress(host: host, port: port, ssl: ssl))
        }
    }
}

public struct ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
