import Foundation

/// A `HOST:PORT` to listen on or to send to (`0.0.0.0:8000`, `[::1]:8001`, `127.0.0.1:53`).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// IPv4 or IPv6 literal (IPv6 without brackets) or a hostname.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { Target.format(host: host, port: port) }

    /// Parses `HOST:PORT` or `[IPv6]:PORT`; `defaultPort` allows `HOST` alone (DNS servers default to 53).
    /// `anyPort` accepts port 0 ("any free port"), which a listener may use and a DNS server may not.
    public static func parse(_ text: String, defaultPort: Int? = nil, anyPort: Bool = false) -> Result<ListenAddress, ListenAddressError> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return .failure(ListenAddressError(message: "empty address")) }
        if trimmed.contains(" ") {
            return .failure(ListenAddressError(
                message: "\"\(trimmed)\": listen flags (ssl, http2, reuseport...) are not supported; use HOST:PORT"))
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
            return .success(ListenAddress(host: host, port: port))
        }
    }
}

public struct ListenAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
