import Foundation

/// A configured `host:port` with a weight inside an upstream; the host may be a DNS name (A/AAAA or SRV) that
/// resolves to many addresses.
public struct Target: Sendable, Hashable, Identifiable {
    public var id: UUID
    public var upstream: UUID
    /// Hostname, IPv4 address, or IPv6 address without brackets.
    public var host: String
    public var port: Int
    /// 0 disables the target; SRV record weights override it per address.
    public var weight: Int
    public var tags: [String]

    /// Kong's port for a target written without one.
    public static let defaultPort = 8000
    public static let defaultWeight = 100
    public static let maxWeight = 65535

    public init(id: UUID = UUID(), upstream: UUID, host: String, port: Int = Target.defaultPort,
                weight: Int = Target.defaultWeight, tags: [String] = []) {
        self.id = id
        self.upstream = upstream
        self.host = host
        self.port = port
        self.weight = weight
        self.tags = tags
    }

    /// Kong's `target` field: `host:port`, with IPv6 in brackets.
    public var target: String { Target.format(host: host, port: port) }

    public static func format(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Splits `host`, `host:port`, `[v6]` or `[v6]:port` (port defaults to 8000, as in Kong).
    public static func parse(_ text: String) -> Result<(host: String, port: Int), TargetSyntaxError> {
        guard !text.isEmpty else { return .failure(TargetSyntaxError(message: "must not be empty")) }
        switch HostPort.split(text) {
        case let .failure(error):
            return .failure(TargetSyntaxError(message: error.message))
        case let .success((host, port)):
            let port = port ?? defaultPort
            if !Validate.isIPAddress(host) && !Validate.isHostname(host) {
                return .failure(TargetSyntaxError(message: "invalid host \"\(host)\" in target \"\(text)\""))
            }
            return .success((host, port))
        }
    }

    public func validationIssues(path base: String = "") -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if !Validate.isIPAddress(host) && !Validate.isHostname(host) {
            issues.append(.error(.invalid, joinPath(base, "target"), "invalid host \"\(host)\""))
        }
        issues += Validate.port(port, at: joinPath(base, "target"))
        if weight < 0 || weight > Target.maxWeight {
            issues.append(.error(.invalid, joinPath(base, "weight"),
                                 "must be between 0 and \(Target.maxWeight), got \(weight)"))
        }
        issues += Validate.tags(tags, at: joinPath(base, "tags"))
        return issues
    }
}

public struct TargetSyntaxError: Error, Sendable, Hashable {
    public var message: String
}
