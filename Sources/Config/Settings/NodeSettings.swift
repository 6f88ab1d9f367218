import Foundation

/// Settings of one Switchyard node (Kong's kong.conf counterpart), kept apart from entities: where to listen, which
/// DNS servers to ask, how long DNS answers are trusted. Resolved from layers with precedence
/// command line > environment (`SWITCHYARD_*`) > settings file > defaults.
public struct NodeSettings: Sendable, Hashable {
    public enum LogLevel: String, Sendable, Hashable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// Proxy listeners (`proxy_listen`, comma-separated); one with the `ssl` flag terminates TLS with
    /// `sslCert` and `sslCertKey`.
    public var proxyListen: [ListenAddress]
    /// PEM certificate chain file for `ssl` proxy listeners (`ssl_cert`, as in Kong).
    public var sslCert: String?
    /// PEM private key file matching `sslCert` (`ssl_cert_key`).
    public var sslCertKey: String?
    /// Admin API listeners (`admin_listen`); `off` (empty) disables the Admin API. A listener with the `ssl`
    /// flag serves HTTPS with `adminSSLCert` and `adminSSLCertKey`.
    public var adminListen: [ListenAddress]
    /// PEM certificate chain file for `ssl` Admin API listeners (`admin_ssl_cert`).
    public var adminSSLCert: String?
    /// PEM private key file matching `adminSSLCert` (`admin_ssl_cert_key`).
    public var adminSSLCertKey: String?
    /// DNS servers (`dns_servers`); empty means the nameservers of /etc/resolv.conf.
    public var dnsServers: [ListenAddress]
    /// Event loops (`workers`); 0 means one per core.
    public var workers: Int
    /// SQLite database file, or PostgreSQL: a `postgres://` URL or `postgres` with the `pg_*` settings (`database`).
    public var database: String
    /// The `pg_*` and `db_*` settings of a PostgreSQL store.
    public var postgres = PostgresSettings()
    /// Client address blocks (CIDR) allowed to reach the Admin API; empty allows every client.
    public var adminAllow: [String]
    /// Declarative entity file (`declarative_config`); when set the node runs without a database.
    public var declarativeConfig: String?
    public var logLevel: LogLevel

    /// Seconds. Answers with a shorter TTL are kept this long (guards against TTL 0 storms, e.g. Consul).
    public var dnsMinTTL: Double
    /// Seconds. Answers with a longer TTL are re-resolved after this long.
    public var dnsMaxTTL: Double
    /// Seconds a last good answer keeps serving while the DNS server fails (timeouts, SERVFAIL, refused).
    public var dnsStaleTTL: Double
    /// Seconds a name keeps its last good answer after NXDOMAIN or an empty answer before its addresses go.
    public var dnsNotFoundHold: Double
    /// Seconds before retrying a lookup that failed (doubling up to `dnsErrorRetryMax`).
    public var dnsErrorRetry: Double
    /// Seconds: the longest retry delay after consecutive failures.
    public var dnsErrorRetryMax: Double
    /// Seconds: the longest wait before asking again about a name without records.
    public var dnsNotFoundRetryMax: Double
    /// Milliseconds per DNS attempt.
    public var dnsTimeout: Int
    /// Attempts per DNS query before it counts as failed.
    public var dnsTries: Int
    /// Ask every DNS query over TCP (`dns_prefer_tcp`): for servers that cut UDP answers without setting TC,
    /// as Consul does without `enable_truncate`.
    public var dnsPreferTCP: Bool
    /// UDP address to receive DNS NOTIFY on (`dns_notify_listen`); nil (`off`, the default) listens for none.
    /// A NOTIFY for a zone holding watched names re-resolves them at once instead of at TTL expiry.
    public var dnsNotifyListen: ListenAddress?
    /// Address blocks (CIDR) allowed to send NOTIFY (`dns_notify_allow`); default loopback only.
    public var dnsNotifyAllow: [String]
    /// Key file as `tsig-keygen` writes it (`dns_notify_tsig_key`); when set, every NOTIFY must be signed with it.
    public var dnsNotifyTSIGKey: String?
    /// Largest request body in bytes a route accepts unless it sets `max_request_body_size` (0 = no limit).
    public var maxRequestBodySize: Int
    /// Seconds a client has to send a complete request head once it started one (`client_header_timeout`;
    /// 408 and close after it, against slowloris).
    public var clientHeaderTimeout: Double
    /// Longest pause in seconds while a request body arrives (`client_body_timeout`; 408 and close).
    public var clientBodyTimeout: Double
    /// Seconds an idle client keep-alive connection is kept between requests (`client_keepalive_timeout`).
    public var clientKeepaliveTimeout: Double
    /// Bytes allowed for a request's header fields (`client_max_header_size`; 431 above it).
    public var clientMaxHeaderSize: Int
    /// Header fields allowed in a request (`client_max_header_count`; 431 above it).
    public var clientMaxHeaderCount: Int
    /// Bytes allowed for the request target (`client_max_uri_length`; 414 above it).
    public var clientMaxURILength: Int
    /// Idle keep-alive connections kept per upstream address per worker (`upstream_keepalive_pool_size`, as in
    /// Kong; 0 turns upstream keep-alive off).
    public var upstreamKeepalivePoolSize: Int
    /// Seconds an idle upstream connection is kept (`upstream_keepalive_idle_timeout`).
    public var upstreamKeepaliveIdleTimeout: Double
    /// Requests per upstream connection before it is closed (`upstream_keepalive_max_requests`; 0 = no limit).
    public var upstreamKeepaliveMaxRequests: Int
    /// Connections per upstream address per worker, busy and idle (`upstream_max_connections`; 0 = no limit).
    public var upstreamMaxConnections: Int
    /// PEM file of the certificates trusted for https services with `tls_verify: true`
    /// (`upstream_tls_trusted_certificate`, Kong's `lua_ssl_trusted_certificate`); nil trusts the system's roots.
    public var upstreamTLSTrustedCertificate: String?
    /// Where the node answers `switchyard start --takeover` (`control_socket`): a Unix socket path, `auto`
    /// (`$XDG_RUNTIME_DIR` or /tmp, named after the first proxy port: `switchyard-8000.sock`), or `off`.
    public var controlSocket: String
    /// Seconds a stopping or handed-over node lets requests in progress finish before it cuts what is left
    /// (`drain_timeout`).
    public var drainTimeout: Double
    /// File the node writes its DNS answers and health state to every 10 s and when it stops, and starts warm
    /// from when it is no older than `dns_stale_ttl` (`state_file`; nil: off).
    public var stateFile: String?
    /// Where the access log goes (`access_log`): a file path, `stdout`, or nil (`off`, the default).
    public var accessLog: String?
    /// `json` (the default) or `text` (`access_log_format`).
    public var accessLogFormat: String
    /// Request counts and latency histograms for `/metrics` and the dashboard (`request_metrics`, on by default;
    /// off saves their cost per request, about that of the access log's bookkeeping).
    public var requestMetrics: Bool

    public init() {
        proxyListen = [ListenAddress(host: "0.0.0.0", port: 8000)]
        adminListen = [ListenAddress(host: "127.0.0.1", port: 8001)]
        adminSSLCert = nil
        adminSSLCertKey = nil
        sslCert = nil
        sslCertKey = nil
        dnsServers = []
        workers = 0
        database = "switchyard.db"
        declarativeConfig = nil
        adminAllow = []
        logLevel = .info
        dnsMinTTL = 1
        dnsMaxTTL = 300
        dnsStaleTTL = 3600
        dnsNotFoundHold = 30
        dnsErrorRetry = 1
        dnsErrorRetryMax = 30
        dnsNotFoundRetryMax = 30
        dnsTimeout = 1500
        dnsTries = 2
        dnsPreferTCP = false
        dnsNotifyListen = nil
        dnsNotifyAllow = ["127.0.0.0/8", "::1/128"]
        dnsNotifyTSIGKey = nil
        maxRequestBodySize = 0
        clientHeaderTimeout = 10
        clientBodyTimeout = 60
        clientKeepaliveTimeout = 60
        clientMaxHeaderSize = 32 * 1024
        clientMaxHeaderCount = 100
        clientMaxURILength = 8 * 1024
        upstreamKeepalivePoolSize = 64
        upstreamKeepaliveIdleTimeout = 60
        upstreamKeepaliveMaxRequests = 1000
        upstreamMaxConnections = 0
        upstreamTLSTrustedCertificate = nil
        controlSocket = "auto"
        drainTimeout = 30
        stateFile = nil
        accessLog = nil
        accessLogFormat = "json"
        requestMetrics = true
    }

    public static let defaults = NodeSettings()

    /// Every setting name, as written in a settings file; the environment variable is `SWITCHYARD_` + upper case.
    public static let keys: [String] = [
        "proxy_listen", "ssl_cert", "ssl_cert_key", "admin_listen", "admin_ssl_cert", "admin_ssl_cert_key", "admin_allow", "dns_servers", "workers",
        "database", "declarative_config", "log_level",
        "dns_min_ttl", "dns_max_ttl", "dns_stale_ttl", "dns_not_found_hold", "dns_error_retry", "dns_error_retry_max",
        "dns_not_found_retry_max", "dns_timeout",
        "dns_tries", "dns_prefer_tcp", "dns_notify_listen", "dns_notify_allow", "dns_notify_tsig_key", "max_request_body_size",
        "client_header_timeout", "client_body_timeout", "client_keepalive_timeout", "client_max_header_size",
        "client_max_header_count", "client_max_uri_length",
        "upstream_keepalive_pool_size", "upstream_keepalive_idle_timeout", "upstream_keepalive_max_requests",
        "upstream_max_connections", "upstream_tls_trusted_certificate", "control_socket", "drain_timeout",
        "state_file", "access_log", "access_log_format", "request_metrics",
    ] + PostgresSettings.keys

    /// The PostgreSQL server when `database` names one; nil for a SQLite file. Settings that resolved name a
    /// valid one (`resolve` refuses a bad URL).
    public var postgresLocation: PostgresLocation? {
        guard case let .success(location)? = postgres.location(database: database) else { return nil }
        return location
    }

    /// Applies layers from lowest to highest precedence over the defaults; every bad value in every layer is
    /// reported together.
    public static func resolve(_ layers: [SettingsLayer]) throws(ConfigError) -> NodeSettings {
        var settings = NodeSettings()
        var issues: [ConfigIssue] = []
        for layer in layers {
            for key in layer.values.keys.sorted() {
                guard let value = layer.values[key] else { continue }
                let at = layer.label(for: key)
                if let problem = settings.apply(key: key, value: value) {
                    issues.append(.error(.invalid, at, problem))
                }
            }
        }
        if settings.dnsMinTTL > settings.dnsMaxTTL {
            issues.append(.error(.invalid, "dns_min_ttl",
                                 "must not exceed dns_max_ttl (\(fmt(settings.dnsMinTTL)) > \(fmt(settings.dnsMaxTTL)))"))
        }
        if case let .failure(reason)? = settings.postgres.location(database: settings.database) {
            issues.append(.error(.invalid, "database", reason.text))
        }
        issues += settings.adminTLSIssues()
        issues += settings.proxyTLSIssues()
        if !issues.isEmpty { throw ConfigError(code: .invalid, issues: issues) }
        return settings
    }

    /// An `ssl` Admin API listener needs both files; a certificate without its key (or the reverse) is a
    /// half-made change either way.
    func adminTLSIssues() -> [ConfigIssue] {
        NodeSettings.tlsIssues(listen: adminListen, listenKey: "admin_listen", certificate: adminSSLCert,
                               certificateKey: "admin_ssl_cert", key: adminSSLCertKey, keyKey: "admin_ssl_cert_key")
    }

    /// The same rule for `ssl` proxy listeners and `ssl_cert`/`ssl_cert_key`.
    func proxyTLSIssues() -> [ConfigIssue] {
        NodeSettings.tlsIssues(listen: proxyListen, listenKey: "proxy_listen", certificate: sslCert,
                               certificateKey: "ssl_cert", key: sslCertKey, keyKey: "ssl_cert_key")
    }

    private static func tlsIssues(listen: [ListenAddress], listenKey: String, certificate: String?, certificateKey: String,
                                  key: String?, keyKey: String) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if let ssl = listen.first(where: \.ssl) {
            if certificate == nil {
                issues.append(.error(.required, certificateKey,
                                     "required by \(listenKey) \"\(ssl)\": the PEM certificate file to serve"))
            }
            if key == nil {
                issues.append(.error(.required, keyKey,
                                     "required by \(listenKey) \"\(ssl)\": the PEM private key file of \(certificateKey)"))
            }
        } else if (certificate == nil) != (key == nil) {
            let missing = certificate == nil ? certificateKey : keyKey
            let given = certificate == nil ? keyKey : certificateKey
            issues.append(.error(.required, missing, "required with \(given)"))
        }
        return issues
    }

    /// Resolves the settings file's text (optional; read by the caller, as this module does no I/O, and named
    /// `fileName` in issues), environment and command-line layers in their fixed precedence.
    public static func load(fileText: String?, fileName: String = "settings", environment: [String: String],
                            commandLine: SettingsLayer = SettingsLayer(source: "command line")) throws(ConfigError) -> NodeSettings {
        var layers: [SettingsLayer] = []
        var issues: [ConfigIssue] = []
        if let fileText {
            do {
                layers.append(try SettingsLayer.file(yaml: fileText, source: fileName))
            } catch {
                issues += error.issues
            }
        }
        layers.append(SettingsLayer.environment(environment))
        layers.append(commandLine)
        do throws(ConfigError) {
            let settings = try resolve(layers)
            if !issues.isEmpty { throw ConfigError(code: .invalid, issues: issues) }
            return settings
        } catch {
            throw ConfigError(code: .invalid, issues: issues + error.issues)
        }
    }

    /// Sets one setting from its text form; returns a message when the key or value is invalid.
    mutating func apply(key: String, value: String) -> String? {
        func listen(_ text: String, flags: Set<ListenAddress.Flag>) -> Result<[ListenAddress], ListenAddressError> {
            var out: [ListenAddress] = []
            for part in text.split(separator: ",") {
                switch ListenAddress.parse(String(part), anyPort: true, flags: flags) {
                case let .success(address): out.append(address)
                case let .failure(error): return .failure(error)
                }
            }
            return out.isEmpty ? .failure(ListenAddressError(message: "must list at least one HOST:PORT")) : .success(out)
        }
        func seconds(_ text: String, _ set: (Double) -> Void) -> String? {
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, v >= 0 else {
                return "expected a number of seconds (0 or more), got \"\(text)\""
            }
            set(v)
            return nil
        }
        func integer(_ text: String, _ range: ClosedRange<Int>, _ set: (Int) -> Void) -> String? {
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
                return "expected an integer between \(range.lowerBound) and \(range.upperBound), got \"\(text)\""
            }
            set(v)
            return nil
        }
        func timeout(_ text: String, _ set: (Double) -> Void) -> String? {
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0, v <= 86_400 else {
                return "expected a number of seconds above 0 and at most 86400, got \"\(text)\""
            }
            set(v)
            return nil
        }
        switch key {
        case "admin_listen" where value.trimmingCharacters(in: .whitespaces) == "off":
            adminListen = []
        case "proxy_listen", "admin_listen":
            switch listen(value, flags: [.ssl]) {
            case let .success(list): if key == "proxy_listen" { proxyListen = list } else { adminListen = list }
            case let .failure(error): return error.message
            }
        case "dns_servers":
            var servers: [ListenAddress] = []
            for part in value.split(separator: ",") {
                switch ListenAddress.parse(String(part), defaultPort: 53) {
                case let .success(address):
                    guard Validate.isIPAddress(address.host) else {
                        return "\"\(part)\": a DNS server must be an IP address"
                    }
                    servers.append(address)
                case let .failure(error): return error.message
                }
            }
            dnsServers = servers
        case "admin_allow":
            let blocks = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for block in blocks where !Validate.isCIDR(block) {
                return "\"\(block)\": expected an address block such as 10.0.0.0/8 or ::1/128"
            }
            adminAllow = blocks
        case "ssl_cert", "ssl_cert_key":
            let path = value.trimmingCharacters(in: .whitespaces)
            if key == "ssl_cert" {
                sslCert = path.isEmpty ? nil : path
            } else {
                sslCertKey = path.isEmpty ? nil : path
            }
        case "admin_ssl_cert", "admin_ssl_cert_key":
            let path = value.trimmingCharacters(in: .whitespaces)
            if key == "admin_ssl_cert" {
                adminSSLCert = path.isEmpty ? nil : path
            } else {
                adminSSLCertKey = path.isEmpty ? nil : path
            }
        case "workers": return integer(value, 0...1024) { workers = $0 }
        case "database":
            if value.isEmpty { return "must not be empty" }
            database = value
        case "declarative_config": declarativeConfig = value.isEmpty ? nil : value
        case "log_level":
            guard let level = LogLevel(rawValue: value.lowercased()) else {
                return "expected one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(value)\""
            }
            logLevel = level
        case "dns_min_ttl": return seconds(value) { dnsMinTTL = $0 }
        case "dns_max_ttl": return seconds(value) { dnsMaxTTL = $0 }
        case "dns_stale_ttl": return seconds(value) { dnsStaleTTL = $0 }
        case "dns_not_found_hold": return seconds(value) { dnsNotFoundHold = $0 }
        case "dns_error_retry": return seconds(value) { dnsErrorRetry = $0 }
        case "dns_error_retry_max": return seconds(value) { dnsErrorRetryMax = $0 }
        case "dns_not_found_retry_max": return seconds(value) { dnsNotFoundRetryMax = $0 }
        case "dns_timeout": return integer(value, 1...60_000) { dnsTimeout = $0 }
        case "dns_tries": return integer(value, 1...20) { dnsTries = $0 }
        case "dns_prefer_tcp":
            switch value.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "on", "yes", "1": dnsPreferTCP = true
            case "false", "off", "no", "0": dnsPreferTCP = false
            default: return "expected true or false, got \"\(value)\""
            }
        case "dns_notify_listen":
            let text = value.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text == "off" {
                dnsNotifyListen = nil
                return nil
            }
            switch ListenAddress.parse(text, anyPort: true) {
            case let .success(address):
                guard Validate.isIPAddress(address.host) else {
                    return "\"\(text)\": the NOTIFY listener needs an IP address (127.0.0.1:5353, [::1]:5353), or off"
                }
                dnsNotifyListen = address
            case let .failure(error): return error.message
            }
        case "dns_notify_allow":
            let blocks = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for block in blocks where !Validate.isCIDR(block) {
                return "\"\(block)\": expected an address block such as 10.0.0.0/8 or ::1/128"
            }
            dnsNotifyAllow = blocks
        case "dns_notify_tsig_key":
            let path = value.trimmingCharacters(in: .whitespaces)
            dnsNotifyTSIGKey = path.isEmpty ? nil : path
        case "max_request_body_size": return integer(value, 0...Int.max) { maxRequestBodySize = $0 }
        case "client_header_timeout": return timeout(value) { clientHeaderTimeout = $0 }
        case "client_body_timeout": return timeout(value) { clientBodyTimeout = $0 }
        case "client_keepalive_timeout": return timeout(value) { clientKeepaliveTimeout = $0 }
        case "client_max_header_size": return integer(value, 1024...1_048_576) { clientMaxHeaderSize = $0 }
        case "client_max_header_count": return integer(value, 1...10_000) { clientMaxHeaderCount = $0 }
        case "client_max_uri_length": return integer(value, 256...1_048_576) { clientMaxURILength = $0 }
        case "upstream_keepalive_pool_size": return integer(value, 0...100_000) { upstreamKeepalivePoolSize = $0 }
        case "upstream_keepalive_idle_timeout": return timeout(value) { upstreamKeepaliveIdleTimeout = $0 }
        case "upstream_keepalive_max_requests": return integer(value, 0...Int.max) { upstreamKeepaliveMaxRequests = $0 }
        case "upstream_max_connections": return integer(value, 0...1_000_000) { upstreamMaxConnections = $0 }
        case "upstream_tls_trusted_certificate":
            let path = value.trimmingCharacters(in: .whitespaces)
            upstreamTLSTrustedCertificate = path.isEmpty || path == "system" ? nil : path
        case "control_socket":
            let path = value.trimmingCharacters(in: .whitespaces)
            if path.isEmpty { return "expected a socket path, auto or off" }
            if path != "auto" && path != "off" && path.utf8.count > 107 {
                return "\"\(path)\": a Unix socket path has at most 107 bytes"
            }
            controlSocket = path
        case "drain_timeout": return timeout(value) { drainTimeout = $0 }
        case "access_log":
            let path = value.trimmingCharacters(in: .whitespaces)
            accessLog = path.isEmpty || path == "off" ? nil : path
        case "access_log_format":
            let format = value.trimmingCharacters(in: .whitespaces).lowercased()
            guard format == "json" || format == "text" else { return "expected json or text, got \"\(value)\"" }
            accessLogFormat = format
        case "request_metrics":
            switch value.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "on", "yes", "1": requestMetrics = true
            case "false", "off", "no", "0": requestMetrics = false
            default: return "expected on or off, got \"\(value)\""
            }
        case "state_file":
            let path = value.trimmingCharacters(in: .whitespaces)
            stateFile = path.isEmpty || path == "off" ? nil : path
        default:
            switch postgres.apply(key: key, value: value) {
            case .success?: return nil
            case let .failure(reason)?: return reason.text
            case nil: return "unknown setting (known: \(NodeSettings.keys.joined(separator: ", ")))"
            }
        }
        return nil
    }
}
