import DNSWire

/// The Admin API's secure default: it may listen off loopback only when tokens guard it.
public enum AdminSecurity {
    /// 127.0.0.0/8, ::1, or `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let ip = IPAddress(host) else { return false }
        let bytes = ip.bytes
        if ip.isIPv6 {
            return bytes == [UInt8](repeating: 0, count: 15) + [1]
        }
        return bytes.first == 127
    }

    /// Why the Admin API must not start on `host:port`, or nil when it may.
    public static func refusal(host: String, port: Int, hasTokens: Bool) -> String? {
        guard !isLoopback(host), !hasTokens else { return nil }
        return "admin_listen \(host):\(port) is not a loopback address and no Admin API token exists: "
            + "create one with `switchyard admin-token create NAME` or listen on 127.0.0.1"
    }
}
